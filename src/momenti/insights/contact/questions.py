"""Contact-centre KPIs: repeat contacts, first-contact resolution, handling time, complaints, channel switching.

Every method takes the same group/filter arguments:
- `by`: a list (or comma string) of reason, channel, agent, touchpoint, segment:<attribute> (handling time per
  event also activity); `period`: day, week, month, quarter or year of the contact's start;
- `start` / `end`: first and last day (inclusive) of the contacts judged (their follow-ups may come later);
- `filters`: {dimension: [values]}, or the same as keyword arguments (`channel="phone"`,
  `reason=["carta bloccata"]`).
Definitions are in `momenti.insights.contact.kpis` and docs/contact-centre.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from momenti.core.args import as_date, parse_filters
from momenti.insights.base import WorkspaceQuestions
from momenti.insights.contact import channels as _channels
from momenti.insights.contact import kpis as _contact

if TYPE_CHECKING:
    from momenti.core.config import Settings

By = Sequence[str] | str | None
Filters = Mapping[str, Sequence[str] | str] | None
DateLike = dt.date | str | None


class ContactQuestions(WorkspaceQuestions):
    """Mixed into momenti.Workspace (self is a Workspace: self.warehouse(), self.settings)."""

    settings: Settings

    if TYPE_CHECKING:
        def warehouse(self):  # noqa: ANN201 - provided by Workspace (a context manager)
            ...

    def _contact_query(self, allowed: Sequence[str], by: By, period: str | None, start: DateLike, end: DateLike,
                       filters: Filters, more: Mapping[str, Sequence[str] | str], days: int = 7,
                       ) -> _contact.ContactQuery:
        merged = {**parse_filters(filters), **more}
        return _contact.ContactQuery.build(allowed, by, period, start, end, merged, days)

    def _stats(self) -> dict[str, float]:
        return {"confidence": self.settings.confidence, "min_n": self.settings.min_n}

    def repeat_contacts(self, days: int = 7, by: By = None, period: str | None = None, start: DateLike = None,
                        end: DateLike = None, filters: Filters = None, **more: Sequence[str] | str) -> pd.DataFrame:
        """Repeat contacts per group: a contact (a case with a reason, timed at its first event) is repeated
        when the same customer contacts again about the same reason, in any channel, within `days` days.

        Columns: the keys, `n` (contacts at least `days` old: judged), `repeats`, `repeat_rate` (%),
        `ci_low`, `ci_high` (Wilson), `censored` (contacts too recent to judge, left out of n),
        `small_sample` (n < settings.min_n)."""
        q = self._contact_query(_contact.CONTACT_DIMENSIONS, by, period, start, end, filters, more, days)
        with self.warehouse() as wh:
            return _contact.repeat_contacts(wh, q, **self._stats())

    def fcr(self, days: int = 7, by: By = None, period: str | None = None, start: DateLike = None,
            end: DateLike = None, filters: Filters = None, **more: Sequence[str] | str) -> pd.DataFrame:
        """First-contact resolution = 100 - repeat rate, on contacts at least `days` old (right-censoring).

        Columns: the keys, `n`, `repeats`, `fcr` (%), `ci_low`, `ci_high` (Wilson), `censored`,
        `small_sample`."""
        q = self._contact_query(_contact.CONTACT_DIMENSIONS, by, period, start, end, filters, more, days)
        with self.warehouse() as wh:
            return _contact.fcr(wh, q, **self._stats())

    def handling_time(self, by: By = None, period: str | None = None, per: str = "event", start: DateLike = None,
                      end: DateLike = None, filters: Filters = None, **more: Sequence[str] | str) -> pd.DataFrame:
        """Handling time from `duration_s`, in seconds: `per="event"` over timed events (IVR, queue, talk,
        desk steps; group by activity too), `per="contact"` over contacts (the sum of their timed events).

        Columns: the keys, `n`, `mean_s`, `ci_low`, `ci_high` (t-interval of the mean), `sd_s`, `median_s`,
        `p90_s`, `small_sample`."""
        allowed = _contact.EVENT_DIMENSIONS if per == "event" else _contact.CONTACT_DIMENSIONS
        q = self._contact_query(allowed, by, period, start, end, filters, more)
        with self.warehouse() as wh:
            return _contact.handling_time(wh, q, per, **self._stats())

    def complaint_rate(self, by: By = None, period: str | None = None, unit: str = "contacts",
                       touchpoints: Sequence[str] | None = None, activities: Sequence[str] | None = None,
                       start: DateLike = None, end: DateLike = None, filters: Filters = None,
                       **more: Sequence[str] | str) -> pd.DataFrame:
        """Complaint rate. A complaint is a case with an event at a complaint touchpoint (default: journey
        touchpoints whose key contains "complaint" or "reclam") or with one of `activities`.

        `unit="contacts"`: complaint cases / contacts (cases with a reason, plus complaint cases), by the
        contact's reason, channel, agent, touchpoint, segment, period. `unit="customers"`: customers with a
        complaint case / customers with any case (active customers) in the group, by period and segment.
        Columns: the keys, `n`, `complaints`, `complaint_rate` (%), `ci_low`, `ci_high` (Wilson),
        `small_sample`."""
        q = self._contact_query(_contact.CONTACT_DIMENSIONS, by, period, start, end, filters, more)
        with self.warehouse() as wh:
            return _channels.complaint_rate(wh, q, unit, touchpoints, activities, **self._stats())

    def channel_switching(self, from_channel: str | None = None, to_channel: str | None = None, days: int = 7,
                          by: By = None, period: str | None = None, unit: str = "customers",
                          same_reason: bool = False, start: DateLike = None, end: DateLike = None,
                          filters: Filters = None, matrix: bool = False, **more: Sequence[str] | str) -> pd.DataFrame:
        """Share of customers (or of interactions, `unit="contacts"`) who start an interaction in
        `from_channel` and start another one in `to_channel` within `days` days. Without a from/to channel:
        every pair (the from x to matrix as a long table; `momenti.insights.contact.channels.switching_matrix`
        pivots it); `to_channel="*"`: any other channel. `same_reason`: contacts with a reason only, and the
        later one about the same reason.

        Columns: the keys, `from_channel`, `to_channel`, `n`, `switched`, `switch_rate` (%), `ci_low`,
        `ci_high` (Wilson), `censored`, `small_sample`. `matrix`: the from x to table of switch rates instead
        (rows: from, columns: to; no `by`/`period`)."""
        q = self._contact_query(_contact.CONTACT_DIMENSIONS, by, period, start, end, filters, more, days)
        with self.warehouse() as wh:
            df = _channels.channel_switching(wh, q, from_channel, to_channel, unit, same_reason, **self._stats())
        return _channels.switching_matrix(df) if matrix else df

    def contact_loyalty(self, by: str = "repeats", question: str = "nps", touchpoint: str | None = None,
                        days: int = 7, window: object = "365d", start: DateLike = None,
                        end: DateLike = None) -> pd.DataFrame:
        """Loyalty by contact experience: the `question`'s score (NPS adjusted-Wald, CSAT Wilson, CES t) of
        answers grouped by how many repeated contacts (by="repeats") or channel switches (by="switches")
        the customer lived in the `window` before answering: buckets 0 / 1 / 2+, with n and small_sample.
        `touchpoint` restricts the answers (e.g. "relationship-survey")."""
        from momenti.insights.contact.loyalty import contact_loyalty
        from momenti.insights.paths.mining import parse_duration

        window_s = parse_duration(window, "window") or 365 * 86400  # type: ignore[arg-type]
        with self.warehouse() as wh:
            return contact_loyalty(wh, by, question, touchpoint, days, max(1, round(window_s / 86400)),
                                   as_date(start), as_date(end), self.settings.confidence, self.settings.min_n)
