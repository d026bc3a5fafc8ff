"""The score rollup (`score_daily`) answers cuts by language too, and a rollup of the older layout (without
language) is counted again from the answers when the warehouse is opened, so no old row answers a language cut
with nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import momenti
from conftest import BANK

TOUCHPOINTS = ["branch-visit", "app-login", "card-block"]


def _rows(n: int) -> list[dict]:
    rng = np.random.default_rng(5)
    return [{"response_id": f"r{i}", "customer_id": f"c{i % 40}", "touchpoint": TOUCHPOINTS[i % 3],
             "submitted_at": f"2026-{1 + i % 6:02d}-{1 + i % 27:02d}T10:00:00", "language": "it" if i % 4 else "en",
             "nps": int(rng.integers(0, 11))} for i in range(n)]


def _expected(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["period"] = df.submitted_at.str[:7] + "-01"
    g = df.groupby(["touchpoint", "language", "period"]).agg(
        n=("nps", "size"), promoters=("nps", lambda s: int((s >= 9).sum())),
        detractors=("nps", lambda s: int((s <= 6).sum()))).reset_index()
    return g.sort_values(["touchpoint", "language", "period"]).reset_index(drop=True)


def _asked(ws: momenti.Workspace) -> pd.DataFrame:
    res = ws.nps(by=["touchpoint", "language"], period="month")
    out = res[["touchpoint", "language", "period", "n", "promoters", "detractors"]].copy()
    for c in ("n", "promoters", "detractors"):
        out[c] = out[c].astype(int)
    return out.sort_values(["touchpoint", "language", "period"]).reset_index(drop=True)


def test_language_cuts_come_from_the_rollup(tmp_path: Path) -> None:
    ws = momenti.open(tmp_path / "data")
    ws.apply_journey(BANK)
    rows = _rows(600)
    ws.import_records("responses", rows, source="test", strict=True)
    try:
        assert "score_daily" in ws.explain("nps", by=["touchpoint", "language"], period="month")
        assert "segment_daily" in ws.explain("nps", by=["touchpoint", "segment:tier"], period="month")
        # a derived segment (per moment, from first_seen) is not an attribute: raw answers
        assert '"answers"' in ws.explain("nps", by=["touchpoint", "segment:lifecycle"], period="month")
        pd.testing.assert_frame_equal(_asked(ws), _expected(rows))
        # asked again: from the question's compiled SQL (query.py), the same frame, types included
        for by in (["touchpoint", "language"], ["segment:tier"], []):
            first, again = ws.nps(by=by, period="month"), ws.nps(by=by, period="month")
            pd.testing.assert_frame_equal(first, again)
        only_en = ws.nps(by=["touchpoint"], filters={"language": ["en"]})
        assert int(only_en["n"].sum()) == sum(1 for r in rows if r["language"] == "en")
    finally:
        ws.close()


def test_a_rollup_of_the_older_layout_is_refolded_from_the_answers(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ws = momenti.open(data)
    ws.apply_journey(BANK)
    rows = _rows(500)
    ws.import_records("responses", rows, source="test", strict=True)
    with ws.warehouse() as wh:  # what a warehouse written before the language key looks like
        wh.duck.execute("ALTER TABLE score_daily DROP COLUMN language")
        wh.duck.execute("UPDATE _meta SET value = 'older' WHERE key = 'layout'")
    ws.close()

    ws = momenti.open(data)
    try:
        pd.testing.assert_frame_equal(_asked(ws), _expected(rows))
        with ws.warehouse() as wh:
            missing = wh.rows("SELECT count(*) FROM score_daily WHERE language IS NULL")[0][0]
            total = wh.rows("SELECT sum(n) FROM score_daily WHERE question = 'nps'")[0][0]
        assert missing == 0 and total == len(rows)
    finally:
        ws.close()


def _by_tier(rows: list[dict], tiers: dict[str, str]) -> dict[tuple, int]:
    out: dict[tuple, int] = {}
    for r in rows:
        key = (r["touchpoint"], tiers.get(r["customer_id"]), r["submitted_at"][:7] + "-01")
        out[key] = out.get(key, 0) + 1
    return out


def _asked_by_tier(ws: momenti.Workspace, **kw: object) -> dict[tuple, int]:
    res = ws.nps(by=["touchpoint", "segment:tier"], period="month", **kw)
    return {(t, None if v is None or v != v else v, p): int(n)
            for t, v, p, n in zip(res.touchpoint, res.segment_tier, res.period, res.n, strict=True)}


def test_segment_cuts_come_from_a_rollup_kept_up_to_date(tmp_path: Path) -> None:
    ws = momenti.open(tmp_path / "data")
    ws.apply_journey(BANK)
    try:
        tiers = {f"c{i}": ("gold" if i % 3 else "silver") for i in range(30)}  # c30..c39 have no tier
        ws.import_records("customers", [{"customer_id": c, "tier": t} for c, t in tiers.items()], source="t",
                          strict=True)
        rows = _rows(600)
        ws.import_records("responses", rows, source="test", strict=True)
        assert _asked_by_tier(ws) == _by_tier(rows, tiers)

        more = [{**r, "response_id": f"m{i}"} for i, r in enumerate(_rows(90))]  # answers that arrive later
        ws.import_records("responses", more, source="test", strict=True)
        assert _asked_by_tier(ws) == _by_tier(rows + more, tiers)  # added to the rollup, not counted again
        with ws.warehouse() as wh:
            assert wh.rows("SELECT sum(n) FROM segment_daily WHERE attr = 'tier'")[0][0] == 690

        tiers["c1"] = "platinum"  # an attribute changes: every past answer of c1 moves
        ws.import_records("customers", [{"customer_id": "c1", "tier": "platinum"}], source="t", strict=True)
        assert _asked_by_tier(ws) == _by_tier(rows + more, tiers)
        only_gold = ws.nps(by=["touchpoint"], filters={"segment:tier": ["gold"]})
        assert int(only_gold["n"].sum()) == sum(1 for r in rows + more if tiers.get(r["customer_id"]) == "gold")
        with ws.warehouse() as wh:
            assert wh.rows("SELECT sum(n) FROM segment_daily WHERE attr = 'tier'")[0][0] == 690
    finally:
        ws.close()
