"""The rate limits live in the store (store/rate.py): every server process of a deployment draws from the same
buckets. Two workspaces, two apps or another process over one store consume one bucket; a bucket refills with
time (the clock is passed in: nothing sleeps); a refused request consumes nothing; full buckets are forgotten.
On SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import momenti
from auth_helpers import add_user, sign_in
from conftest import ROOT, make_workspace
from momenti.core.config import get_settings
from momenti.domains.surveys import abuse
from momenti.server.app import create_app
from momenti.store.rate import RateBucket

T0 = 1_900_000_000.0  # epoch seconds: the injected clock
LIMITS = {"rate_ip_per_minute": 60.0, "rate_ip_burst": 3, "rate_link_per_minute": 30.0, "rate_link_burst": 2,
          "login_rate_per_minute": 4}


@pytest.fixture(params=["sqlite", "postgres"])
def two(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[momenti.Workspace, momenti.Workspace]]:
    """Two workspaces (as two server processes would open) over one store."""
    first = make_workspace(tmp_path, request.param, request, **LIMITS)
    target = first.store_url if request.param == "postgres" else tmp_path / "data"
    second = momenti.open(target, data_dir=tmp_path / "data", **LIMITS)
    yield first, second
    second.close()
    first.close()


def _keys(ws: momenti.Workspace) -> dict[str, float]:
    with ws.session() as s:
        return {r.key: r.tokens for r in s.execute(select(RateBucket.key, RateBucket.tokens))}


def test_two_limiters_consume_one_bucket(two: tuple[momenti.Workspace, momenti.Workspace]) -> None:
    a, b = (abuse.Limiter(ws.engine, ws.settings) for ws in two)
    # burst 3 at 1 token a second: three requests from the two processes together, not three each
    assert [lim.ip.allow("1.2.3.4", now=T0)[0] for lim in (a, b, a, b)] == [True, True, True, False]
    ok, wait = a.ip.allow("1.2.3.4", now=T0 + 0.25)
    assert not ok and wait == pytest.approx(0.75)
    assert b.ip.allow("5.6.7.8", now=T0)[0]  # a bucket per key
    # refused requests consume nothing: after one second there is exactly one token, whoever asked in between
    for _ in range(5):
        assert not b.ip.allow("1.2.3.4", now=T0 + 0.5)[0]
    assert a.ip.allow("1.2.3.4", now=T0 + 1.0) == (True, 0.0)
    assert not b.ip.allow("1.2.3.4", now=T0 + 1.0)[0]
    tokens = _keys(two[0])["ip:1.2.3.4"]
    assert 0.0 <= tokens < 1.0  # never negative
    # refill is capped at burst: a long pause gives back three tokens, not more
    assert [lim.ip.allow("1.2.3.4", now=T0 + 3600)[0] for lim in (b, a, b, a)] == [True, True, True, False]
    # a clock behind the stored one (another host) refills nothing and does not move the bucket back
    assert not a.ip.allow("1.2.3.4", now=T0 + 3000)[0]
    assert a.ip.allow("1.2.3.4", now=T0 + 3601)[0]


def test_link_buckets_are_shared_and_keyed_by_a_hash(two: tuple[momenti.Workspace, momenti.Workspace]) -> None:
    first, second = two
    token = "secret-bearer-link-token-123"

    def request(ws: momenti.Workspace, ip: str) -> SimpleNamespace:
        state = SimpleNamespace(workspace=ws)
        return SimpleNamespace(app=SimpleNamespace(state=state), client=SimpleNamespace(host=ip))

    # burst 2 per link: from two addresses through two workspaces, the link's third use is refused
    abuse.check_rate(request(first, "10.0.0.1"), token)  # type: ignore[arg-type]
    abuse.check_rate(request(second, "10.0.0.2"), token)  # type: ignore[arg-type]
    with pytest.raises(abuse.RateLimited) as refused:
        abuse.check_rate(request(second, "10.0.0.3"), token)  # type: ignore[arg-type]
    assert refused.value.status_code == 429 and int(refused.value.headers["Retry-After"]) >= 1
    keys = _keys(first)
    assert not any(token in k for k in keys)  # no bearer link in the table
    assert f"link:{hashlib.sha256(token.encode()).hexdigest()[:32]}" in keys
    assert {"ip:10.0.0.1", "ip:10.0.0.2", "ip:10.0.0.3"} <= set(keys)


def test_cleanup_forgets_only_full_buckets(two: tuple[momenti.Workspace, momenti.Workspace]) -> None:
    first, second = two
    a = abuse.Limiter(first.engine, first.settings)
    a.ip.allow("old", now=T0)  # full again after burst / rate = 3 s
    a.ip.allow("recent", now=T0 + 10)
    a.link.allow("l1", now=T0)  # 2 tokens at 0.5 a second: full after 4 s
    abuse.login_bucket(first.engine, first.settings).allow("9.9.9.9", now=T0)  # 4 at 4/min: full after 60 s
    assert abuse.cleanup(second, now=T0 + 11) == 2  # ip:old and link:l1; ip:recent and the login stay
    assert set(_keys(first)) == {"ip:recent", "login:9.9.9.9"}
    assert abuse.cleanup(second, now=T0 + 61) == 2 and _keys(first) == {}
    assert "rate_bucket_cleanup" in first_runner_tasks(first)


def first_runner_tasks(ws: momenti.Workspace) -> set[str]:
    from huey import MemoryHuey

    from momenti.pipelines.jobs import JobRunner

    return set(JobRunner(ws, huey=MemoryHuey("rate-test")).tasks)


CHILD = textwrap.dedent("""
    import sys
    import momenti
    from momenti.domains.surveys import abuse
    ws = momenti.open(sys.argv[1], data_dir=sys.argv[2], rate_ip_per_minute=60.0, rate_ip_burst=3)
    lim = abuse.Limiter(ws.engine, ws.settings)
    print(" ".join("1" if lim.ip.allow("7.7.7.7", now=float(sys.argv[3]))[0] else "0" for _ in range(2)))
    ws.close()
""")


def test_another_process_draws_from_the_same_bucket(two: tuple[momenti.Workspace, momenti.Workspace],
                                                    tmp_path: Path) -> None:
    first, _ = two
    lim = abuse.Limiter(first.engine, first.settings)
    assert lim.ip.allow("7.7.7.7", now=T0)[0] and lim.ip.allow("7.7.7.7", now=T0)[0]
    target = first.store_url if first.engine.dialect.name == "postgresql" else str(tmp_path / "data")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", CHILD, target, str(tmp_path / "data"), str(T0)], env=env,
                         capture_output=True, text=True, timeout=120, check=True).stdout.split()
    assert out == ["1", "0"]  # the one token left, then refused: the child saw this process's two
    assert not lim.ip.allow("7.7.7.7", now=T0)[0]
    assert lim.ip.allow("7.7.7.7", now=T0 + 1)[0]


def test_login_rate_limit_across_two_apps(tmp_path: Path) -> None:
    settings = {"data_dir": tmp_path / "data", "login_rate_per_minute": 3}
    one, other = create_app(get_settings(**settings)), create_app(get_settings(**settings))
    add_user(one.state.workspace, "shared@example.com", "viewer")
    with TestClient(one, follow_redirects=False) as c1, TestClient(other, follow_redirects=False) as c2:
        codes = [sign_in(c, "shared@example.com", "wrong-password-000").status_code for c in (c1, c2, c1, c2, c1)]
    assert codes == [401, 401, 401, 429, 429]  # three attempts per address in all, not three per process


def test_account_lockout_across_two_apps(tmp_path: Path) -> None:
    settings = {"data_dir": tmp_path / "data", "login_rate_per_minute": 100, "login_max_failures": 3}
    one, other = create_app(get_settings(**settings)), create_app(get_settings(**settings))
    add_user(one.state.workspace, "lock2@example.com", "viewer")
    with TestClient(one, follow_redirects=False) as c1, TestClient(other, follow_redirects=False) as c2:
        for c in (c1, c2, c1):
            assert sign_in(c, "lock2@example.com", "not-the-password-x").status_code == 401
        # locked by failures seen by both processes: the right password is refused by either
        assert sign_in(c2, "lock2@example.com").status_code == 401
        assert sign_in(c1, "lock2@example.com").status_code == 401
