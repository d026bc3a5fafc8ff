"""The text pipeline: incremental analysis into the store, the warehouse replica, topic questions (topics,
comments, trends), CLI and REST, and the demo's planted text truths (docs/demo-truths.md sections 2 and 3)."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

import momenti
from auth_helpers import AuthedClient
from momenti.core.config import get_settings
from momenti.core.errors import InputError
from momenti.demo import generate
from momenti.store.models import TextResult

PII = ("mario.rossi@example.com", "347 1234567", "IT60X0542811101000000123456", "4111 1111 1111 1111")
PII_TEXT = ("La carta è bloccata da tre giorni. Scrivetemi a mario.rossi@example.com o al 347 1234567, "
            "IBAN IT60X0542811101000000123456, carta 4111 1111 1111 1111.")
CARD_TEXT = "La carta è bloccata da tre giorni e nessuno mi aiuta."
PLAIN_TEXT = "Tutto ok, grazie."


def _feedback(n: int, text: str, day: str, start: int = 0, touchpoint: str = "card-block") -> list[dict]:
    return [{"feedback_id": f"F{day}-{start + i}", "source": "review", "text": text, "created_at": f"{day}T10:00:00Z",
             "touchpoint": touchpoint, "customer_id": f"C{start + i}", "language": "it"} for i in range(n)]


def _store_count(ws: momenti.Workspace, **where: object) -> int:
    with ws.session() as s:
        q = select(func.count()).select_from(TextResult)
        for k, v in where.items():
            q = q.where(getattr(TextResult, k) == v)
        return int(s.scalar(q) or 0)


# --- the demo: planted truths ----------------------------------------------------------------------------------


def test_every_comment_and_feedback_item_is_analysed_once(demo_ws: momenti.Workspace) -> None:
    data = generate(size="small", seed=42)
    comments = data.responses["comment"].to_pandas()
    n_comments = int((comments.notna() & (comments.str.strip() != "")).sum())
    assert _store_count(demo_ws, kind="answer") == n_comments  # price_switch ("5", "never") is no free text
    assert _store_count(demo_ws, kind="feedback") == data.feedback.num_rows
    counts = demo_ws.warehouse_counts()
    assert counts["text_results"] == n_comments + data.feedback.num_rows
    assert demo_ws.text_analyze()["total"] == 0  # nothing new: nothing analysed
    assert demo_ws.warehouse_counts()["text_topics"] == counts["text_topics"]


def test_app_topic_emerges_in_the_release_window(demo_ws: momenti.Workspace) -> None:
    """Truth 2: in March-April 2026 the app topic's share of feedback grows significantly against the year before
    the release. The small demo has ~40 feedback items a month (~20 public posts): one month against the one
    before is too noisy to call; the two months against the twelve before are not."""
    release, before = "2026-03..2026-04", "2025-03..2026-02"
    df = demo_ws.text_trends(periods=(before, release), kind="feedback")
    app = df.set_index("topic").loc["app"]
    assert app.share_b > app.share_a + 10 and app.ci_low > 0 and bool(app.significant)
    assert df.set_index("topic")["delta"].idxmax() == "app"
    # In the public posts (reviews, social), where it was planted, it is the one emerging issue even after the
    # Benjamini-Hochberg adjustment over all topics.
    public = demo_ws.text_trends(periods=(before, release), kind="feedback", channel=["review", "social"])
    public = public.set_index("topic")
    assert bool(public.loc["app", "emerging"]) and public.loc["app", "delta"] > 20
    assert public["delta"].idxmax() == "app" and public["p_value"].idxmin() == "app"
    after = demo_ws.text_trends(periods=(release, "2026-05..2026-08"), kind="feedback", channel=["review", "social"])
    assert after.set_index("topic").loc["app", "delta"] < -10  # and it falls back afterwards
    # The negative app posts are there to read, masked.
    shown = demo_ws.comments(topic="app", sentiment="negative", kind="feedback", start="2026-03-01",
                             end="2026-04-30", limit=5)
    assert len(shown) == 5 and shown.attrs["matched"] >= 10
    assert all("app" in t.split(", ") for t in shown["topics"])


def test_carta_bloccata_topic_on_card_block_comments(demo_ws: momenti.Workspace) -> None:
    """Truth 3 seen through the text: the card topic dominates the card-block comments, and they are negative."""
    df = demo_ws.topics(by="touchpoint", kind="answer")
    card_block = df[df.touchpoint == "card-block"].set_index("topic")
    assert card_block["share"].idxmax() == "carta"
    carta = card_block.loc["carta"]
    assert carta.share > 40 and carta.net_sentiment < -30 and carta.net_ci_high < 0
    elsewhere = demo_ws.topics(kind="answer", topic="carta", filters={"touchpoint": [
        "branch-visit", "contact-centre-call", "money-transfer", "app-login"]}).iloc[0]
    assert carta.ci_low > elsewhere.ci_high  # far more common there than at other touchpoints


def test_topics_counts_match_the_rows(demo_ws: momenti.Workspace) -> None:
    df = demo_ws.topics(by=["touchpoint", "kind"], period="quarter")
    assert (df["n"] <= df["n_comments"]).all()
    assert ((df["positive"] + df["neutral"] + df["negative"]) == df["n"]).all()
    assert ((df["ci_low"] <= df["share"]) & (df["share"] <= df["ci_high"])).all()
    assert (df["small_sample"] == ((df["n_comments"] < 30) | (df["n"] < 30))).all()
    with demo_ws.warehouse() as wh:
        rows = wh.table("text_results").to_pandas()
    rows["touchpoint"] = rows["touchpoint"].fillna("-")  # feedback without a touchpoint is a group too
    df["touchpoint"] = df["touchpoint"].fillna("-")
    rows["quarter"] = rows["ts"].dt.to_period("Q").dt.start_time.dt.strftime("%Y-%m-%d")
    by_hand = rows.groupby(["touchpoint", "kind", "quarter"]).size()
    got = df.drop_duplicates(["touchpoint", "kind", "period"]).set_index(["touchpoint", "kind", "period"])
    assert got["n_comments"].to_dict() == {k: int(v) for k, v in by_hand.items() if k in got.index}
    assert int(by_hand.sum()) == len(rows)
    # mentions of one topic, by hand from the JSON list of topics
    with_app = rows[rows["topics"].map(lambda t: "app" in json.loads(t))]
    app_hand = with_app.groupby(["touchpoint", "kind", "quarter"]).size()
    app = df[df.topic == "app"].set_index(["touchpoint", "kind", "period"])["n"]
    assert app.to_dict() == {k: int(v) for k, v in app_hand.items()}


def test_comments_show_masked_text_only_and_respect_min_group(demo_ws: momenti.Workspace) -> None:
    shown = demo_ws.comments(topic="carta", sentiment="negative", limit=10)
    assert len(shown) == 10 and "masked_text" in shown and "text" not in shown
    assert shown["ts"].tolist() == sorted(shown["ts"], reverse=True)
    tiny = demo_ws.comments(topic="carta", touchpoint="card-block", start="2026-10-30", end="2026-10-31")
    assert tiny.empty and tiny.attrs["matched"] < 5
    with pytest.raises(InputError, match="KEEP_ORIGINAL"):
        demo_ws.comments(topic="carta", original=True)
    with pytest.raises(InputError, match="sentiment"):
        demo_ws.comments(sentiment="angry")


def test_cli_commands(demo_ws: momenti.Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from momenti.cli.main import app

    monkeypatch.setenv("MOMENTI_DATA_DIR", str(demo_ws.settings.data_dir))
    run = CliRunner().invoke
    res = run(app, ["text", "analyze"])
    assert res.exit_code == 0, res.output
    assert "analysed 0 items" in res.output
    res = run(app, ["text", "topics", "--by", "touchpoint", "--period", "month", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)["rows"]
    assert rows and {"touchpoint", "period", "topic", "share", "ci_low", "net_sentiment", "small_sample"} <= set(
        rows[0])
    res = run(app, ["text", "comments", "--topic", "carta", "--sentiment", "negative", "--limit", "3", "--format",
                    "csv"])
    assert res.exit_code == 0, res.output
    shown = pd.read_csv(__import__("io").StringIO(res.output))
    assert len(shown) == 3 and "masked_text" in shown
    res = run(app, ["text", "trends", "--periods", "2025-03..2026-02", "2026-03..2026-04", "--filter",
                    "kind=feedback", "--filter", "channel=review,social", "--emerging", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert "app" in [r["topic"] for r in json.loads(res.output)["rows"]]
    res = run(app, ["text", "trends", "--period", "week", "--format", "csv"])
    assert res.exit_code == 0 and res.output.startswith("topic,period_a,period_b")
    res = run(app, ["text", "topics", "--by", "nonsense"])
    assert res.exit_code != 0


def test_rest_routes(demo_ws: momenti.Workspace) -> None:
    from momenti.domains.tokens import create_token
    from momenti.server.app import create_app

    app = create_app(get_settings(data_dir=demo_ws.settings.data_dir))
    with app.state.workspace.session() as s, s.begin():
        _, secret = create_token(s, "tests")
    with AuthedClient(app) as client:
        r = client.get("/api/v1/text/topics", params={"by": "touchpoint", "filter": "kind:answer"})
        assert r.status_code == 200, r.text
        rows = r.json()["rows"]
        top = max((row for row in rows if row["touchpoint"] == "card-block"), key=lambda row: row["share"])
        assert top["topic"] == "carta"
        r = client.get("/api/v1/text/comments", params={"topic": "app", "sentiment": "negative", "limit": 4})
        assert r.status_code == 200 and len(r.json()["rows"]) == 4 and r.json()["withheld"] is False
        r = client.get("/api/v1/text/trends", params={"periods": ["2025-03..2026-02", "2026-03..2026-04"],
                                                      "filter": ["kind:feedback", "channel:review,social"],
                                                      "emerging": True})
        assert r.status_code == 200 and "app" in [row["topic"] for row in r.json()["rows"]]
        assert client.get("/api/v1/text/trends", params={"by": "nonsense"}).status_code == 400
        assert client.post("/api/v1/text/analyze", headers={"Authorization": ""}).status_code == 401
        r = client.post("/api/v1/text/analyze", headers={"Authorization": f"Bearer {secret}"})
        assert r.status_code == 200 and r.json()["total"] == 0


def test_train_from_scores_and_reanalyse(demo_ws: momenti.Workspace, tmp_path: Path) -> None:
    """A model trained on the demo's own rated comments is saved as version 1, used from then on (the analyzer
    version changes, so every item is analysed again), and is better than chance by cross-validation."""
    copy = tmp_path / "data"
    shutil.copytree(demo_ws.settings.data_dir, copy)
    ws = momenti.open(copy)
    before = _store_count(ws)
    meta = ws.text_train(analyze=True)
    assert meta["model"] == "sentiment-1" and Path(meta["path"]).exists()
    assert set(meta["classes"]) == {"negative", "positive"} and meta["n"] > 500
    assert 0.6 < meta["cv_macro_f1"] <= 1.0
    assert meta["analysis"]["total"] == before and meta["analysis"]["replaced"] == before
    assert "sent:sentiment-1" in meta["analysis"]["version"]
    models = ws.text_models()
    assert models["model"].tolist() == ["sentiment-1"]
    with ws.warehouse() as wh:
        sources = set(wh.table("text_results").sentiment_source.to_pyarrow().to_pylist())
    assert "model" in sources
    assert ws.text_analyze()["total"] == 0
    ws.close()


# --- incremental analysis, stores and warehouses ---------------------------------------------------------------


def test_incremental_only_new_items(ws_any: momenti.Workspace) -> None:
    ws_any.import_records("feedback", _feedback(6, CARD_TEXT, "2026-01-05"))
    assert _store_count(ws_any, kind="feedback") == 6  # analysed right after the import
    with ws_any.session() as s:
        first = {r.item_id: r.seq for r in s.scalars(select(TextResult))}
    ws_any.import_records("responses", [
        {"response_id": f"R{i}", "customer_id": f"C{i}", "touchpoint": "card-block",
         "submitted_at": "2026-01-06T09:00:00Z", "nps": 2, "comment": CARD_TEXT} for i in range(3)])
    ws_any.import_records("feedback", _feedback(2, PLAIN_TEXT, "2026-01-07", start=100))
    assert _store_count(ws_any) == 11
    with ws_any.session() as s:
        rows = list(s.scalars(select(TextResult)))
    assert {r.item_id: r.seq for r in rows if r.kind == "feedback" and r.item_id in first} == first  # untouched
    assert {r.kind for r in rows} == {"answer", "feedback"}
    assert ws_any.text_analyze()["total"] == 0
    df = ws_any.topics(by="kind")
    carta = df[df.topic == "carta"].set_index("kind")
    assert carta.loc["feedback", "n"] == 6 and carta.loc["feedback", "n_comments"] == 8
    assert carta.loc["answer", "n"] == 3 and carta.loc["answer", "n_comments"] == 3
    assert ws_any.warehouse_counts()["text_results"] == 11


def test_auto_analysis_can_be_switched_off_and_limit(tmp_path: Path, bank_journey: Path) -> None:
    ws = momenti.open(tmp_path / "data", text_auto=False)
    ws.apply_journey(bank_journey)
    ws.import_records("feedback", _feedback(7, CARD_TEXT, "2026-02-01"))
    assert _store_count(ws) == 0
    assert ws.text_analyze(limit=3)["total"] == 3
    report = ws.text_analyze()
    assert report["analysed"] == {"answer": 0, "feedback": 4} and report["replaced"] == 0
    assert ws.text_analyze(rebuild=True)["replaced"] == 7
    assert ws.warehouse_counts()["text_results"] == 7
    ws.close()


def test_promote_topic_reanalyses_with_it(workspace: momenti.Workspace) -> None:
    workspace.import_records("feedback", _feedback(6, "Il bancomat si è mangiato la tessera.", "2026-02-01"))
    assert workspace.topics(topic="bancomat").iloc[0].n == 0  # not a topic yet
    path = workspace.promote_topic("bancomat", "Bancomat e ATM", "ATM", "bancomat,atm")
    assert path.exists()
    report = workspace.text_analyze()
    assert report["replaced"] == 6  # the taxonomy changed: the analyzer version too
    row = workspace.topics(topic="bancomat").iloc[0]
    assert row.n == 6 and row.n_comments == 6
    with pytest.raises(InputError):
        workspace.promote_topic("bancomat", "x", "y", "bancomat")


def test_pii_never_leaks_from_comments(ws_any: momenti.Workspace) -> None:
    ws_any.import_records("feedback", _feedback(6, PII_TEXT, "2026-03-02"))
    for frame in (ws_any.comments(topic="carta"), ws_any.comments()):
        assert len(frame) == 6
        text = frame.to_csv()
        assert not any(p in text for p in PII)
        assert "[EMAIL]" in text and "[IBAN]" in text and "[CARD]" in text and "[PHONE]" in text
    with ws_any.warehouse() as wh:
        exported = wh.table("text_results").to_pandas().to_csv()
    assert not any(p in exported for p in PII)


def test_original_text_only_when_allowed(tmp_path: Path, bank_journey: Path) -> None:
    ws = momenti.open(tmp_path / "data", text_keep_original=True)
    ws.apply_journey(bank_journey)
    ws.import_records("feedback", _feedback(5, PII_TEXT, "2026-03-02"))
    shown = ws.comments(original=True)
    assert (shown["text"] == PII_TEXT).all() and "[EMAIL]" in shown["masked_text"].iloc[0]
    ws.close()


def test_duckdb_and_postgres_warehouses_give_identical_topic_tables(tmp_path: Path, bank_journey: Path,
                                                                     pg_warehouse_url: str) -> None:
    data = generate(size="small", seed=7)
    duck = momenti.open(tmp_path / "duck")
    duck.apply_journey(bank_journey)
    duck.import_table("responses", data.responses.slice(0, 2500), source="demo:responses")
    duck.import_table("feedback", data.feedback, source="demo:feedback")
    pg = momenti.Workspace(get_settings(data_dir=tmp_path / "duck", warehouse_url=pg_warehouse_url))
    pg.sync(rebuild=True)
    assert pg.warehouse_counts()["text_topics"] == duck.warehouse_counts()["text_topics"] > 0
    for call in (lambda w: w.topics(by="touchpoint", period="month"),
                 lambda w: w.topics(by=["kind", "segment:lifecycle"]),
                 lambda w: w.text_trends(period="quarter", by="channel"),
                 lambda w: w.text_trends(periods=("2025", "2026")),
                 lambda w: w.comments(topic="app", sentiment="negative", limit=15)):
        a, b = call(duck), call(pg)
        assert len(a) > 0
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert os.environ.get("MOMENTI_WAREHOUSE_URL") is None
    duck.close()
    pg.close()


# --- the statistics, by hand ---------------------------------------------------------------------------------


def _wilson(k: int, n: int, z: float) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_trend_worked_example(workspace: momenti.Workspace) -> None:
    """January: 4 of 40 comments about the card; February: 16 of 40. Share 10 % -> 40 %: +30 points."""
    rows = (_feedback(4, CARD_TEXT, "2026-01-10") + _feedback(36, PLAIN_TEXT, "2026-01-12", start=10)
            + _feedback(16, CARD_TEXT, "2026-02-10", start=100) + _feedback(24, PLAIN_TEXT, "2026-02-12", start=200))
    workspace.import_records("feedback", rows)
    df = workspace.text_trends(period="month")
    assert df["topic"].tolist() == ["carta"]
    row = df.iloc[0]
    assert (row.period_a, row.period_b) == ("2026-01-01", "2026-02-01")
    assert (row.n_a, row.k_a, row.n_b, row.k_b) == (40, 4, 40, 16)
    assert row.share_a == pytest.approx(10.0) and row.share_b == pytest.approx(40.0)
    assert row.delta == pytest.approx(30.0)
    z = 1.959963984540054
    (l1, u1), (l2, u2) = _wilson(4, 40, z), _wilson(16, 40, z)
    lo = 0.3 - math.sqrt((0.4 - l2) ** 2 + (u1 - 0.1) ** 2)  # Newcombe's hybrid score interval
    hi = 0.3 + math.sqrt((u2 - 0.4) ** 2 + (0.1 - l1) ** 2)
    assert row.ci_low == pytest.approx(100 * lo) and row.ci_high == pytest.approx(100 * hi)
    pooled = 20 / 80
    zstat = 0.3 / math.sqrt(pooled * (1 - pooled) * (2 / 40))
    assert row.p_value == pytest.approx(math.erfc(zstat / math.sqrt(2)))  # two-sided, ~0.0019
    assert bool(row.significant) and bool(row.emerging) and row.q_value == pytest.approx(row.p_value)
    assert bool(row.small_sample) is False
    # the same pair as two explicit periods gives the same answer
    two = workspace.text_trends(periods=("2026-01", "2026-02")).iloc[0]
    assert two.delta == pytest.approx(30.0) and two.p_value == pytest.approx(row.p_value)
    # the topic's share per month, with its Wilson interval
    shares = workspace.topics(period="month").set_index("period")
    assert shares.loc["2026-02-01", "share"] == pytest.approx(40.0)
    assert shares.loc["2026-02-01", "ci_low"] == pytest.approx(100 * l2)


def test_benjamini_hochberg_by_hand() -> None:
    from momenti.insights.text.topics import benjamini_hochberg

    q = benjamini_hochberg([0.01, 0.04, 0.03, float("nan"), 0.20])
    # sorted p: 0.01, 0.03, 0.04, 0.20 (m = 4): 0.04, 0.06, 0.0533 -> monotone 0.04, 0.0533, 0.0533, 0.20
    assert q[0] == pytest.approx(0.04) and q[2] == pytest.approx(0.16 / 3) and q[1] == pytest.approx(0.16 / 3)
    assert math.isnan(q[3]) and q[4] == pytest.approx(0.20)


def test_labels_file_errors_name_the_line(tmp_path: Path) -> None:
    from momenti.pipelines.text.models import labels_from_file

    path = tmp_path / "labels.csv"
    path.write_text("text,label\nbello,positive\nbrutto,neg\nmah,angry\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"labels.csv:4: label 'angry'"):
        labels_from_file(path)
    path.write_text("testo,etichetta\nbello,positive\n", encoding="utf-8")
    with pytest.raises(InputError, match="text,label"):
        labels_from_file(path)


def test_discover_topics_in_unmatched_comments(demo_ws: momenti.Workspace) -> None:
    df = demo_ws.discover_topics(n_topics=5)
    assert len(df) == 5 and {"topic", "label", "size", "top_terms", "keywords", "examples"} <= set(df.columns)
    with demo_ws.warehouse() as wh:
        t = wh.table("text_results")
        unmatched = int(t.filter(t.n_topics == 0).count().execute())
    assert 0 < df["size"].sum() <= unmatched
    assert all(isinstance(e, str) and e for e in df["examples"])
    with pytest.raises(InputError, match="too few"):
        demo_ws.discover_topics(n_topics=5, start="2026-10-31", end="2026-10-31", kind="feedback")


def test_rest_analyze_writes_through_the_server_connection(tmp_path: Path, bank_journey: Path) -> None:
    """The server's workspace writes with the driver's own connection (not ADBC): POST /analyze analyses what
    was left unanalysed (MOMENTI_TEXT_AUTO off, so the server's background sync leaves it too), and the debounced
    sync brings it to the warehouse."""
    from momenti.domains.tokens import create_token
    from momenti.server.app import create_app

    ws = momenti.open(tmp_path / "data", text_auto=False)
    ws.apply_journey(bank_journey)
    ws.import_records("feedback", _feedback(6, PII_TEXT, "2026-03-02"))
    ws.close()
    app = create_app(get_settings(data_dir=tmp_path / "data", sync_debounce_s=0.05, text_auto=False))
    with app.state.workspace.session() as s, s.begin():
        _, secret = create_token(s, "tests")
    with AuthedClient(app) as client:
        r = client.post("/api/v1/text/analyze", headers={"Authorization": f"Bearer {secret}"})
        assert r.status_code == 200 and r.json()["analysed"] == {"answer": 0, "feedback": 6}
        assert app.state.syncer.flush()
        r = client.get("/api/v1/text/comments", params={"topic": "carta"})
        body = r.json()
        assert r.status_code == 200 and body["matched"] == 6 and len(body["rows"]) == 6
        assert not any(p in r.text for p in PII) and "[IBAN]" in r.text
