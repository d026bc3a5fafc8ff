"""Answers of the contact-centre KPIs: GET /api/v1/contact/fcr, /repeats, /aht, /complaints, /switching.

Every answer is `{"kpi", "query", "rows"}`; rows start with the group columns of `by` and `period`."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from momenti.server.schemas.base import Count, Num, OpenRow


class ContactQuery(BaseModel):
    """The request as understood; the KPI's own options follow the common ones."""

    model_config = ConfigDict(populate_by_name=True)
    by: list[str]
    period: str | None
    from_: dt.date | None = Field(None, alias="from")
    to: dt.date | None
    filters: dict[str, list[str]]
    days: int | None = Field(None, description="fcr, repeats, switching: window N in days")
    per: str | None = Field(None, description="aht: event or contact")
    unit: str | None = Field(None, description="complaints, switching: customers or contacts")
    from_channel: str | None = None
    to_channel: str | None = None
    same_reason: bool | None = None


class _KpiRow(OpenRow):
    n: int = Field(..., description="Contacts (or customers) judged")


class FcrRow(_KpiRow):
    repeats: Count
    fcr: Num = Field(..., description="First-contact resolution %, 100 - repeat rate")
    ci_low: Num
    ci_high: Num
    censored: Count = Field(..., description="Contacts too recent to judge, not in n")
    small_sample: bool


class RepeatsRow(_KpiRow):
    repeats: Count
    repeat_rate: Num = Field(..., description="% followed by a same-reason contact within `days`")
    ci_low: Num
    ci_high: Num
    censored: Count
    small_sample: bool


class AhtRow(_KpiRow):
    mean_s: Num
    ci_low: Num
    ci_high: Num
    sd_s: Num
    median_s: Num
    p90_s: Num
    small_sample: bool


class ComplaintsRow(_KpiRow):
    complaints: Count
    complaint_rate: Num
    ci_low: Num
    ci_high: Num
    small_sample: bool


class SwitchingRow(OpenRow):
    from_channel: str
    to_channel: str
    n: int
    switched: Count
    switch_rate: Num
    ci_low: Num
    ci_high: Num
    censored: Count
    small_sample: bool


class _KpiPublic(BaseModel):
    kpi: str
    query: ContactQuery


class FcrPublic(_KpiPublic):
    rows: list[FcrRow]


class RepeatsPublic(_KpiPublic):
    rows: list[RepeatsRow]


class AhtPublic(_KpiPublic):
    rows: list[AhtRow]


class ComplaintsPublic(_KpiPublic):
    rows: list[ComplaintsRow]


class SwitchingPublic(_KpiPublic):
    rows: list[SwitchingRow]
