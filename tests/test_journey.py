"""Journey documents: templates, applying and re-applying (update in place), archiving what data refers to,
and clear errors for documents that are wrong."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

import momenti
from momenti.cli.main import app
from momenti.core.errors import InputError
from momenti.domains.journey_map.apply import TEMPLATES, parse_document, template_text
from momenti.store.models import Journey, Response, Stage, Touchpoint


def bank() -> dict:
    return yaml.safe_load(template_text("bank"))


def find_tp(doc: dict, key: str) -> dict:
    return next(t for j in doc["journeys"] for s in j["stages"] for t in s["touchpoints"] if t["key"] == key)


def find_stage(doc: dict, key: str) -> dict:
    return next(s for j in doc["journeys"] for s in j["stages"] if s["key"] == key)


def doc_touchpoints(doc: dict) -> list[str]:
    return [t["key"] for j in doc["journeys"] for s in j["stages"] for t in s["touchpoints"]]


def store_state(ws: momenti.Workspace) -> dict[str, dict]:
    """touchpoint key -> what the store has about it."""
    with ws.session() as s:
        rows = s.execute(select(Touchpoint, Stage, Journey).join(Stage, Touchpoint.stage_id == Stage.id)
                         .join(Journey, Stage.journey_id == Journey.id)).all()
        return {t.key: {"id": t.id, "stage_id": st.id, "stage": st.key, "stage_position": st.position,
                        "journey": j.key, "name_en": t.name_en, "name_it": t.name_it, "channel": t.channel,
                        "position": t.position, "target_metric": t.target_metric, "target_score": t.target_score,
                        "archived": t.archived} for t, st, j in rows}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_bank_template_applies_completely(ws_any: momenti.Workspace) -> None:
    """ws_any has the bank template applied: every journey, stage and touchpoint of the file is in the store."""
    doc = bank()
    state = store_state(ws_any)
    assert set(state) == set(doc_touchpoints(doc))
    for j in doc["journeys"]:
        for spos, s in enumerate(j["stages"]):
            for tpos, t in enumerate(s["touchpoints"]):
                got = state[t["key"]]
                assert (got["journey"], got["stage"], got["stage_position"], got["position"]) == (
                    j["key"], s["key"], spos, tpos)
                assert (got["channel"], got["target_metric"], got["target_score"]) == (
                    t["channel"], t.get("target_metric"), t.get("target_score"))
                assert got["archived"] is False
    again = ws_any.apply_journey(doc)
    assert (again.created, again.updated, again.deleted, again.archived) == ([], [], [], [])
    assert len(again.unchanged) == 1 + sum(len(j["stages"]) for j in doc["journeys"]) + len(state)


def test_reapplying_an_edited_document_updates_in_place(ws_any: momenti.Workspace) -> None:
    before = store_state(ws_any)
    doc = bank()
    find_tp(doc, "branch-visit")["name"] = {"it": "Visita in filiale (nuova)", "en": "Branch visit (new)"}
    find_tp(doc, "app-login")["target_score"] = 42
    find_tp(doc, "app-login")["target_metric"] = "nps"
    stages = doc["journeys"][0]["stages"]
    stages[0], stages[1] = stages[1], stages[0]  # evaluate before discover
    # app-login moves to another stage, at its front.
    use, service = find_stage(doc, "use"), find_stage(doc, "service")
    use["touchpoints"].remove(find_tp(doc, "app-login"))
    service["touchpoints"].insert(0, find_tp(bank(), "app-login") | {"target_metric": "nps", "target_score": 42})

    summary = ws_any.apply_journey(doc)
    after = store_state(ws_any)
    assert {k: v["id"] for k, v in after.items()} == {k: v["id"] for k, v in before.items()}  # same ids
    assert after["branch-visit"]["name_en"] == "Branch visit (new)"
    assert after["branch-visit"]["name_it"] == "Visita in filiale (nuova)"
    assert (after["app-login"]["target_metric"], after["app-login"]["target_score"]) == ("nps", 42)
    assert (after["app-login"]["stage"], after["app-login"]["position"]) == ("service", 0)
    assert after["app-login"]["stage_id"] == before["contact-centre-call"]["stage_id"]
    assert after["contact-centre-call"]["position"] == 1  # pushed one down
    assert after["offer-comparison"]["stage_position"] == 0 and after["website-visit"]["stage_position"] == 1
    assert after["offer-comparison"]["stage_id"] == before["offer-comparison"]["stage_id"]
    assert summary.created == [] and summary.deleted == [] and summary.archived == []
    assert {"touchpoint branch-visit", "touchpoint app-login", "stage discover", "stage evaluate"} <= set(
        summary.updated)
    # The warehouse's dimension follows (apply syncs it).
    with ws_any.warehouse() as wh:
        tps = wh.table("touchpoints").to_pandas().set_index("touchpoint")
    assert tps.loc["branch-visit", "touchpoint_name_en"] == "Branch visit (new)"
    assert tps.loc["app-login", "stage"] == "service"


def _import_references(ws: momenti.Workspace, tmp_path: Path) -> None:
    responses = write(tmp_path / "r.csv", "response_id,customer_id,touchpoint,submitted_at,nps\n"
                                          "r1,c1,card-delivery,2025-01-05,10\nr2,c2,card-delivery,2025-01-06,3\n")
    events = write(tmp_path / "e.csv", "customer_id,timestamp,activity,touchpoint\n"
                                       "c1,2025-01-05,call,retention-call\n")
    feedback = write(tmp_path / "f.csv", "source,text,touchpoint\nemail,Thanks for the refund,refund-request\n")
    assert ws.import_file("responses", responses).added == 2
    assert ws.import_file("events", events).added == 1
    assert ws.import_file("feedback", feedback).added == 1


def test_removed_touchpoints_deleted_when_unreferenced_archived_when_data_refers(ws_any: momenti.Workspace,
                                                                                 tmp_path: Path) -> None:
    _import_references(ws_any, tmp_path)
    before = store_state(ws_any)
    doc = bank()
    gone = {"card-delivery", "retention-call", "refund-request", "social-media", "mortgage-application"}
    for s in doc["journeys"][0]["stages"]:
        s["touchpoints"] = [t for t in s["touchpoints"] if t["key"] not in gone]
    summary = ws_any.apply_journey(doc)

    assert sorted(summary.deleted) == ["touchpoint mortgage-application", "touchpoint social-media"]
    assert sorted(a.split(" ")[1] for a in summary.archived) == ["card-delivery", "refund-request",
                                                                 "retention-call"]
    assert all("archived, not deleted" in a for a in summary.archived)
    after = store_state(ws_any)
    assert "social-media" not in after and "mortgage-application" not in after
    for key in ("card-delivery", "retention-call", "refund-request"):
        assert after[key]["archived"] is True and after[key]["id"] == before[key]["id"]
    with ws_any.session() as s:
        assert s.scalar(select(Response.touchpoint_id).where(Response.external_id == "r1")) == \
            before["card-delivery"]["id"]
    # Archived: off the map, but the data is still answered for.
    shown = doc_touchpoints(ws_any.journey_document())
    assert "card-delivery" not in shown and "retention-call" not in shown
    by_tp = ws_any.nps(by=["touchpoint"]).set_index("touchpoint")
    assert by_tp.loc["card-delivery", "n"] == 2
    # Applying the same document again archives nothing new; importing to an archived touchpoint still works.
    again = ws_any.apply_journey(doc)
    assert (again.archived, again.deleted) == ([], [])

    # Putting an archived touchpoint back brings the same row back to life.
    restored = ws_any.apply_journey(bank())
    assert "touchpoint card-delivery" in restored.updated
    assert {"touchpoint social-media", "touchpoint mortgage-application"} <= set(restored.created)
    final = store_state(ws_any)
    assert final["card-delivery"]["archived"] is False and final["card-delivery"]["id"] == before["card-delivery"]["id"]


def test_removed_stages_and_journeys_go_too(ws_any: momenti.Workspace, tmp_path: Path) -> None:
    _import_references(ws_any, tmp_path)  # card-delivery (stage onboard) is referenced by responses
    doc = bank()
    stages = doc["journeys"][0]["stages"]
    doc["journeys"][0]["stages"] = [s for s in stages if s["key"] not in ("discover", "onboard")]
    summary = ws_any.apply_journey(doc)
    assert "stage discover" in summary.deleted
    assert "stage onboard" not in summary.deleted  # it still holds an archived touchpoint
    shown = ws_any.journey_document()
    assert [s["key"] for s in shown["journeys"][0]["stages"]] == [s["key"] for s in doc["journeys"][0]["stages"]]

    # Another document altogether: the bank journey's empty parts go, what data refers to stays archived.
    telco = yaml.safe_load(template_text("telco"))
    summary = ws_any.apply_journey(telco)
    shown = ws_any.journey_document()
    assert [j["key"] for j in shown["journeys"]] == [j["key"] for j in telco["journeys"]]
    assert set(doc_touchpoints(shown)) == set(doc_touchpoints(telco))
    with ws_any.session() as s:
        kept = {t.key for t in s.scalars(select(Touchpoint).where(Touchpoint.archived))}
    assert kept == {"card-delivery", "retention-call", "refund-request"}
    assert "journey retail-banking" not in summary.deleted  # its stages still hold archived touchpoints


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_applies_to_an_empty_store(tmp_path: Path, name: str) -> None:
    doc = yaml.safe_load(template_text(name))
    with momenti.open(tmp_path / "data") as ws:
        summary = ws.apply_journey(doc)
        keys = doc_touchpoints(doc)
        assert len(keys) == len(set(keys)) > 5
        assert {c.split(" ", 1)[1] for c in summary.created if c.startswith("touchpoint ")} == set(keys)
        assert set(store_state(ws)) == set(keys)
        assert doc_touchpoints(ws.journey_document()) == keys  # same order as the file


# --- errors ----------------------------------------------------------------------------------------------


MINIMAL = """
journeys:
  - key: j
    name: J
    stages:
      - key: s
        name: S
        touchpoints:
          - key: t1
            name: T1
            channel: web
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("journeys: [\n  - key: j\n", r"not valid YAML"),
        ("- just\n- a list\n", r"Input should be a valid dictionary"),
        (MINIMAL.replace("channel: web", "channel: carrier-pigeon"), r"touchpoints\.0\.channel: Input should be"),
        (MINIMAL.replace("key: t1", "key: T 1"), r"touchpoints\.0\.key: String should match pattern"),
        (MINIMAL.replace("channel: web", "channel: web\n            target_metric: nps\n            target_score: 140"),
         r"target_score 140\.0 outside -100\.\.100 for nps"),
        (MINIMAL.replace("channel: web", "channel: web\n            colour: red"),
         r"touchpoints\.0\.colour: Extra inputs are not permitted"),
        (MINIMAL.replace("        name: S\n", ""), r"journeys\.0\.stages\.0\.name: Field required"),
        # Keys repeated: in the same stage, across journeys, stage keys in a journey, journey keys.
        (MINIMAL + "          - key: t1\n            name: Again\n            channel: app\n",
         r"touchpoint keys repeated: t1"),
        (MINIMAL + "  - key: j2\n    name: J2\n    stages:\n      - key: s\n        name: S\n        touchpoints:\n"
                   "          - key: t1\n            name: T\n            channel: app\n",
         r"touchpoint keys repeated: t1"),
        (MINIMAL + "      - key: s\n        name: S again\n", r"stages: Value error, stage keys repeated: s"),
        (MINIMAL + "  - key: j\n    name: J again\n    stages: []\n", r"journey keys repeated: j"),
        # A key written twice in one mapping: plain YAML would keep the last one without a word.
        (MINIMAL.replace("channel: web", "channel: web\n            channel: app"),
         r"key 'channel' repeated in the same mapping"),
    ],
)
def test_bad_documents_are_input_errors_naming_the_field(workspace: momenti.Workspace, tmp_path: Path, text: str,
                                                         expected: str) -> None:
    before = store_state(workspace)
    path = write(tmp_path / "journey.yaml", text)
    with pytest.raises(InputError, match=expected) as err:
        workspace.apply_journey(path)
    assert str(err.value).startswith(str(path))
    assert store_state(workspace) == before  # nothing applied


def test_missing_journey_file_and_unknown_template(workspace: momenti.Workspace, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        workspace.apply_journey(tmp_path / "nope.yaml")
    with pytest.raises(InputError, match="unknown template 'bakery'"):
        template_text("bakery")


# --- the CLI: template, apply, show ----------------------------------------------------------------------


def test_cli_template_apply_show_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    out = runner.invoke(app, ["journey", "template", "bank"])
    assert out.exit_code == 0, out.output
    assert out.stdout == template_text("bank")
    path = write(tmp_path / "bank.yaml", out.stdout)

    applied = runner.invoke(app, ["journey", "apply", str(path)])
    assert applied.exit_code == 0, applied.output
    n_tp = len(doc_touchpoints(bank()))
    assert f"{n_tp + 1 + 7} created, 0 updated, 0 unchanged, 0 archived, 0 deleted" in applied.stdout

    shown = runner.invoke(app, ["journey", "show"])
    assert shown.exit_code == 0, shown.output
    # What `show` prints is a journey document equal to the template (company and sector are labels only).
    original = parse_document(template_text("bank")).model_dump(exclude={"company", "sector"})
    assert parse_document(shown.stdout).model_dump(exclude={"company", "sector"}) == original

    # ... and applying it changes nothing.
    reapplied = runner.invoke(app, ["journey", "apply", str(write(tmp_path / "shown.yaml", shown.stdout))])
    assert reapplied.exit_code == 0, reapplied.output
    assert f"0 created, 0 updated, {n_tp + 1 + 7} unchanged, 0 archived, 0 deleted" in reapplied.stdout

    as_json = runner.invoke(app, ["journey", "show", "--format", "json"])
    assert yaml.safe_load(as_json.stdout) == yaml.safe_load(shown.stdout)


def test_cli_apply_reports_archived_and_deleted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOMENTI_DATA_DIR", str(tmp_path / "data"))
    with momenti.open(tmp_path / "data") as ws:
        ws.apply_journey(bank())
        _import_references(ws, tmp_path)
    doc = bank()
    for s in doc["journeys"][0]["stages"]:
        s["touchpoints"] = [t for t in s["touchpoints"] if t["key"] not in ("card-delivery", "social-media")]
    edited = copy.deepcopy(doc)
    find_tp(edited, "branch-visit")["owner_team"] = "Filiali Nord-Est"
    path = write(tmp_path / "edited.yaml", yaml.safe_dump(edited, allow_unicode=True))
    result = CliRunner().invoke(app, ["journey", "apply", str(path)])
    assert result.exit_code == 0, result.output
    assert "updated touchpoint branch-visit" in result.stdout
    assert "archived touchpoint card-delivery (referenced by data: archived, not deleted)" in result.stdout
    assert "deleted touchpoint social-media" in result.stdout
    assert "0 created, 1 updated" in result.stdout and "1 archived, 1 deleted" in result.stdout
