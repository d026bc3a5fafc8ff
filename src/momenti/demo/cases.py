"""The demo's closed loop: cases opened by the starter rule on the detractors at moments of truth of the
demo's last eighteen months, worked with a realistic history, and the customers' answers to the recovery survey.

Planted truth (docs/demo-truths.md): a detractor contacted within 48 hours answers the recovery survey as a
passive or promoter with probability 0.56, one contacted later with 0.28 (twice as often when called back
fast); `tests/test_demo_cases.py` recovers it through `ws.case_metrics(by="contact_window")`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from sqlalchemy import func, select, text

from momenti.core.clock import as_datetime
from momenti.domains.loop.rules import apply_rules, load_rules, template_text
from momenti.store.loop import Case, CaseEntry

RULE = "detractor-at-moment-of-truth"
SINCE = dt.datetime(2025, 5, 1)
UNTIL = dt.datetime(2026, 11, 1)  # the demo window's end
RECOVER_FAST, RECOVER_SLOW = 0.56, 0.28  # P(recovery NPS >= 7 | contacted within / after 48 h)
ANSWER_RATE = 0.6  # share of resolved cases whose customer answers the recovery survey
CAUSES = {"branch-visit": (("people", .4), ("process", .35), ("expectation", .25)),
          "account-opening": (("process", .45), ("communication", .3), ("technology", .25)),
          "app-login": (("technology", .7), ("communication", .2), ("customer", .1))}
DEFAULT_CAUSES = (("process", .4), ("people", .3), ("communication", .3))
AGENTS = {"Rete filiali": "agente.filiali@banca.example", "Contact center": "agente.contact@banca.example",
          "Ufficio reclami": "agente.reclami@banca.example"}


def _detractors(session: Any, limit: int) -> list[tuple[int, str, str, str | None, dt.datetime, float]]:
    rows = session.execute(text(
        "SELECT r.id, r.external_id, r.customer_key, t.key, t.owner_team, r.submitted_at, min(a.value_num) "
        "FROM responses r JOIN touchpoints t ON t.id = r.touchpoint_id JOIN answers a ON a.response_id = r.id "
        "JOIN questions q ON q.id = a.question_id WHERE q.kind = 'nps' AND a.value_num <= 6 "
        "AND t.moment_of_truth = :mot AND r.customer_key IS NOT NULL "
        "GROUP BY r.id, r.external_id, r.customer_key, t.key, t.owner_team, r.submitted_at ORDER BY r.id"),
        {"mot": True}).all()
    out = []
    for rid, ref, customer, tp, team, at, score in rows:
        at = as_datetime(at)
        if SINCE <= at < UNTIL:
            out.append((int(rid), ref, customer, tp, team, at, float(score)))
    return out[:limit]


def plant_cases(ws: Any, seed: int = 42, limit: int = 3000) -> dict[str, int]:
    """Apply the starter rules and open, work and close the demo's cases (idempotent: nothing if cases
    exist). {'cases': n, 'recovery_answers': n}."""
    from momenti.domains.surveys.definition import template
    from momenti.domains.surveys.service import apply_survey

    rng = np.random.default_rng(seed + 1600)
    doc = load_rules(template_text())
    apply_survey(ws, template("complaint-recovery"), sync=False)  # its hidden case_id links the answers
    with ws.session() as s, s.begin():
        if s.scalar(select(func.count()).select_from(Case)):
            return {"cases": 0, "recovery_answers": 0}
        version = apply_rules(s, doc, "demo").version
        policy = doc.policy_spec("standard")
        found = _detractors(s, limit)
        answers: list[dict[str, Any]] = []
        open_customers: set[str] = set()
        opened = 0
        for rid, ref, customer, tp, team, at, score in found:
            if customer in open_customers:
                continue  # one open case per customer and rule: a later detractor adds to it (not planted)
            case, entries, recovery = _one_case(rng, version, policy, rid, ref, customer, tp, team, at, score)
            s.add(case)
            s.flush()
            opened += 1
            for entry in entries:
                entry.case_id = case.id
            s.add_all(entries)
            if case.open_key:
                open_customers.add(customer)
            if recovery is not None:
                answers.append({"response_id": f"demo-recovery-{case.id}", "customer_id": customer,
                                "touchpoint": "complaint-handling", "submitted_at": recovery[0].isoformat(),
                                "case_id": str(case.id), "nps": recovery[1], "csat": recovery[2]})
    if answers:
        summary = ws.import_records("responses", answers, source="demo:recovery", strict=True)
        assert summary.rejected == 0, summary.errors[:3]
        from momenti.domains.loop.recovery import link_answers

        with ws.session() as s, s.begin():
            last = s.scalar(text("SELECT max(id) FROM responses")) or 0
            link_answers(s, 1, int(last))
    return {"cases": opened, "recovery_answers": len(answers)}


def _one_case(rng: np.random.Generator, version: int, policy: dict[str, Any], rid: int, ref: str, customer: str,
              tp: str, team: str | None, at: dt.datetime, score: float
              ) -> tuple[Case, list[CaseEntry], tuple | None]:
    opened = at + dt.timedelta(seconds=int(rng.integers(30, 600)))
    agent = f"user:{AGENTS.get(team or '', 'agente@banca.example')}"
    entries = [CaseEntry(at=opened, actor="system", kind="status", new_value="new"),
               CaseEntry(at=opened, actor="system", kind="trigger", dedup_key=f"{RULE}:response:{rid}",
                         detail={"source": "response", "id": rid, "ref": ref, "at": at.isoformat(),
                                 "metric": "nps", "score": score})]
    # Wall-clock hours to the first successful call: lognormal, median about 30 h (60-65 % within 48 h).
    delay_h = float(np.exp(rng.normal(np.log(30), 0.9)))
    ack = opened + dt.timedelta(hours=min(delay_h / 3, 4))
    contact = opened + dt.timedelta(hours=delay_h)
    still_open = contact > UNTIL - dt.timedelta(days=1) or rng.random() < 0.02
    status, closed_at, cause, recovered, recovery = "acknowledged", None, None, None, None
    entries.append(CaseEntry(at=ack, actor=agent, kind="status", old_value="new", new_value="acknowledged"))
    if not still_open:
        if rng.random() < 0.3:  # a first attempt that did not reach the customer
            miss = opened + dt.timedelta(hours=delay_h * 0.5)
            entries.append(CaseEntry(at=max(miss, ack), actor=agent, kind="contact", new_value="no_answer",
                                     detail={"channel": "phone", "outcome": "no_answer"}))
        entries += [CaseEntry(at=contact, actor=agent, kind="contact", new_value="reached",
                              detail={"channel": "phone", "outcome": "reached"}),
                    CaseEntry(at=contact, actor=agent, kind="status", old_value="acknowledged",
                              new_value="contacted")]
        resolved = contact + dt.timedelta(hours=float(rng.gamma(2.0, 12.0)))
        keys, weights = zip(*CAUSES.get(tp, DEFAULT_CAUSES), strict=True)
        cause = str(rng.choice(keys, p=np.array(weights) / sum(weights)))
        fast = delay_h <= 48
        won = rng.random() < (RECOVER_FAST if fast else RECOVER_SLOW)
        recovered = bool(won or rng.random() < 0.15)
        entries.append(CaseEntry(at=resolved, actor=agent, kind="status", old_value="contacted",
                                 new_value="resolved", detail={"root_cause": cause, "recovered": recovered}))
        status, closed_at = "resolved", None
        if resolved + dt.timedelta(days=3) < UNTIL:
            closed_at = resolved + dt.timedelta(days=3)
            entries.append(CaseEntry(at=closed_at, actor=agent, kind="status", old_value="resolved",
                                     new_value="closed"))
            status = "closed"
        if rng.random() < ANSWER_RATE:
            nps = int(rng.integers(7, 11)) if won else int(rng.integers(0, 7))
            recovery = (resolved + dt.timedelta(hours=float(rng.uniform(2, 72))), nps, 4 if won else 2)
    case = Case(customer_key=customer, rule_key=RULE, rule_version=version, touchpoint=tp, team=team,
                priority="high", status=status, title="Detractor at a moment of truth", sla_policy=policy,
                opened_at=opened, updated_at=max(e.at for e in entries), closed_at=closed_at,
                trigger_kind="response", trigger_ref=ref, root_cause=cause, recovered=recovered, tags=[],
                open_key=f"{RULE}\x1f{customer}" if status not in ("resolved", "closed") else None)
    return case, entries, recovery
