"""Survey core: definitions, versions, conditional logic, public pages, partial responses, idempotent
resubmits, closed surveys, REST, and the answers reaching the metrics (store -> warehouse -> ws.nps())."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

import momenti
from auth_helpers import AuthedClient
from momenti.core.config import get_settings
from momenti.core.errors import InputError
from momenti.domains.surveys import sessions as ss
from momenti.domains.surveys.definition import TEMPLATES, load_survey, template, template_text
from momenti.domains.surveys.service import apply_survey, close_survey, list_surveys, show_survey
from momenti.domains.tokens import create_token
from momenti.server.app import create_app
from momenti.store.models import Answer, Question, Response, SurveySession


def _t(it: str, en: str) -> dict[str, str]:
    return {"it": it, "en": en}


def survey_doc(**changes: Any) -> dict[str, Any]:
    """Three pages: NPS; a follow-up per NPS group; a page shown only to detractors, then a comment."""
    doc: dict[str, Any] = {
        "key": "branch-nps", "title": _t("Filiale", "Branch"), "thanks": _t("Grazie", "Thank you"),
        "touchpoints": ["branch-visit"], "hidden": ["order_id", "agent"],
        "pages": [
            {"questions": [
                {"key": "nps", "type": "nps", "required": True, "text": _t("Consiglierebbe?", "Recommend?")},
                {"key": "csat", "type": "csat", "text": _t("Soddisfatto?", "Satisfied?")}]},
            {"questions": [
                {"key": "why_low", "type": "single", "show_if": {"question": "nps", "in": ["0..6"]},
                 "text": _t("Perché?", "Why?"),
                 "options": [{"key": "wait", "text": _t("Attesa", "Waiting")},
                             {"key": "staff", "text": _t("Personale", "Staff")}]},
                {"key": "liked", "type": "multiple", "show_if": {"question": "nps", "in": [9, 10]},
                 "text": _t("Cosa le piace?", "What do you like?"),
                 "options": [{"key": "people", "text": _t("Persone", "People")},
                             {"key": "speed", "text": _t("Velocità", "Speed")},
                             {"key": "app", "text": _t("App", "App")}]},
                {"key": "effort", "type": "ces", "text": _t("Facile?", "Easy?")}]},
            {"show_if": {"question": "nps", "in": ["0..6"]},
             "questions": [{"key": "fix", "type": "text", "required": True,
                            "text": _t("Cosa dobbiamo correggere?", "What should we fix?")}]},
            {"questions": [{"key": "comment", "type": "text", "text": _t("Altro?", "Anything else?")}]},
        ],
    }
    doc.update(changes)
    return doc


# -- definitions -------------------------------------------------------------------------------------------


def test_templates_are_valid_and_bilingual() -> None:
    for name in TEMPLATES:
        d = template(name)
        assert d.key == name
        for q in d.questions():
            assert q.text.it and q.text.en and q.text.it != q.text.en or q.type == "price_switch"
    keys = {q.key: q for q in template("loyalty-battery").questions()}
    assert {"loy_preferred_brand", "loy_buy_on_offer", "loy_cheaper_to_save", "price_switch"} <= set(keys)
    assert [o.key for o in keys["price_switch"].options or []] == ["5", "10", "15", "25", "50", "never"]
    with pytest.raises(InputError, match="unknown survey template"):
        template_text("nope")


def test_missing_translation_is_named() -> None:
    doc = survey_doc()
    del doc["pages"][1]["questions"][0]["options"][1]["text"]["en"]
    doc["thanks"] = {"it": "Grazie"}
    with pytest.raises(InputError) as err:
        load_survey(doc)
    msg = str(err.value)
    assert "thanks: missing English (en) translation" in msg
    assert "pages[1].questions[0].options[1].text: missing English (en) translation" in msg


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["pages"][0]["questions"][1].update(show_if={"question": "nps", "in": [1]}), "not on an earlier page"),
    (lambda d: d["pages"][3]["questions"][0].update(key="nps", type="nps"), "used twice"),
    (lambda d: d["pages"][3]["questions"][0].update(key="csat_extra", type="rating", min=1, max=20), "at most 11"),
    (lambda d: d["pages"][0]["questions"][1].update(type="rating"), "its type must be csat"),
    (lambda d: d["pages"][1]["questions"][0].update(options=[{"key": "a", "text": _t("a", "a")}]), "two options"),
    (lambda d: d.update(hidden=["order_id", "touchpoint"]), "reserved"),
    (lambda d: d.update(key="Bad Key"), "page address"),
])
def test_invalid_definitions(change: Any, message: str) -> None:
    doc = survey_doc()
    change(doc)
    with pytest.raises(InputError, match=message):
        load_survey(doc)


def test_yaml_file_and_unknown_touchpoint(workspace: momenti.Workspace, tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(template_text("after-call"), encoding="utf-8")
    assert load_survey(path).key == "after-call"
    with pytest.raises(InputError, match="unknown touchpoint nowhere"):
        apply_survey(workspace, survey_doc(touchpoints=["nowhere"]))


def test_question_kind_conflict(workspace: momenti.Workspace) -> None:
    workspace.import_records("responses", [{"response_id": "r1", "customer_id": "c1", "touchpoint": "branch-visit",
                                            "submitted_at": "2025-01-01T10:00:00", "effort": "very hard"}])
    with pytest.raises(InputError, match="'effort' already holds text answers"):
        apply_survey(workspace, survey_doc())


# -- versions ----------------------------------------------------------------------------------------------


def test_versioning(workspace: momenti.Workspace) -> None:
    first = apply_survey(workspace, survey_doc())
    assert (first.version, first.created, first.changed, first.status) == (1, True, True, "live")
    again = apply_survey(workspace, survey_doc())
    assert (again.version, again.created, again.changed) == (1, False, False)
    doc = survey_doc()
    doc["pages"][3]["questions"][0]["text"] = _t("Altro da dirci?", "Anything else to tell us?")
    second = apply_survey(workspace, doc)
    assert (second.version, second.changed) == (2, True)
    shown = show_survey(workspace, "branch-nps")
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    assert show_survey(workspace, "branch-nps", 1)["definition"]["pages"][3]["questions"][0]["text"]["en"] == \
        "Anything else?"
    with workspace.session() as s:
        kinds = dict(s.execute(select(Question.key, Question.kind)).all())
    assert kinds["nps"] == "nps" and kinds["effort"] == "ces" and kinds["why_low"] == "choice"
    assert kinds["fix"] == "text" and kinds["order_id"] == "choice" and kinds["survey_version"] == "choice"
    listed = list_surveys(workspace)
    assert listed[["key", "status", "version", "questions"]].values.tolist() == [["branch-nps", "live", 2, 7]]


# -- the public pages ----------------------------------------------------------------------------------------


@pytest.fixture
def client(workspace: momenti.Workspace) -> Iterator[TestClient]:
    apply_survey(workspace, survey_doc())
    settings = get_settings(data_dir=workspace.settings.data_dir, rate_ip_burst=100_000,
                            rate_ip_per_minute=1e7, rate_link_burst=1000, sync_debounce_s=0.05)
    app = create_app(settings)
    with AuthedClient(app) as c:
        yield c


def _sid(html: str) -> str:
    return re.search(r'name="sid" value="([^"]+)"', html)[1]  # type: ignore[index]


def _post(c: TestClient, sid: str, page: int, lang: str = "it", action: str = "next", **answers: Any) -> Any:
    data = {"sid": sid, "p": str(page), "lang": lang, "action": action, "website": "", **answers}
    return c.post("/s/branch-nps", data=data, follow_redirects=True)


def _stored(ws: momenti.Workspace) -> list[dict[str, Any]]:
    """Every response with its answers, from the store."""
    with ws.session() as s:
        rows = s.execute(select(Response.external_id, Response.partial, Response.language, Response.customer_key,
                                Question.key, Answer.value_num, Answer.value_text)
                         .join(Answer, Answer.response_id == Response.id)
                         .join(Question, Question.id == Answer.question_id)).all()
    out: dict[str, dict[str, Any]] = {}
    for ext, partial, lang, cust, key, num, txt in rows:
        r = out.setdefault(ext, {"partial": bool(partial), "language": lang, "customer": cust})
        r[key] = num if num is not None else txt
    return list(out.values())


def _flush(c: TestClient) -> None:
    assert c.app.state.syncer.flush()  # type: ignore[attr-defined]


def test_detractor_path_in_italian(client: TestClient, workspace: momenti.Workspace) -> None:
    r = client.get("/s/branch-nps?order_id=A-17&agent=rossi", headers={"Accept-Language": "it-IT,it;q=0.9"})
    assert r.status_code == 200 and '<html lang="it">' in r.text and "Pagina 1 di 3" in r.text
    assert len(r.content) < 30_000 and "<link" not in r.text and "<script" not in r.text
    assert "focus-visible" in r.text and r.text.count("<fieldset") == r.text.count("<legend>") == 2
    sid = _sid(r.text)
    page2 = _post(client, sid, 0, order_id="A-17", agent="rossi", nps="4", csat="2")
    assert "Perché?" in page2.text and "Cosa le piace?" not in page2.text  # the detractor's follow-up
    assert "Pagina 2 di 4" in page2.text  # the detractors' extra page now counts
    page3 = _post(client, sid, 1, why_low="wait", effort="3")
    assert "Cosa dobbiamo correggere?" in page3.text
    missing = _post(client, sid, 2)  # required and empty: the same page again, with the error
    assert missing.status_code == 422 and "Risponda a questa domanda" in missing.text
    assert 'aria-invalid="true"' in missing.text
    _post(client, sid, 2, fix="le code allo sportello")
    done = _post(client, sid, 3, comment="")
    assert done.status_code == 200 and "Grazie" in done.text
    [resp] = _stored(workspace)
    assert resp == {"partial": False, "language": "it", "customer": None, "nps": 4.0, "csat": 2.0,
                    "why_low": "wait", "effort": 3.0, "fix": "le code allo sportello", "order_id": "A-17",
                    "agent": "rossi", "survey": "branch-nps", "survey_version": "1"}
    _flush(client)
    nps = workspace.nps(by="touchpoint")
    assert nps.set_index("touchpoint").loc["branch-visit", "detractors"] == 1
    assert int(workspace.ces(question="effort")["n"].sum()) == 1  # a CES question under its own key


def test_promoter_path_in_english_and_back_button(client: TestClient, workspace: momenti.Workspace) -> None:
    r = client.get("/s/branch-nps?lang=en")
    assert '<html lang="en">' in r.text and "Page 1 of" in r.text
    sid = _sid(r.text)
    page2 = _post(client, sid, 0, lang="en", nps="3")
    assert "Why?" in page2.text
    _post(client, sid, 1, lang="en", why_low="staff")
    # Back to page 1 (the answers of the page left are kept), change the score to a promoter's.
    back = _post(client, sid, 2, lang="en", action="back")
    assert "Why?" in back.text and 'value="staff" checked' in back.text
    back = _post(client, sid, 1, lang="en", action="back")
    assert 'value="3" checked' in back.text
    page2 = _post(client, sid, 0, lang="en", nps="10")
    assert "What do you like?" in page2.text and "Why?" not in page2.text
    last = _post(client, sid, 1, lang="en", liked=["people", "app"])
    assert "Page 3 of 3" in last.text and "What should we fix?" not in last.text
    _post(client, sid, 3, lang="en", comment="great")
    [resp] = _stored(workspace)
    # The detractor follow-up answered before the score changed is not written: its condition no longer holds.
    assert "why_low" not in resp and resp["liked"] == "people;app" and resp["nps"] == 10.0
    assert resp["language"] == "en"


def test_double_submit_and_reload_never_duplicate(client: TestClient, workspace: momenti.Workspace) -> None:
    sid = _sid(client.get("/s/branch-nps").text)
    _post(client, sid, 0, nps="9")
    again = _post(client, sid, 0, nps="9")  # the first page posted twice (double click, or back + resend)
    assert "Cosa le piace?" in again.text
    _post(client, sid, 1, liked="speed")
    for _ in range(3):  # the final page posted three times
        done = _post(client, sid, 3, comment="ok")
        assert "Grazie" in done.text
    assert client.get(f"/s/branch-nps?sid={sid}").text.count("Grazie") >= 1  # reload of the thanks page
    assert len(_stored(workspace)) == 1
    with workspace.session() as s:
        assert s.scalar(select(func.count()).select_from(Response)) == 1
        assert s.scalar(select(SurveySession.status).where(SurveySession.token == sid)) == "complete"


def test_invalid_values_are_refused(client: TestClient, workspace: momenti.Workspace) -> None:
    sid = _sid(client.get("/s/branch-nps").text)
    for bad in ("11", "abc", "7.5"):
        r = _post(client, sid, 0, nps=bad)
        assert r.status_code == 422 and "Scelga una delle risposte proposte" in r.text
    r = _post(client, sid, 5, nps="9")  # a page the session never reached: shown where it is
    assert r.status_code == 200 and "Pagina 1 di" in r.text
    abuse = pytest.importorskip("momenti.domains.surveys.abuse")
    r = _post(client, sid, 0, nps="9", **{abuse.HONEYPOT: "http://spam.example"})  # a bot filled the honeypot
    assert r.status_code == 200 and "Grazie" in r.text  # told it worked ...
    assert _stored(workspace) == [] and ss.load_session(workspace, sid) is None  # ... and nothing kept


def test_partial_responses_are_swept_and_counted(client: TestClient, workspace: momenti.Workspace) -> None:
    sid = _sid(client.get("/s/branch-nps").text)
    _post(client, sid, 0, nps="8", csat="4")  # page 1 answered, then the respondent leaves
    other = _sid(client.get("/s/branch-nps").text)
    _post(client, other, 0, nps="10")  # still answering (recent)
    idle = _sid(client.get("/s/branch-nps").text)  # opened, never answered: no session stored
    assert ss.sweep(workspace, idle_minutes=60) == {"partial": 0, "empty": 0}
    later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=90)
    with workspace.session() as s, s.begin():  # the second respondent was active 30 minutes ago
        s.get(SurveySession, s.scalar(select(SurveySession.id).where(SurveySession.token == other))).updated_at = \
            later - dt.timedelta(minutes=30)
    assert ss.sweep(workspace, idle_minutes=60, now=later) == {"partial": 1, "empty": 0}
    assert ss.sweep(workspace, idle_minutes=60, now=later) == {"partial": 0, "empty": 0}  # nothing twice
    [resp] = _stored(workspace)
    assert resp["partial"] is True and resp["nps"] == 8.0 and resp["csat"] == 4.0
    client.app.state.syncer.touch()  # type: ignore[attr-defined]
    _flush(client)
    assert workspace.nps()["n"].tolist() == [1] and workspace.nps()["passives"].tolist() == [1]
    with workspace.warehouse() as wh:
        assert wh.table("responses").partial.to_pyarrow().to_pylist() == [True]
    # The respondent comes back: the answers are recorded, the session is over; a late submit changes nothing.
    back = client.get(f"/s/branch-nps?sid={sid}")
    assert "Risposte già registrate" in back.text
    _post(client, sid, 1, effort="7")
    assert len(_stored(workspace)) == 1
    assert idle  # an unanswered first page leaves nothing behind


def test_closed_and_unknown_surveys(client: TestClient, workspace: momenti.Workspace) -> None:
    sid = _sid(client.get("/s/branch-nps").text)
    close_survey(workspace, "branch-nps")
    r = client.get("/s/branch-nps", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert r.status_code == 410 and "Survey closed" in r.text and '<html lang="en">' in r.text
    r = client.get("/s/branch-nps?lang=it")
    assert r.status_code == 410 and "Questionario chiuso" in r.text
    r = _post(client, sid, 0, nps="9")
    assert r.status_code == 410 and _stored(workspace) == []
    assert client.get("/s/nothing-here?lang=en").status_code == 404
    apply_survey(workspace, survey_doc(status="live",
                                       closes_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC).isoformat()))
    assert client.get("/s/branch-nps").status_code == 410  # expired: past closes_at


def test_signed_links_carry_customer_and_hidden_fields(client: TestClient, workspace: momenti.Workspace) -> None:
    links = pytest.importorskip("momenti.domains.surveys.links")
    apply_survey(workspace, survey_doc(allow_anonymous=False))
    assert client.get("/s/branch-nps").status_code == 403  # no link, anonymous not allowed
    secret = links.secret_key(workspace.settings)
    claims = links.LinkClaims(survey="branch-nps", customer_id="C042", touchpoint="branch-visit",
                              hidden={"agent": "bianchi", "order_id": "O-9"}, lang="en")
    token = links.sign(claims, secret)
    r = client.get(f"/s/branch-nps?t={token}")
    assert r.status_code == 200 and '<html lang="en">' in r.text
    sid = _sid(r.text)
    assert sid == ss.link_session_token("branch-nps", claims.nonce)
    r = client.post("/s/branch-nps", data={"sid": "forged-but-well-formed-123", "p": "0", "t": token, "nps": "9"},
                    follow_redirects=True)
    assert "What do you like?" in r.text  # the link's own session, whatever sid was posted
    _post(client, sid, 1, lang="en")
    _post(client, sid, 3, lang="en")
    [resp] = _stored(workspace)
    assert resp["customer"] == "C042" and resp["agent"] == "bianchi" and resp["order_id"] == "O-9"
    again = client.get(f"/s/branch-nps?t={token}")  # single use: opening it again shows the thanks page
    assert "Thank you" in again.text and "Recommend?" not in again.text
    assert client.get(f"/s/branch-nps?t={token[:-2]}xx").status_code == 400  # tampered


# -- metrics, CLI, REST ------------------------------------------------------------------------------------


def test_answers_in_metrics_cli(client: TestClient, workspace: momenti.Workspace,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    for score in (10, 9, 3):
        sid = _sid(client.get("/s/branch-nps").text)
        _post(client, sid, 0, nps=str(score), csat="5")
        _post(client, sid, 1, effort="6", why_low="wait")
        if score < 7:
            _post(client, sid, 2, fix="x")
        _post(client, sid, 3)
    _flush(client)
    from momenti.cli.main import app

    monkeypatch.setenv("MOMENTI_DATA_DIR", str(workspace.settings.data_dir))
    out = CliRunner().invoke(app, ["metrics", "nps", "--by", "touchpoint", "--format", "json"])
    assert out.exit_code == 0, out.output
    [row] = json.loads(out.output)["rows"]
    assert (row["touchpoint"], row["n"], row["promoters"], row["detractors"]) == ("branch-visit", 3, 2, 1)
    assert row["nps"] == pytest.approx(100 * (2 - 1) / 3, abs=0.05)
    out = CliRunner().invoke(app, ["survey", "list", "--format", "json"])
    assert json.loads(out.output)["rows"][0]["key"] == "branch-nps"
    out = CliRunner().invoke(app, ["survey", "show", "branch-nps"])
    assert out.exit_code == 0 and "why_low" in out.output and "nps in ['0..6']" in out.output


def test_cli_apply_template_close(workspace: momenti.Workspace, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from momenti.cli.main import app

    monkeypatch.setenv("MOMENTI_DATA_DIR", str(workspace.settings.data_dir))
    runner = CliRunner()
    text = runner.invoke(app, ["survey", "template", "loyalty-battery"]).output
    path = tmp_path / "loyalty.yaml"
    path.write_text(text, encoding="utf-8")
    assert "created survey loyalty-battery version 1" in runner.invoke(app, ["survey", "apply", str(path)]).output
    assert "unchanged" in runner.invoke(app, ["survey", "apply", str(path)]).output
    path.write_text(text.replace("Lei e la sua banca", "Lei e la banca"), encoding="utf-8")
    assert "new version loyalty-battery version 2" in runner.invoke(app, ["survey", "apply", str(path)]).output
    assert "closed: loyalty-battery" in runner.invoke(app, ["survey", "close", "loyalty-battery"]).output
    bad = runner.invoke(app, ["survey", "apply", str(tmp_path / "missing.yaml")])
    assert isinstance(bad.exception, InputError) and "missing.yaml: no such file" in str(bad.exception)


def test_rest(client: TestClient, workspace: momenti.Workspace) -> None:
    with workspace.session() as s, s.begin():
        _, secret = create_token(s, "surveys", "admin")
        _, reader = create_token(s, "reader", "read")
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/surveys").json()[0]["key"] == "branch-nps"
    assert client.post("/api/v1/surveys", json=template("after-call").canonical(),
                       headers={"Authorization": ""}).status_code == 401
    assert client.post("/api/v1/surveys", json=template("after-call").canonical(),
                       headers={"Authorization": f"Bearer {reader}"}).status_code == 403  # read scope: no editing
    r = client.post("/api/v1/surveys", json=template("after-call").canonical(), headers=auth)
    assert r.status_code == 201 and r.json()["version"] == 1
    r = client.post("/api/v1/surveys", json={"yaml": template_text("after-call")}, headers=auth)
    assert r.status_code == 200 and r.json()["changed"] is False
    bad = template("after-call").canonical()
    del bad["title"]["it"]
    r = client.post("/api/v1/surveys", json=bad, headers=auth)
    assert r.status_code == 400 and "title: missing Italian (it) translation" in r.json()["detail"]
    doc = client.get("/api/v1/surveys/after-call").json()
    assert doc["current_version"] == 1 and doc["definition"]["touchpoints"] == ["contact-centre-call"]
    assert client.get("/api/v1/surveys/none").status_code == 404


def test_builder_pages(client: TestClient, workspace: momenti.Workspace) -> None:
    with workspace.session() as s, s.begin():
        _, secret = create_token(s, "builder", "read")
    r = client.get("/surveys?lang=en")
    assert r.status_code == 200 and 'id="survey-branch-nps"' in r.text
    r = client.get("/surveys/new?template=complaint-recovery&lang=en")
    assert "key: complaint-recovery" in r.text
    text = template_text("complaint-recovery")
    # editing needs survey.edit: a read token is refused, an admin one (the client's own) applies
    r = client.post("/surveys", data={"yaml": text, "lang": "en"}, headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 403
    r = client.post("/surveys", data={"yaml": text.replace("en: \"Your complaint\"", "fr: \"x\""),
                                      "lang": "en"})
    assert r.status_code == 400 and "missing English (en) translation" in r.text
    r = client.post("/surveys", data={"yaml": text, "lang": "en"}, follow_redirects=True)
    assert r.status_code == 200 and "Applied: complaint-recovery, version 1." in r.text
    r = client.get("/surveys/complaint-recovery/edit?lang=en")
    assert r.status_code == 200 and "complaint_resolved" in r.text
    edited = r.text.split('name="yaml"', 1)[1].split(">", 1)[1].split("</textarea>")[0]
    import html

    r = client.post("/surveys", data={"yaml": html.unescape(edited), "lang": "en"},
                    follow_redirects=True)
    assert "Unchanged: complaint-recovery stays at version 1." in r.text  # the edit page round-trips


# -- the store write path on both databases -------------------------------------------------------------------


def test_sessions_on_sqlite_and_postgres(ws_any: momenti.Workspace) -> None:
    apply_survey(ws_any, survey_doc())
    now = dt.datetime(2026, 3, 1, 12, 0)
    done = ss.SessionState(ss.new_token(), "branch-nps", 1, "C1", "branch-visit", {"agent": "a1"}, "it",
                           {"nps": 9, "liked": ["speed"], "comment": "ok"}, 3, [0, 1], "open", exists=False)
    done = ss.save_session(ws_any, done, now=now)
    assert ss.finish(ws_any, done, "complete", now=now) is True
    assert ss.finish(ws_any, done, "complete", now=now) is False  # once only
    left = ss.SessionState(ss.new_token(), "branch-nps", 1, None, "branch-visit", {}, "en", {"nps": 2}, 1, [0],
                           "open", exists=False)
    ss.save_session(ws_any, left, now=now)
    assert ss.sweep(ws_any, 60, now=now + dt.timedelta(hours=2)) == {"partial": 1, "empty": 0}
    ws_any.sync()
    df = ws_any.nps()
    assert (int(df["n"][0]), int(df["promoters"][0]), int(df["detractors"][0])) == (2, 1, 1)
    with ws_any.warehouse() as wh:
        parts = wh.table("responses").select("external_id", "partial").to_pandas()
    assert sorted(parts["partial"].tolist()) == [False, True]
    assert set(parts["external_id"]) == {ss.external_id("branch-nps", done.token),
                                         ss.external_id("branch-nps", left.token)}


def test_pick_language_one_rule_for_every_page() -> None:
    """Survey pages, the widget, links and the dashboard choose the language the same way."""
    from momenti.domains.surveys.texts import pick_language

    assert pick_language(None, " EN-gb", accept_language="it") == "en"  # the first candidate naming it/en
    assert pick_language("fr", accept_language="it;q=0.3, en;q=0.9") == "en"  # then Accept-Language by q-value
    assert pick_language(accept_language="de, fr") == "it" and pick_language() == "it"
