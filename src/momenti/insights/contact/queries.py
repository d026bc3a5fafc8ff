"""Contact-centre queries: repeat_contacts, fcr, handling_time, complaint_rate, channel_switching,
contact_loyalty."""

from __future__ import annotations

from typing import Literal

from momenti.insights.query import Day, Dims, Query, ScopedQuery, register


@register
class RepeatContactsQuery(ScopedQuery):
    """Repeat contacts within `days` days, with a Wilson interval."""

    kind: Literal["repeat_contacts"] = "repeat_contacts"
    shortcut = "repeat_contacts"
    days: int = 7


@register
class FcrQuery(ScopedQuery):
    """First-contact resolution (100 - repeat rate)."""

    kind: Literal["fcr"] = "fcr"
    shortcut = "fcr"
    days: int = 7


@register
class HandlingTimeQuery(ScopedQuery):
    """Handling time per event or per contact, with a t-interval of the mean."""

    kind: Literal["handling_time"] = "handling_time"
    shortcut = "handling_time"
    per: Literal["event", "contact"] = "event"


@register
class ComplaintRateQuery(ScopedQuery):
    """Complaint rate of contacts or customers."""

    kind: Literal["complaint_rate"] = "complaint_rate"
    shortcut = "complaint_rate"
    unit: Literal["contacts", "customers"] = "contacts"
    touchpoints: Dims = None
    activities: Dims = None


@register
class ChannelSwitchingQuery(ScopedQuery):
    """Share switching from one channel to another within `days` days."""

    kind: Literal["channel_switching"] = "channel_switching"
    shortcut = "channel_switching"
    from_channel: str | None = None
    to_channel: str | None = None
    days: int = 7
    unit: Literal["customers", "contacts"] = "customers"
    same_reason: bool = False


@register
class ContactLoyaltyQuery(Query):
    """Loyalty by the repeated contacts or channel switches lived before answering."""

    kind: Literal["contact_loyalty"] = "contact_loyalty"
    shortcut = "contact_loyalty"
    by: Literal["repeats", "switches"] = "repeats"
    question: str = "nps"
    touchpoint: str | None = None
    days: int = 7
    window: str | float = "365d"
    start: Day = None
    end: Day = None
