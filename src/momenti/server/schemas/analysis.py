"""Answers of the moments-of-truth analyses (GET /api/v1/analysis/drivers, /quadrant, /penalty-reward,
/dissonance) and of the loyalty bank (GET /api/v1/analysis/loyalty-bank)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from momenti.server.schemas.base import Count, Num, OpenRow, Row


class DriverRow(OpenRow):
    driver: str
    question: str | None = None
    weight: Num = Field(None, description="Share of r2 (the weights sum to r2)")
    rescaled_pct: Num = Field(None, description="Weight as % of r2")
    ci_low: Num = None
    ci_high: Num = None
    rank: Count = None
    rank_stability: Num = Field(None, description="Share of bootstrap resamples giving this rank")
    n: Count = None
    n_respondents: Count = None
    r2: Num = None
    method: str | None = None
    missing: str | None = None
    shrinkage: Num = Field(None, description="Pairwise repair of the correlation matrix (0 = none)")
    n_boot: Count = None
    small_sample: bool | None = None
    note: str | None = None


class DriversPublic(BaseModel):
    analysis: str
    outcome: str
    method: str
    missing: str
    bootstrap: int
    seed: int
    rows: list[DriverRow]


class QuadrantRow(OpenRow):
    driver: str
    question: str | None = None
    importance: Num = None
    n: Count = None
    importance_ci_low: Num = None
    importance_ci_high: Num = None
    performance: Num = None
    performance_ci_low: Num = None
    performance_ci_high: Num = None
    performance_n: Count = None
    performance_measure: str | None = None
    quadrant: str | None = None
    importance_cut: Num = None
    performance_cut: Num = None
    declared_mot: bool | None = Field(None, description="Declared a moment of truth in the journey map")
    revealed_mot: bool | None = Field(None, description="High importance in the data")
    mot_agreement: str | None = None


class QuadrantPublic(BaseModel):
    analysis: str
    outcome: str
    rows: list[QuadrantRow]


class PenaltyRewardRow(OpenRow):
    driver: str
    question: str | None = None
    penalty: Num = None
    penalty_ci_low: Num = None
    penalty_ci_high: Num = None
    reward: Num = None
    reward_ci_low: Num = None
    reward_ci_high: Num = None
    impact_asymmetry: Num = None
    ia_ci_low: Num = None
    ia_ci_high: Num = None
    category: str | None = None
    n: Count = None
    n_respondents: Count = None
    r2: Num = None
    low: Num = None
    high: Num = None
    missing: str | None = None
    small_sample: bool | None = None
    note: str | None = None


class PenaltyRewardPublic(BaseModel):
    analysis: str
    outcome: str
    missing: str
    rows: list[PenaltyRewardRow]


class DissonanceRow(Row):
    """One touchpoint: the outcome of answers with only it negative against answers all positive."""

    driver: str
    question: str | None = None
    effect: Num = None
    ci_low: Num = None
    ci_high: Num = None
    p_value: Num = None
    n_single_negative: Count = None
    n_all_positive: Count = None
    mean_single_negative: Num = None
    mean_all_positive: Num = None
    significant: bool | None = None
    small_sample: bool | None = None
    negative_max: Num = None
    specification: str | None = None


class WeakestLinkRow(Row):
    """One model of the outcome: on the mean rating, on the weakest (minimum) rating, or on both."""

    model: str
    formula: str | None = None
    n: Count = None
    r2: Num = None
    adj_r2: Num = None
    aic: Num = None
    bic: Num = None
    delta_aic_vs_mean: Num = None
    coef_mean: Num = None
    coef_min: Num = None
    min_ci_low: Num = None
    min_ci_high: Num = None
    min_p_value: Num = None
    f_vs_mean: Num = None
    f_p_value: Num = None


class DissonancePublic(BaseModel):
    analysis: str
    outcome: str
    touchpoints: list[DissonanceRow]
    models: list[WeakestLinkRow]


class LoyaltyTrendPublic(BaseModel):
    """Slope of the score per extra positive moment (empty when there is too little data)."""

    n: Num = None
    slope: Num = None
    ci_low: Num = None
    ci_high: Num = None
    p_value: Num = None
    r: Num = None


class LoyaltyBankRow(OpenRow):
    """One bucket; the score columns are the outcome's (as in /api/v1/metrics)."""

    positive_moments: str = Field(..., description="Bucket of positive moments lived before, e.g. 0, 1, 3-4, 8+")
    n: int
    mean_moments: Num = None
    promoters: Count = None
    passives: Count = None
    detractors: Count = None
    satisfied: Count = None
    easy: Count = None
    sd: Num = None
    easy_pct: Num = None
    easy_ci_low: Num = None
    easy_ci_high: Num = None
    mean_score: Num = None
    nps: Num = None
    csat: Num = None
    ces: Num = None
    ci_low: Num = None
    ci_high: Num = None
    small_sample: bool


class LoyaltyBankPublic(BaseModel):
    outcome: str
    touchpoint: str | None
    trend: LoyaltyTrendPublic
    rows: list[LoyaltyBankRow]
