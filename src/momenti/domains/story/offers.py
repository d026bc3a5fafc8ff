"""Offers proposed to customers and the offer rule: an offer the customer declined `offer_max_declines` times
in the last `offer_lookback_days` (settings) is not proposed again; one they accepted in that window they
already have. The same check answers the timeline's warning, the agent's form and a CRM's
`GET /api/v1/customers/{id}/offers/check`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from momenti.core.clock import utcnow
from momenti.core.errors import InputError
from momenti.ingest.specs import OFFER_OUTCOMES
from momenti.store.outbox import emit_sql
from momenti.store.story import Offer


@dataclass(frozen=True)
class OfferRule:
    lookback_days: int = 180
    max_declines: int = 3

    @classmethod
    def of(cls, settings: Any) -> OfferRule:
        return cls(settings.offer_lookback_days, settings.offer_max_declines)


def offers_of(session: Session, customer: str, since: dt.datetime | None = None) -> list[Offer]:
    stmt = select(Offer).where(Offer.customer_key == customer)
    if since is not None:
        stmt = stmt.where(Offer.proposed_at >= since)
    return list(session.scalars(stmt.order_by(Offer.proposed_at.desc(), Offer.id.desc())))


def _norm(name: str) -> str:
    return " ".join(name.strip().lower().split())


def verdict(offers: list[Offer], offer: str, rule: OfferRule, now: dt.datetime) -> dict[str, Any]:
    """{"allowed", "reason", "offer", "declined", "proposed", "last_proposed_at"} for one offer name, from the
    customer's offers (any order)."""
    want = _norm(offer)
    if not want:
        raise InputError("offer: give the offer's name")
    since = now - dt.timedelta(days=rule.lookback_days)
    same = sorted((o for o in offers if _norm(o.offer) == want and o.proposed_at >= since),
                  key=lambda o: o.proposed_at)
    declined = [o for o in same if o.outcome == "declined"]
    accepted = [o for o in same if o.outcome == "accepted"]
    out: dict[str, Any] = {"offer": offer, "allowed": True, "proposed": len(same), "declined": len(declined),
                           "last_proposed_at": same[-1].proposed_at if same else None,
                           "lookback_days": rule.lookback_days}
    if accepted:
        out.update(allowed=False, reason=f"accepted on {accepted[-1].proposed_at:%Y-%m-%d}: the customer has it")
    elif len(declined) >= rule.max_declines:
        out.update(allowed=False, reason=f"declined {len(declined)} times since {declined[0].proposed_at:%Y-%m-%d} "
                                         f"(last {declined[-1].proposed_at:%Y-%m-%d}): do not propose again")
    elif declined:
        out["reason"] = (f"declined {len(declined)} time{'s' if len(declined) > 1 else ''} in the last "
                         f"{rule.lookback_days} days ({rule.max_declines} declines stop it)")
    else:
        out["reason"] = (f"proposed {len(same)} times, never declined, in the last {rule.lookback_days} days" if same
                         else f"not proposed in the last {rule.lookback_days} days")
    return out


def check(session: Session, customer: str, offer: str, rule: OfferRule, now: dt.datetime | None = None
          ) -> dict[str, Any]:
    now = now or utcnow()
    return verdict(offers_of(session, customer, now - dt.timedelta(days=rule.lookback_days)), offer, rule, now)


def summary(offers: list[Offer], rule: OfferRule, now: dt.datetime) -> list[dict[str, Any]]:
    """Per offer name proposed in the window: counts by outcome and the verdict (the timeline's header)."""
    since = now - dt.timedelta(days=rule.lookback_days)
    names: dict[str, str] = {}
    for o in offers:
        if o.proposed_at >= since:
            names.setdefault(_norm(o.offer), o.offer)
    out = []
    for name in names.values():
        v = verdict(offers, name, rule, now)
        counts = {k: 0 for k in OFFER_OUTCOMES}
        for o in offers:
            if _norm(o.offer) == _norm(name) and o.proposed_at >= since:
                counts[o.outcome] = counts.get(o.outcome, 0) + 1
        out.append({"offer": name, **counts, "last_proposed_at": v["last_proposed_at"], "allowed": v["allowed"],
                    "reason": v["reason"]})
    return sorted(out, key=lambda r: (r["allowed"], r["offer"]))


def log_offer(session: Session, customer: str, offer: str, outcome: str, actor: str, channel: str | None = None,
              proposed_at: dt.datetime | None = None, rule: OfferRule | None = None) -> tuple[Offer, dict[str, Any]]:
    """An offer an agent proposed (from the timeline): recorded whatever the rule says (it happened), with the
    rule's verdict as it stood before, so the page can warn that it should not have been proposed."""
    outcome = (outcome or "pending").strip().lower()
    if outcome not in OFFER_OUTCOMES:
        raise InputError(f"outcome {outcome!r}: choose one of {', '.join(OFFER_OUTCOMES)}")
    if not offer.strip() or len(offer) > 200:
        raise InputError("offer: 1 to 200 characters")
    now = utcnow()
    before = check(session, customer, offer, rule or OfferRule(), now)
    row = Offer(external_id=f"staff:{uuid.uuid4().hex}", customer_key=customer, offer=offer.strip(),
                channel=(channel or None) and channel.strip().lower()[:50], agent=actor[:100],
                proposed_at=proposed_at or now, outcome=outcome, seq=0)
    session.add(row)
    session.flush()
    session.execute(*_event(row))
    return row, before


def _event(row: Offer) -> tuple[Any, dict[str, Any]]:
    from sqlalchemy import text

    sql, params = emit_sql("offer.recorded", {"table": "offers", "first_id": row.id, "last_id": row.id})
    return text(sql), params
