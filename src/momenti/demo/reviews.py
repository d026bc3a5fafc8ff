"""The demo's outside-in weekly reviews: 24 months of activities for every team that owns touchpoints.

Planted truths (docs/demo-truths.md):
- each team works for the customer in a share of its activities of its own (`SHARES`; Digital banking 0.8,
  Operations carte 0.45 ...), rated higher on value when it touches a customer than when it does not;
- Digital banking records, in 2026-W18, the fix of the app login broken by the March release (an improvement
  at `app-login`): CSAT at app-login in the 8 weeks after is significantly higher than in the 8 weeks before
  (the release window of docs/demo-truths.md #2 ends on 2026-04-30);
- Rete filiali records, in 2025-W40, a new welcome script at `branch-visit` (an improvement) whose touchpoint
  metric did not move: nothing was planted there.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from sqlalchemy import func, select

from momenti.core.clock import utcnow
from momenti.store.access import Team
from momenti.store.models import Touchpoint
from momenti.store.story import ReviewActivity

FIRST_WEEK, LAST_WEEK = dt.date(2024, 11, 4), dt.date(2026, 10, 26)  # Mondays of the demo window
SHARES = {"Digital banking": 0.8, "Contact center": 0.75, "Rete filiali": 0.7, "Operations carte": 0.45,
          "Operations pagamenti": 0.4, "Customer experience": 0.6}
DEFAULT_SHARE = 0.55
PLANTED = (
    ("Digital banking", dt.date(2026, 4, 27), "app-login",
     "Correzione del login dell'app dopo il rilascio di marzo (versione 7.4.1)", (5, 5, 4)),
    ("Rete filiali", dt.date(2025, 9, 29), "branch-visit", "Nuovo copione di benvenuto in filiale", (3, 3, 4)),
)
CUSTOMER_WORK = ("Richiamati i clienti con reclamo aperto su {tp}", "Semplificato il modulo di {tp}",
                 "Risposto alle recensioni su {tp}", "Rivisto il messaggio di conferma di {tp}",
                 "Formazione del team sui casi di {tp}")
INTERNAL_WORK = ("Riunione di pianificazione interna", "Report mensile per la direzione",
                 "Aggiornamento delle procedure interne", "Migrazione degli strumenti del team")


def plant_reviews(ws: Any, seed: int = 42) -> int:
    """Write the demo's review activities (once: a second run adds nothing). Returns the activities added."""
    rng = np.random.default_rng(seed + 17)
    with ws.session() as s, s.begin():
        if s.scalar(select(func.count()).select_from(ReviewActivity).where(
                ReviewActivity.external_id.like("demo:review:%"))):
            return 0
        owned: dict[str, list[str]] = {}
        for key, team in s.execute(select(Touchpoint.key, Touchpoint.owner_team).where(
                Touchpoint.owner_team.is_not(None), Touchpoint.archived.is_(False)).order_by(Touchpoint.position)):
            owned.setdefault(team, []).append(key)
        known = set(s.scalars(select(Team.name)))
        now = utcnow()
        for team in sorted(owned):
            if team not in known:
                s.add(Team(name=team, created_at=now))
        rows = []
        for team, tps in sorted(owned.items()):
            share = SHARES.get(team, DEFAULT_SHARE)
            week = FIRST_WEEK
            while week <= LAST_WEEK:
                for k in range(int(rng.integers(2, 6))):
                    rows.append(_activity(rng, team, tps, share, week, k, now))
                week += dt.timedelta(weeks=1)
        for team, week, tp, what, (v, e, p) in PLANTED:
            if team in owned:
                rows.append(ReviewActivity(team=team, week_start=week, what=what, touchpoints=[tp], case_ids=[],
                                           improvement=True, value=v, ease=e, pleasantness=p, evidence=None,
                                           author="demo", created_at=now,
                                           external_id=f"demo:review:{team}:{week}:improvement"))
        s.add_all(rows)
    return len(rows)


def _activity(rng: np.random.Generator, team: str, tps: list[str], share: float, week: dt.date, k: int,
              now: dt.datetime) -> ReviewActivity:
    for_customer = bool(rng.random() < share)
    if for_customer:
        tp = tps[int(rng.integers(len(tps)))]
        what = CUSTOMER_WORK[int(rng.integers(len(CUSTOMER_WORK)))].format(tp=tp)
        value = int(np.clip(rng.normal(3.9, 0.8), 1, 5).round())
    else:
        tp, what = None, INTERNAL_WORK[int(rng.integers(len(INTERNAL_WORK)))]
        value = int(np.clip(rng.normal(2.3, 0.8), 1, 5).round())
    ease = int(np.clip(rng.normal(3.4, 0.9), 1, 5).round())
    pleasant = int(np.clip(rng.normal(3.5, 0.9), 1, 5).round())
    return ReviewActivity(team=team, week_start=week, what=what, touchpoints=[tp] if tp else [], case_ids=[],
                          improvement=False, value=value, ease=ease, pleasantness=pleasant, evidence=None,
                          author="demo", created_at=now, external_id=f"demo:review:{team}:{week}:{k}")
