"""The closed loop at scale: alert rules evaluated on a bulk import, and the case queue page with many cases.

    python bench/loop.py                                    # 1 M responses, 100 k cases (~17 min on 2 cores)
    python bench/loop.py --responses 100000 --cases 10000   # quick
    python bench/loop.py --part rules --profile             # also cProfile the dispatcher run with rules

1. Rules keep up with imports. N responses of the bank journey (submitted in the last 10 days, ~25 %
   detractors, nps + csat + ces) imported into a fresh SQLite workspace twice, each time followed by the
   dispatcher run (`ws.sync_written()`: warehouse sync, text analysis, alert rules, webhooks, notify): once with
   no rules (the baseline), once after `apply_rules` of three rules (nps <= 6 at moments of truth -> case,
   csat <= 2 -> case, ces >= 5 -> notify only). Ratio: with rules / without (target < 1.20). The run with rules
   also prints where the dispatcher's time went (per subscriber; trigger queries; `cases.open_many`).
2. The case queue page. M cases bulk-inserted (status entries per case, teams of the bank journey, a spread of
   statuses and ages), the app served by uvicorn in a thread of this process, signed in as an admin:
   `GET /cases` (open cases, first page of 50) and `GET /cases?team=Rete%20filiali&sla=breached`, 2 warm-up
   GETs then 30 timed; p50/p95. Baseline, same process and store: the bare SQLAlchemy query of the page's
   rows (`SELECT ... WHERE status IN (open) [AND team = ...] ORDER BY opened_at DESC LIMIT 50`); ratio of the
   p50s. Target: default queue p95 < 300 ms.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import datetime as dt
import io
import os
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "tests"))
BANK = ROOT / "src/momenti/domains/journey_map/templates/bank.yaml"
OPEN = ("acknowledged", "contacted", "new", "pending_customer", "reopened")

RULES = [
    {"key": "detractor-at-moment-of-truth", "name": {"en": "Detractor at a moment of truth"}, "on": "response",
     "response": {"metric": "nps", "at_most": 6, "moments_of_truth": True},
     "open_case": {"team": "owner", "priority": "high", "sla": "standard"}},
    {"key": "csat-very-dissatisfied", "name": {"en": "Very dissatisfied"}, "on": "response",
     "response": {"metric": "csat", "at_most": 2},
     "open_case": {"team": "owner", "priority": "normal", "sla": "standard"}},
    {"key": "high-effort", "name": {"en": "High customer effort"}, "on": "response",
     "response": {"metric": "ces", "at_least": 5}, "notify": {"email": ["team"], "webhooks": True}},
]


def _touchpoints() -> list[dict[str, Any]]:
    doc = yaml.safe_load(BANK.read_text(encoding="utf-8"))
    return [t for j in doc["journeys"] for s in j["stages"] for t in s["touchpoints"]]


def _rules_document() -> Any:
    from momenti.domains.loop.rules import load_rules, template_text

    doc = load_rules(template_text()).model_dump(mode="json")  # calendar, SLA policies, root causes
    doc["rules"] = RULES
    return load_rules(doc, "bench rules")


def make_responses(n: int, seed: int = 11) -> pa.Table:
    """n responses at the bank journey's touchpoints in the last 10 days, from n / 5 customers: nps (25 %
    detractors), csat (1-5, following nps: 12.5 % at 1-2) and, on one response in three, ces (1-7)."""
    rng = np.random.default_rng(seed)
    tps = np.asarray([t["key"] for t in _touchpoints()])
    now = np.datetime64(dt.datetime.now(dt.UTC).replace(tzinfo=None), "s")
    ts = now - rng.integers(60, 10 * 86400, n).astype("timedelta64[s]")
    group = rng.choice(3, n, p=[0.25, 0.30, 0.45])  # detractor, passive, promoter
    nps = np.choose(group, [rng.integers(0, 7, n), rng.integers(7, 9, n), rng.integers(9, 11, n)])
    csat = np.choose(group, [rng.integers(1, 5, n), rng.integers(3, 6, n), rng.integers(4, 6, n)])  # 12.5 % <= 2
    ces = np.clip(np.choose(group, [rng.integers(3, 8, n), rng.integers(2, 6, n), rng.integers(1, 4, n)]), 1, 7)
    return pa.table({
        "response_id": pa.array(np.char.add("r", np.arange(n).astype(str))),
        "customer_id": pa.array(np.char.add("c", rng.integers(0, max(1, n // 5), n).astype(str))),
        "touchpoint": pa.array(tps[rng.integers(0, len(tps), n)]),
        "submitted_at": pa.array(ts.astype("datetime64[us]")).cast(pa.timestamp("us", tz="UTC")),
        "nps": pa.array(nps),
        "csat": pa.array(csat),
        "ces": pa.array(ces, mask=rng.random(n) >= 1 / 3),
    })


# -- 1. rules on a bulk import ------------------------------------------------------------------------------


class Tally:
    """Seconds and calls of wrapped functions (module attributes and subscriber handlers), this process only."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.undo: list[Callable[[], None]] = []

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - t0
                self.calls[name] += 1
        return timed

    def patch(self, module: Any, attr: str, name: str) -> None:
        original = getattr(module, attr)
        setattr(module, attr, self.wrap(name, original))
        self.undo.append(lambda: setattr(module, attr, original))

    def subscribers(self) -> None:
        from momenti.pipelines import events

        events.load_subscribers()
        for key, sub in list(events.REGISTRY.items()):
            events.REGISTRY[key] = dataclasses.replace(sub, handle=self.wrap(f"subscriber {key}", sub.handle))
            self.undo.append(lambda key=key, sub=sub: events.REGISTRY.__setitem__(key, sub))

    def restore(self) -> None:
        for fn in reversed(self.undo):
            fn()
        self.undo.clear()


def import_run(data_dir: Path, table: pa.Table, with_rules: bool, profile: bool) -> dict[str, Any]:
    import momenti
    from momenti.domains.loop import cases as case_ops
    from momenti.domains.loop import triggers
    from momenti.domains.loop.rules import apply_rules

    ws = momenti.open(data_dir)
    try:
        ws.apply_journey(BANK)
        if with_rules:
            with ws.session() as s, s.begin():
                apply_rules(s, _rules_document(), "bench")
        ws.sync_written()  # the journey's events and the first-run work (text catch-up) out of the way
        tally = Tally()
        tally.subscribers()
        tally.patch(triggers, "find", "triggers.find")
        tally.patch(case_ops, "open_many", "cases.open_many")
        prof = cProfile.Profile() if profile else None
        try:
            t0 = time.perf_counter()
            summary = ws.import_table("responses", table, source="bench")
            t1 = time.perf_counter()
            if prof is not None:
                prof.enable()
            ws.sync_written()
            t2 = time.perf_counter()
            if prof is not None:
                prof.disable()
        finally:
            tally.restore()
        assert summary.added == table.num_rows and summary.rejected == 0, (summary.added, summary.errors[:3])
        with ws.session() as s:
            from sqlalchemy import text

            counts = {k: int(s.scalar(text(sql)) or 0) for k, sql in (
                ("cases", "SELECT count(*) FROM cases"),
                ("triggers", "SELECT count(*) FROM case_entries WHERE kind = 'trigger'"),
                ("alerts", "SELECT count(*) FROM outbox WHERE kind = 'response.alert'"))}
    finally:
        ws.close()
    out = {"import": t1 - t0, "dispatch": t2 - t1, "tally": tally, **counts}
    if prof is not None:
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(30)
        out["profile"] = buf.getvalue()
    return out


def part_rules(n: int, profile: bool) -> float:
    table = make_responses(n)
    print(f"{n:,} responses at {len(_touchpoints())} touchpoints, submitted in the last 10 days, "
          f"{np.mean(table['nps'].to_numpy() <= 6):.0%} detractors")
    with tempfile.TemporaryDirectory() as tmp:  # not timed: the first import of a process loads DuckDB, ADBC, ...
        import_run(Path(tmp) / "data", make_responses(2_000, seed=1), True, False)
    runs = {}
    for label, with_rules in (("without rules (baseline)", False), ("with 3 rules (momenti)", True)):
        with tempfile.TemporaryDirectory() as tmp:
            runs[label] = import_run(Path(tmp) / "data", table, with_rules, profile and with_rules)
    base = runs["without rules (baseline)"]
    ratio = 1.0
    print(f"{'run':26} {'import s':>9} {'dispatch s':>11} {'total s':>8} {'responses/s':>12} {'cases':>8} "
          f"{'triggers':>9} {'alerts':>8} {'ratio':>7}")
    for label, r in runs.items():
        total = r["import"] + r["dispatch"]
        ratio = total / (base["import"] + base["dispatch"])
        print(f"{label:26} {r['import']:9.1f} {r['dispatch']:11.1f} {total:8.1f} {n / total:12,.0f} "
              f"{r['cases']:8,} {r['triggers']:9,} {r['alerts']:8,} {ratio:6.2f}x")
    print(f"ratio with rules / without {ratio:.2f}x (target < 1.20)")
    tally: Tally = runs["with 3 rules (momenti)"]["tally"]
    print("where the dispatcher's time went, with rules:")
    for name in sorted(tally.seconds, key=lambda k: -tally.seconds[k]):
        calls = tally.calls[name]
        each = f"{tally.seconds[name] / calls * 1000:8.2f} ms each" if name.startswith(("cases", "triggers")) else ""
        print(f"  {name:26} {tally.seconds[name]:8.1f} s {calls:9,} calls {each}")
    if "profile" in runs["with 3 rules (momenti)"]:
        print(runs["with 3 rules (momenti)"]["profile"])
    return ratio


# -- 2. the case queue page ------------------------------------------------------------------------------------


def plant_cases(ws: Any, m: int, seed: int = 5) -> dict[str, int]:
    """m cases opened over the last 120 days by the two case-opening rules, with their entries: the newer the
    case, the likelier it is still open. Bulk Core inserts, ids given."""
    from sqlalchemy import insert, select

    from momenti.store.access import Team, User
    from momenti.store.loop import Case, CaseEntry

    rng = np.random.default_rng(seed)
    tps = _touchpoints()
    weights = np.array([3.0 if t["moment_of_truth"] else 1.0 for t in tps])
    tp_of = rng.choice(len(tps), m, p=weights / weights.sum())
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    age_s = rng.integers(600, 120 * 86400, m)
    age_days = age_s / 86400
    p_open = np.clip(1 - age_days / 20, 0.04, 0.9)
    is_open = rng.random(m) < p_open
    open_status = rng.choice(["new", "acknowledged", "contacted", "pending_customer", "reopened"], m,
                             p=[0.35, 0.25, 0.2, 0.15, 0.05])
    done_status = rng.choice(["resolved", "closed"], m, p=[0.15, 0.85])
    status = np.where(is_open, open_status, done_status)
    chains = {"new": ["new"], "acknowledged": ["new", "acknowledged"],
              "contacted": ["new", "acknowledged", "contacted"],
              "pending_customer": ["new", "acknowledged", "contacted", "pending_customer"],
              "resolved": ["new", "acknowledged", "contacted", "resolved"],
              "closed": ["new", "acknowledged", "contacted", "resolved", "closed"],
              "reopened": ["new", "acknowledged", "contacted", "resolved", "reopened"]}
    doc = _rules_document()
    policy = doc.policy_spec("standard")
    rule_keys = [r.key for r in doc.rules if r.open_case is not None]
    rule_of = rng.choice(len(rule_keys), m, p=[0.6, 0.4])
    with ws.session() as s:
        teams = {t.name: t.id for t in s.scalars(select(Team))}
        owners = {tid: s.scalar(select(User.id).where(User.team_id == tid)) for tid in teams.values()}
    cases, entries = [], []
    eid = 0
    for i in range(m):
        tp = tps[int(tp_of[i])]
        st = str(status[i])
        opened = now - dt.timedelta(seconds=int(age_s[i]))
        chain = chains[st]
        steps = np.sort(rng.random(len(chain) - 1)) * float(age_s[i]) * 0.9
        times = [opened] + [opened + dt.timedelta(seconds=float(x)) for x in steps]
        rule = rule_keys[int(rule_of[i])]
        customer = f"c{i:07d}"
        owner = owners.get(teams.get(tp["owner_team"], -1)) if st != "new" else None
        cid = i + 1
        cases.append({"id": cid, "customer_key": customer, "rule_key": rule, "rule_version": 1,
                      "touchpoint": tp["key"], "team": tp["owner_team"], "owner_id": owner,
                      "priority": "high" if rule_of[i] == 0 else "normal", "status": st,
                      "title": doc.rules[int(rule_of[i])].label("en"), "sla_policy": policy, "opened_at": opened,
                      "updated_at": times[-1], "closed_at": times[-1] if st == "closed" else None,
                      "trigger_kind": "response", "trigger_ref": f"r{i}",
                      "root_cause": "process" if st in ("resolved", "closed") else None,
                      "recovered": bool(i % 3) if st in ("resolved", "closed") else None, "tags": [],
                      "escalation_level": 0, "open_key": f"{rule}\x1f{customer}" if st in OPEN else None})
        eid += 1
        entries.append({"id": eid, "case_id": cid, "at": opened, "actor": "system", "kind": "trigger",
                        "old_value": None, "new_value": None, "body": None,
                        "detail": {"source": "response", "ref": f"r{i}"}, "dedup_key": f"{rule}:response:{i}"})
        for j, (value, at) in enumerate(zip(chain, times, strict=True)):
            eid += 1
            entries.append({"id": eid, "case_id": cid, "at": at, "actor": "system" if j == 0 else "user:bench",
                            "kind": "status", "old_value": chain[j - 1] if j else None, "new_value": value,
                            "body": None, "detail": None, "dedup_key": None})
    with ws.engine.begin() as conn:
        for start in range(0, len(cases), 20_000):
            conn.execute(insert(Case.__table__), cases[start:start + 20_000])
        for start in range(0, len(entries), 50_000):
            conn.execute(insert(CaseEntry.__table__), entries[start:start + 50_000])
    return {"cases": m, "entries": len(entries), "open": int(np.isin(status, OPEN).sum()),
            "open Rete filiali": int((np.isin(status, OPEN) & (np.array([tps[k]["owner_team"] for k in tp_of])
                                                                == "Rete filiali")).sum())}


def _pcts(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return times[len(times) // 2], times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


def part_queue(m: int, repeat: int = 30) -> float:
    from pages import PASSWORD, _get, sign_in
    from sqlalchemy import create_engine, select

    import momenti
    from auth_helpers import add_user
    from momenti.core.config import get_settings
    from momenti.server.app import create_app
    from momenti.store.loop import Case
    from server_helpers import serving

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        with momenti.open(data_dir) as ws:
            ws.apply_journey(BANK)
            add_user(ws, "bench@example.com", "admin", PASSWORD)
            for team in ("Rete filiali", "Contact center", "Digital banking", "Customer care retention"):
                add_user(ws, f"agente.{team.split()[0].lower()}@banca.example", "agent", PASSWORD, team=team)
            t0 = time.perf_counter()
            planted = plant_cases(ws, m)
            print(f"{planted['cases']:,} cases ({planted['open']:,} open, {planted['open Rete filiali']:,} of them "
                  f"Rete filiali), {planted['entries']:,} entries, inserted in {time.perf_counter() - t0:.1f} s")
            store_url = ws.store_url
        engine = create_engine(store_url)  # the baseline's own engine on the same store
        cols = Case.__table__.c

        def bare(team: str | None) -> Callable[[], Any]:
            stmt = select(Case.__table__).where(cols.status.in_(OPEN))
            if team:
                stmt = stmt.where(cols.team == team)
            stmt = stmt.order_by(cols.opened_at.desc(), cols.id.desc()).limit(50)

            def run() -> Any:
                with engine.connect() as conn:
                    return conn.execute(stmt).all()
            return run

        app = create_app(get_settings(data_dir=data_dir))
        worst_default = 0.0
        with serving(app) as base:
            port = int(base.rsplit(":", 1)[1])
            cookie = sign_in(port)
            print(f"{'page':42} {'rows':>6} {'p50':>8} {'p95':>8} {'bare p50':>9} {'bare p95':>9} {'ratio':>7} "
                  f"{'size':>9}")
            for path, team in (("/cases", None), ("/cases?team=Rete%20filiali&sla=breached", "Rete filiali")):
                status, body, _ = _get(port, path, cookie)
                assert status == 200, (path, status)
                _get(port, path, cookie)
                times = [_get(port, path, cookie)[2] for _ in range(repeat)]
                query = bare(team)
                query()
                query()
                bare_times = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    rows = query()
                    bare_times.append(time.perf_counter() - t0)
                p50, p95 = _pcts(times)
                b50, b95 = _pcts(bare_times)
                if team is None:
                    worst_default = p95
                shown = body.count(b'name="case_ids"')
                print(f"{path:42} {shown:6d} {p50 * 1000:5.0f} ms {p95 * 1000:5.0f} ms {b50 * 1000:6.1f} ms "
                      f"{b95 * 1000:6.1f} ms {p50 / b50:6.0f}x {len(body) / 1000:6.1f} KB  (bare: {len(rows)} rows)",
                      flush=True)
        engine.dispose()
    print(f"default queue p95 {worst_default * 1000:.0f} ms (target < 300 ms)")
    return worst_default


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=int(os.environ.get("BENCH_RESPONSES", 1_000_000)))
    parser.add_argument("--cases", type=int, default=int(os.environ.get("BENCH_CASES", 100_000)))
    parser.add_argument("--part", choices=("all", "rules", "queue"), default="all")
    parser.add_argument("--profile", action="store_true", help="cProfile the dispatcher run with rules")
    args = parser.parse_args()
    if args.part in ("all", "rules"):
        part_rules(args.responses, args.profile)
    if args.part in ("all", "queue"):
        if args.part == "all":
            print()
        part_queue(args.cases)


if __name__ == "__main__":
    main()
