"""Sign-in, roles and token scopes: who may open what (a matrix), CSRF, lockout, logout, timeouts, passwords.

The expected matrix below is written out by hand from the web-app issue's role list, not derived from
domains/access/permissions.py, so a change of the permission table that breaks a role's promise fails here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from auth_helpers import add_user, csrf_of, make_token, sign_in
from conftest import demo_workspace
from momenti.cli import main as cli_main
from momenti.core.config import get_settings
from momenti.core.errors import InputError
from momenti.domains.access.passwords import check_password
from momenti.server.app import create_app
from momenti.server.route_permissions import ROUTE_PERMISSIONS, walk_routes
from momenti.store.access import AuditEntry, LoginSession

ROLES = ["admin", "cx_manager", "analyst", "team_lead", "agent", "viewer"]
# route -> the roles that may open it (the issue: viewer = aggregates only; agent = cases and timelines only;
# analyst = analyses, exports, masked comments; users and survey editing for admin / cx_manager)
MATRIX: dict[str, set[str]] = {
    "/trends": {"admin", "cx_manager", "analyst", "team_lead", "viewer"},
    "/moments?format=json": {"admin", "cx_manager", "analyst", "team_lead", "viewer"},
    "/api/v1/metrics/nps": {"admin", "cx_manager", "analyst", "team_lead", "viewer"},
    "/api/v1/text/comments": {"admin", "cx_manager", "analyst", "team_lead"},
    "/api/v1/paths/instances?limit=3": {"admin", "cx_manager", "analyst", "team_lead", "agent"},
    "/api/v1/analysis/loyalty/segments": {"admin", "cx_manager", "analyst", "team_lead", "agent"},
    "/surveys": {"admin", "cx_manager"},
    "/admin/users": {"admin"},
    "/api/v1/health": set(ROLES),
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("perm")) / "data"
    with demo_workspace(path, seed=42) as ws:
        for role in ROLES:
            add_user(ws, f"{role}@example.com", role, team="Contact center" if role in ("agent", "team_lead") else None)
    return path


@pytest.fixture(scope="module")
def app(data_dir: Path) -> Iterator[Any]:
    # Many sign-ins from one test address: the per-IP limit is tested on its own below.
    application = create_app(get_settings(data_dir=data_dir, login_rate_per_minute=100_000))
    with TestClient(application):
        yield application


def _client(app: Any) -> TestClient:
    return TestClient(app, follow_redirects=False)


def _signed_in(app: Any, role: str) -> TestClient:
    c = _client(app)
    r = sign_in(c, f"{role}@example.com")
    assert r.status_code == 303, r.text
    return c


def test_every_route_declares_a_permission(app: Any) -> None:
    routes = set(walk_routes(app.routes))
    assert routes <= set(ROUTE_PERMISSIONS), "create_app would have refused to start"
    stale = set(ROUTE_PERMISSIONS) - routes
    assert not stale, f"entries for routes that do not exist: {sorted(stale)}"


def test_nothing_but_the_public_routes_answers_without_sign_in(app: Any) -> None:
    anon = _client(app)
    public = {p for (m, p), perm in ROUTE_PERMISSIONS.items() if perm == "public"}
    for method, path in walk_routes(app.routes):
        if method != "GET" or path in public:
            continue
        url = re.sub(r"\{[^}]+\}", "x", path)
        r = anon.get(url)
        if path.startswith("/api/") or path == "/metrics":  # /metrics: a scraper, not a browser
            assert r.status_code == 401, (url, r.status_code)
            assert r.headers["www-authenticate"] == "Bearer"
        else:
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), (url, r.status_code)
    assert anon.get("/api/v1/health").status_code == 200
    assert anon.get("/login").status_code == 200
    assert anon.get("/static/momenti.css").status_code == 200
    assert anon.get("/openapi.json").status_code == 401 or anon.get("/openapi.json").status_code == 303


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(app: Any, role: str) -> None:
    c = _signed_in(app, role)
    for url, allowed in MATRIX.items():
        r = c.get(url)
        if role in allowed:
            assert r.status_code == 200, (role, url, r.status_code, r.text[:200])
        else:
            assert r.status_code == 403, (role, url, r.status_code)
            if url.startswith("/api/") or "format=json" in url:
                assert "detail" in r.json()
            else:
                assert "<html" in r.text.lower()  # a page, not JSON, for a browser


@pytest.mark.parametrize("role", ROLES)
def test_pages_link_only_to_what_the_role_may_open(app: Any, role: str) -> None:
    c = _signed_in(app, role)
    home = c.get("/?lang=en")
    if role == "agent":  # no analyses for agents: even the overview is refused
        assert home.status_code == 403
        return
    nav = re.search(r'<nav aria-label="Pages">(.*?)</nav>', home.text, re.S)
    assert nav, home.text[:300]
    for href in re.findall(r'href="([^"?]+)', nav.group(1)):
        assert c.get(href).status_code == 200, (role, href)


def test_query_kinds_with_comments_need_the_comments_permission(app: Any) -> None:
    viewer = _signed_in(app, "viewer")
    tok = make_token(app.state.workspace, "read")
    body = {"kind": "comments", "limit": 3}
    assert viewer.post("/api/v1/query", json=body, headers={"X-CSRF-Token": _csrf(viewer)}).status_code == 403
    ok = _client(app).post("/api/v1/query", json=body, headers={"Authorization": f"Bearer {tok}"})
    assert ok.status_code == 200, ok.text
    nps = viewer.post("/api/v1/query", json={"kind": "nps"}, headers={"X-CSRF-Token": _csrf(viewer)})
    assert nps.status_code == 200


def _csrf(c: TestClient) -> str:
    return csrf_of(c.get("/trends").text)


def test_token_scopes(app: Any) -> None:
    ws = app.state.workspace
    read, ingest, admin = (make_token(ws, s) for s in ("read", "ingest", "admin"))
    c = _client(app)
    row = {"response_id": "perm-1", "customer_id": "C1", "touchpoint": "app-login",
           "submitted_at": "2026-01-05T10:00:00Z", "answers": {"nps": 9}}

    def auth(t: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {t}"}

    assert c.get("/api/v1/metrics/nps", headers=auth(read)).status_code == 200
    assert c.post("/api/v1/responses", json=row, headers=auth(read)).status_code == 403
    assert c.get("/api/v1/metrics/nps", headers=auth(ingest)).status_code == 403
    assert c.post("/api/v1/responses", json=row, headers=auth(ingest)).status_code == 201
    assert c.get("/api/v1/text/comments", headers=auth(admin)).status_code == 200
    # a session is never a write credential for the ingest API (its limits and idempotency are per token)
    s = _signed_in(app, "admin")
    assert s.post("/api/v1/responses", json=row, headers={"X-CSRF-Token": _csrf(s)}).status_code == 403


def test_csrf_refuses_cross_site_and_missing_tokens(app: Any) -> None:
    c = _signed_in(app, "analyst")
    token = _csrf(c)
    cross = c.post("/logout", data={"csrf_token": token}, headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403
    fetch_meta = c.post("/logout", data={"csrf_token": token}, headers={"Sec-Fetch-Site": "cross-site"})
    assert fetch_meta.status_code == 403
    missing = c.post("/logout", data={}, headers={"Origin": "http://testserver"})
    assert missing.status_code == 403
    wrong = c.post("/logout", data={"csrf_token": "x" + token}, headers={"Origin": "http://testserver"})
    assert wrong.status_code == 403
    assert c.get("/trends").status_code == 200  # none of them ended the session
    # the login form refuses a POST without its double-submit token
    fresh = _client(app)
    fresh.get("/login")
    r = fresh.post("/login", data={"email": "analyst@example.com", "password": "Tramonto-Verde-Pino-2026"})
    assert r.status_code == 403 and fresh.get("/trends").status_code == 303


def test_logout_ends_the_session_at_once(app: Any) -> None:
    c = _signed_in(app, "cx_manager")
    old = dict(c.cookies)
    r = c.post("/logout", data={"csrf_token": _csrf(c)}, headers={"Origin": "http://testserver"})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    again = _client(app)
    again.cookies.update(old)
    assert again.get("/trends").status_code == 303


def test_session_cookie_flags(app: Any) -> None:
    c = _client(app)
    r = sign_in(c, "viewer@example.com")
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("momenti_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # http here; over https the cookie is Secure


def test_next_is_never_an_open_redirect(app: Any) -> None:
    c = _client(app)
    page = c.get("/login?next=//evil.example/x")
    assert 'name="next" value="/"' in page.text
    r = c.post("/login", data={"email": "viewer@example.com", "password": "Tramonto-Verde-Pino-2026",
                               "csrf_token": csrf_of(page.text), "next": "https://evil.example/"},
               headers={"Origin": "http://testserver"})
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_lockout_after_repeated_failures_is_logged(tmp_path: Path) -> None:
    settings = get_settings(data_dir=tmp_path / "data", login_max_failures=3, login_rate_per_minute=100)
    application = create_app(settings)
    ws = application.state.workspace
    add_user(ws, "lock@example.com", "analyst")
    with TestClient(application, follow_redirects=False) as c:
        for _ in range(3):
            assert sign_in(c, "lock@example.com", "not-the-password-x").status_code == 401
        refused = sign_in(c, "lock@example.com")  # the right password, but locked
        assert refused.status_code == 401 and c.get("/trends").status_code == 303
        # read while the app is open: its workspace closes with it (a store connection opened after that would
        # stay in this process, and the ADBC bulk path of later tests refuses to meet it)
        with ws.session() as s:
            actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.target == "lock@example.com")
                                     .order_by(AuditEntry.id)))
    assert actions[-2:] == ["login.locked", "login.failed"] and actions.count("login.failed") == 3


def test_login_rate_limit_per_ip(tmp_path: Path) -> None:
    application = create_app(get_settings(data_dir=tmp_path / "data", login_rate_per_minute=3))
    add_user(application.state.workspace, "rate@example.com", "viewer")
    with TestClient(application, follow_redirects=False) as c:
        codes = [sign_in(c, "rate@example.com", "wrong-password-000").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_disabling_a_user_and_timeouts_end_sessions(app: Any) -> None:
    ws = app.state.workspace
    add_user(ws, "temp@example.com", "analyst")
    c = _client(app)
    assert sign_in(c, "temp@example.com").status_code == 303 and c.get("/trends").status_code == 200
    runner = CliRunner()
    env = {"MOMENTI_DATA_DIR": str(ws.settings.data_dir)}
    assert runner.invoke(cli_main.app, ["user", "disable", "temp@example.com"], env=env).exit_code == 0
    assert c.get("/trends").status_code == 303
    assert sign_in(_client(app), "temp@example.com").status_code == 401
    assert runner.invoke(cli_main.app, ["user", "enable", "temp@example.com"], env=env).exit_code == 0
    # idle timeout: a session unused for longer than MOMENTI_SESSION_IDLE_MINUTES ends
    c2 = _client(app)
    assert sign_in(c2, "temp@example.com").status_code == 303
    old = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=ws.settings.session_idle_minutes + 1)
    with ws.engine.begin() as conn:
        conn.execute(update(LoginSession).where(LoginSession.ended_at.is_(None)).values(last_seen_at=old))
    assert c2.get("/trends").status_code == 303


@pytest.mark.parametrize("password", ["short-pw-1", "password1234", "Password2026!", "aaaaaaaaaaaaaa",
                                      "qwertyuiop123"])
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(InputError):
        check_password(password)
    check_password("Gabbiano-Blu-Molo-2026")


def test_cli_user_create_reads_stdin_never_echoes_and_link_sets_a_password(app: Any) -> None:
    ws = app.state.workspace
    env = {"MOMENTI_DATA_DIR": str(ws.settings.data_dir)}
    runner = CliRunner()
    r = runner.invoke(cli_main.app, ["user", "create", "cli@example.com", "--role", "analyst", "--password-stdin"],
                      input="Faro-Nuvola-Rossa-2026\n", env=env)
    assert r.exit_code == 0, r.output
    assert "Faro-Nuvola-Rossa-2026" not in r.output
    assert sign_in(_client(app), "cli@example.com", "Faro-Nuvola-Rossa-2026").status_code == 303
    weak = runner.invoke(cli_main.app, ["user", "create", "weak@example.com", "--role", "viewer",
                                        "--password-stdin"], input="password\n", env=env)
    assert isinstance(weak.exception, InputError) and "12 characters" in str(weak.exception)
    bad_role = runner.invoke(cli_main.app, ["user", "create", "x@example.com", "--role", "boss"], env=env)
    assert isinstance(bad_role.exception, InputError) and "choose one of" in str(bad_role.exception)
    linked = runner.invoke(cli_main.app, ["user", "create", "link@example.com", "--role", "viewer"], env=env)
    assert linked.exit_code == 0
    link = re.search(r"/password\?token=(\S+)", linked.stdout)
    assert link, linked.output
    c = _client(app)
    page = c.get(f"/password?token={link.group(1)}")
    assert page.status_code == 200 and "link@example.com" in page.text
    done = c.post("/password", data={"token": link.group(1), "password": "Molo-Gabbiano-Blu-2026",
                                     "again": "Molo-Gabbiano-Blu-2026", "csrf_token": csrf_of(page.text)},
                  headers={"Origin": "http://testserver"})
    assert done.status_code == 303, done.text
    assert sign_in(_client(app), "link@example.com", "Molo-Gabbiano-Blu-2026").status_code == 303
    reuse = _client(app).get(f"/password?token={link.group(1)}")
    assert reuse.status_code == 400  # one-time
    with ws.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "user.create")) >= 3


def test_admin_page_creates_and_disables_users(app: Any) -> None:
    c = _signed_in(app, "admin")
    page = c.get("/admin/users")
    token = csrf_of(page.text)
    made = c.post("/admin/users", data={"email": "web@example.com", "role": "agent", "team": "Filiali",
                                        "csrf_token": token}, headers={"Origin": "http://testserver"})
    assert made.status_code == 201 and "/password?token=" in made.text
    user_id = re.search(r'action="/admin/users/(\d+)"[^>]*>(?:(?!</form>).)*?web@example.com', made.text, re.S)
    ws = app.state.workspace
    from momenti.domains.access.users import find_user

    with ws.session() as s:
        uid = find_user(s, "web@example.com").id
    r = c.post(f"/admin/users/{uid}", data={"action": "disable", "csrf_token": token},
               headers={"Origin": "http://testserver"})
    assert r.status_code == 303
    with ws.session() as s:
        assert find_user(s, "web@example.com").disabled_at is not None
    assert user_id is None or user_id.group(1)  # the listing carries a form per user
    viewer = _signed_in(app, "viewer")
    assert viewer.post("/admin/users", data={"email": "v2@example.com", "role": "admin",
                                             "csrf_token": _csrf(viewer)},
                       headers={"Origin": "http://testserver"}).status_code == 403


def test_viewer_never_sees_small_groups(app: Any) -> None:
    viewer, analyst = _signed_in(app, "viewer"), _signed_in(app, "analyst")
    v = viewer.get("/contact?format=json").json()
    a = analyst.get("/contact?format=json").json()
    assert v["withheld_small_groups"] and not a["withheld_small_groups"]
    min_n = v["min_n"]
    seen_small = 0
    for pv, pa in zip(v["panels"], a["panels"], strict=True):
        for rv, ra in zip(pv["rows"], pa["rows"], strict=True):
            if ra.get("small_sample") or (isinstance(ra.get("n"), int) and ra["n"] < min_n):
                seen_small += 1
                assert rv.get("withheld") and all(rv[k] is None for k in ra
                                                  if isinstance(ra[k], float) and k != "n")
    assert seen_small > 0, "the small demo has small groups by reason: the test would prove nothing"
    assert "comments" in viewer.get("/voice?format=json").json()["hidden_panels"]
