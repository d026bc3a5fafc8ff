"""Key-driver estimators: Johnson relative weights, Shapley/LMG R² decomposition, penalty–reward analysis.

All three follow scikit-learn conventions: ``__init__`` only stores parameters, ``fit(X, y)`` validates and
returns ``self``, learned attributes end in ``_``. Inputs may be numpy arrays or pandas objects; DataFrame
column names are kept in ``feature_names_`` so results read as driver names rather than column numbers.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from momenti.errors import InputError


class DriverInputError(InputError, ValueError):
    """Bad input to a driver analysis. Also a ValueError so generic numeric callers can catch it."""


def _prepare(X: Any, y: Any, min_extra: int = 2) -> tuple[np.ndarray, np.ndarray, list[str], int]:
    """Validate inputs; drop incomplete rows listwise. Returns X, y, feature names, rows dropped."""
    names = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else None
    try:
        Xa = np.asarray(X, dtype=float)
        ya = np.asarray(y, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DriverInputError(f"drivers and outcome must be numeric: {exc}") from exc
    if Xa.ndim == 1:
        Xa = Xa[:, None]
    if Xa.ndim != 2:
        raise DriverInputError(f"X must be 2-dimensional (rows × drivers), got {Xa.ndim} dimensions")
    ya = ya.reshape(-1) if ya.ndim == 2 and 1 in ya.shape else ya
    if ya.ndim != 1:
        raise DriverInputError("y must be a single outcome column")
    if Xa.shape[0] != ya.shape[0]:
        raise DriverInputError(f"X has {Xa.shape[0]} rows but y has {ya.shape[0]}; they must match")
    p = Xa.shape[1]
    if p == 0:
        raise DriverInputError("X has no driver columns")
    names = names or [f"x{j}" for j in range(p)]
    # Listwise deletion keeps every statistic on the same respondents; pairwise deletion can produce a
    # correlation matrix that is not positive semi-definite, which breaks both decompositions.
    keep = np.isfinite(Xa).all(axis=1) & np.isfinite(ya)
    Xa, ya = Xa[keep], ya[keep]
    n = Xa.shape[0]
    if n < p + min_extra:
        raise DriverInputError(
            f"need at least {p + min_extra} complete rows for {p} drivers (drivers + {min_extra}), got {n}"
        )
    const = [names[j] for j in range(p) if np.ptp(Xa[:, j]) == 0]
    if const:
        raise DriverInputError(f"constant driver column(s) carry no information: {', '.join(const)}")
    if np.ptp(ya) == 0:
        raise DriverInputError("outcome y is constant; there is nothing to explain")
    return Xa, ya, names, int((~keep).sum())


def _corr(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    R = np.corrcoef(np.column_stack([X, y]), rowvar=False)
    return R[:-1, :-1], R[:-1, -1]


def _relative_weights(Rxx: np.ndarray, rxy: np.ndarray) -> np.ndarray:
    """Johnson (2000): raw relative weights from the correlation matrix; they sum to R²."""
    lam, V = np.linalg.eigh(Rxx)
    # Clip tiny negative eigenvalues from rounding; the square root would otherwise be NaN.
    lam_star = V @ np.diag(np.sqrt(np.clip(lam, 0.0, None))) @ V.T
    beta_star = np.linalg.lstsq(lam_star, rxy, rcond=None)[0]
    return (lam_star**2) @ (beta_star**2)


def _subset_r2(Rxx: np.ndarray, rxy: np.ndarray) -> np.ndarray:
    """R² of every subset of drivers, indexed by bitmask. Solved in batches per subset size for speed."""
    p = Rxx.shape[0]
    r2 = np.zeros(1 << p)
    for s in range(1, p + 1):
        idx = np.array(list(combinations(range(p), s)))
        sub = Rxx[idx[:, :, None], idx[:, None, :]]
        rhs = rxy[idx]
        try:
            sol = np.linalg.solve(sub, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            # Perfectly collinear subsets: the pseudo-inverse gives the (well-defined) projection R².
            sol = (np.linalg.pinv(sub) @ rhs[..., None])[..., 0]
        r2[(1 << idx).sum(axis=1)] = (rhs * sol).sum(axis=1)
    return r2


def _shapley_exact(Rxx: np.ndarray, rxy: np.ndarray) -> np.ndarray:
    """LMG: each driver's marginal R² gain averaged over all orderings, via subset weights s!(p-s-1)!/p!."""
    p = Rxx.shape[0]
    r2 = _subset_r2(Rxx, rxy)
    masks = np.arange(1 << p)
    size = np.array([bin(m).count("1") for m in masks])
    coef = np.array([math.factorial(s) * math.factorial(p - s - 1) / math.factorial(p) for s in range(p)])
    w = np.zeros(p)
    for j in range(p):
        without = masks[(masks >> j) & 1 == 0]
        w[j] = (coef[size[without]] * (r2[without | (1 << j)] - r2[without])).sum()
    return w


def _shapley_permutation(Rxx: np.ndarray, rxy: np.ndarray, n_perm: int, rng: np.random.Generator) -> np.ndarray:
    """Monte-Carlo LMG: average marginal gains over random orderings instead of all p! of them.

    Trick: with the drivers permuted into order π and Rπ = LLᵀ (Cholesky), z = L⁻¹ rπ gives the R² of
    every prefix of π as a cumulative sum of z², so z_k² is exactly the gain of adding the k-th driver.
    One Cholesky per ordering instead of p regressions. Each random ordering is paired with its reverse
    (antithetic sampling): a driver early in one is late in the other, which cancels much of the
    order-position noise. The estimate is unbiased and sums exactly to R² for every ordering.
    """
    p = Rxx.shape[0]
    half = max(1, (n_perm + 1) // 2)
    perms = np.argsort(rng.random((half, p)), axis=1)
    perms = np.concatenate([perms, perms[:, ::-1]])
    R = Rxx[perms[:, :, None], perms[:, None, :]]
    # A hair of ridge keeps Cholesky defined for (near-)collinear drivers; it moves R² by ~1e-12.
    R = R + np.eye(p) * 1e-12
    L = np.linalg.cholesky(R)
    z = np.linalg.solve(L, rxy[perms][..., None])[..., 0]
    w = np.zeros(p)
    np.add.at(w, perms.ravel(), (z**2).ravel())
    return w / perms.shape[0]


class _DriverImportance:
    """Shared fit/bootstrap/report logic for the two R² decompositions."""

    n_boot: int
    confidence: float
    random_state: int | None

    def _weights(self, Rxx: np.ndarray, rxy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def _check_params(self) -> None:
        if not 0 < self.confidence < 1:
            raise DriverInputError(f"confidence must be in (0, 1), got {self.confidence}")
        if self.n_boot < 0:
            raise DriverInputError(f"n_boot must be >= 0, got {self.n_boot}")

    def fit(self, X: Any, y: Any) -> _DriverImportance:
        self._check_params()
        Xa, ya, self.feature_names_, self.n_dropped_ = _prepare(X, y)
        self.n_ = Xa.shape[0]
        rng = np.random.default_rng(self.random_state)
        Rxx, rxy = _corr(Xa, ya)
        self.weights_ = self._weights(Rxx, rxy, rng)
        self.r2_ = float(self.weights_.sum())
        self.rank_ = _ranks(self.weights_)
        self.rescaled_ = 100.0 * self.weights_ / self.r2_ if self.r2_ > 0 else np.full_like(self.weights_, np.nan)
        self._bootstrap(Xa, ya, rng)
        return self

    def _bootstrap(self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> None:
        """Percentile intervals and rank stability from case resampling (rows drawn with replacement)."""
        p = X.shape[1]
        draws = []
        for _ in range(self.n_boot):
            idx = rng.integers(0, self.n_, self.n_)
            Xb, yb = X[idx], y[idx]
            # A resample can make a rare-valued column constant; its correlation is undefined, so skip it
            # rather than inventing a value. The count of usable resamples is reported in n_boot_used_.
            if (np.ptp(Xb, axis=0) == 0).any() or np.ptp(yb) == 0:
                continue
            draws.append(self._weights(*_corr(Xb, yb), rng))
        self.n_boot_used_ = len(draws)
        if not draws:
            self.ci_ = np.full((p, 2), np.nan)
            self.rank_stability_ = np.full(p, np.nan)
            return
        boot = np.array(draws)
        alpha = (1 - self.confidence) / 2
        self.ci_ = np.quantile(boot, [alpha, 1 - alpha], axis=0).T
        # Rank 1 = largest weight. Stability: how often the resampled data reproduce the reported rank,
        # which tells a reader whether "driver #2" is a finding or a coin flip with a close neighbour.
        boot_ranks = np.apply_along_axis(_ranks, 1, boot)
        self.rank_stability_ = (boot_ranks == self.rank_).mean(axis=0)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "driver": self.feature_names_,
                "weight": self.weights_,
                "rescaled_pct": self.rescaled_,
                "ci_low": self.ci_[:, 0],
                "ci_high": self.ci_[:, 1],
                "rank": self.rank_,
                "rank_stability": self.rank_stability_,
            }
        )


def _ranks(w: np.ndarray) -> np.ndarray:
    order = np.argsort(-w, kind="stable")
    ranks = np.empty(len(w), dtype=int)
    ranks[order] = np.arange(1, len(w) + 1)
    return ranks


class RelativeWeights(_DriverImportance):
    """Johnson (2000) relative weights: R² split across correlated drivers via an orthogonal proxy.

    Attributes: ``weights_`` (raw, sum to ``r2_``), ``rescaled_`` (% of R²), ``r2_``, ``ci_`` (p×2 bootstrap
    percentile interval of raw weights), ``rank_stability_``, ``n_``, ``n_dropped_``, ``feature_names_``.
    """

    def __init__(self, n_boot: int = 500, confidence: float = 0.95, random_state: int | None = None) -> None:
        self.n_boot = n_boot
        self.confidence = confidence
        self.random_state = random_state

    def _weights(self, Rxx: np.ndarray, rxy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return _relative_weights(Rxx, rxy)


class ShapleyR2(_DriverImportance):
    """Shapley / LMG decomposition of R²: each driver's marginal R² gain averaged over all orderings.

    Exact (all 2^p subsets) when p <= ``max_exact``; beyond that the cost doubles per driver, so the
    average is estimated from ``n_permutations`` random orderings (see ``_shapley_permutation``).
    ``method_`` records which was used. Other attributes as in ``RelativeWeights``.
    """

    def __init__(
        self,
        n_boot: int = 200,
        confidence: float = 0.95,
        max_exact: int = 15,
        n_permutations: int = 2000,
        random_state: int | None = None,
    ) -> None:
        self.n_boot = n_boot
        self.confidence = confidence
        self.max_exact = max_exact
        self.n_permutations = n_permutations
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> ShapleyR2:
        if self.n_permutations < 1:
            raise DriverInputError(f"n_permutations must be >= 1, got {self.n_permutations}")
        super().fit(X, y)
        self.method_ = "exact" if len(self.feature_names_) <= self.max_exact else "permutation"
        return self

    def _weights(self, Rxx: np.ndarray, rxy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if Rxx.shape[0] <= self.max_exact:
            return _shapley_exact(Rxx, rxy)
        return _shapley_permutation(Rxx, rxy, self.n_permutations, rng)


class PenaltyReward:
    """Penalty–reward (Kano-style) analysis with dummy-coded driver scores.

    For each driver two dummies, low (score <= ``low``) and high (score >= ``high``), the middle being the
    reference; all dummies for all drivers go into one OLS with intercept, so each coefficient is the
    outcome shift for that driver holding the others fixed. ``penalty_`` is the low-dummy coefficient
    (normally negative), ``reward_`` the high-dummy one. Defaults suit a 1–5 attribute scale (bottom-2 /
    top-2 box, as CSAT is scored); pass e.g. ``low=6, high=9`` for 0–10 scales.

    ``impact_asymmetry_`` = (reward − |penalty|) / (reward + |penalty|). Category: "basic" if IA <= −0.2,
    "excitement" if IA >= 0.2, else "performance". Why 0.2: IA = 0.2 is exactly where one side is 1.5× the
    other, so a driver is called asymmetric only when one effect is at least half as large again as the
    other; smaller gaps are within the noise of typical survey samples. Drivers with no low (or no high)
    scores get NaN for that effect and category "undetermined".
    """

    threshold = 0.2

    def __init__(self, low: float = 2, high: float = 4, confidence: float = 0.95) -> None:
        self.low = low
        self.high = high
        self.confidence = confidence

    def fit(self, X: Any, y: Any) -> PenaltyReward:
        if not self.low < self.high:
            raise DriverInputError(f"low ({self.low}) must be below high ({self.high})")
        if not 0 < self.confidence < 1:
            raise DriverInputError(f"confidence must be in (0, 1), got {self.confidence}")
        Xa, ya, self.feature_names_, self.n_dropped_ = _prepare(X, y)
        n, p = Xa.shape
        self.n_ = n
        low_d, high_d = (Xa <= self.low).astype(float), (Xa >= self.high).astype(float)
        # A dummy that is always 0 has no coefficient; leave it out and report NaN rather than fail.
        cols, slots = [np.ones(n)], []
        for j in range(p):
            for kind, d in (("penalty", low_d[:, j]), ("reward", high_d[:, j])):
                if d.any():
                    cols.append(d)
                    slots.append((kind, j))
        D = np.column_stack(cols)
        k = D.shape[1]
        if n <= k:
            raise DriverInputError(f"need more than {k} complete rows for {k - 1} low/high dummies, got {n}")
        if np.linalg.matrix_rank(D) < k:
            raise DriverInputError(
                "low/high dummies are collinear (e.g. a driver always low or always high, or two drivers "
                "with identical scoring); cannot separate their effects"
            )
        coef, *_ = np.linalg.lstsq(D, ya, rcond=None)
        resid = ya - D @ coef
        df = n - k
        sigma2 = float(resid @ resid) / df
        se = np.sqrt(np.diag(sigma2 * np.linalg.inv(D.T @ D)))
        tq = float(stats.t.ppf(0.5 + self.confidence / 2, df))
        out = {kind: (np.full(p, np.nan), np.full((p, 2), np.nan)) for kind in ("penalty", "reward")}
        for i, (kind, j) in enumerate(slots, start=1):
            out[kind][0][j] = coef[i]
            out[kind][1][j] = (coef[i] - tq * se[i], coef[i] + tq * se[i])
        self.penalty_, self.penalty_ci_ = out["penalty"]
        self.reward_, self.reward_ci_ = out["reward"]
        self.intercept_ = float(coef[0])
        self.r2_ = 1 - float(resid @ resid) / float(((ya - ya.mean()) ** 2).sum())
        denom = self.reward_ + np.abs(self.penalty_)
        with np.errstate(invalid="ignore", divide="ignore"):
            # A non-positive denominator means neither effect points the expected way; IA is meaningless.
            self.impact_asymmetry_ = np.where(denom > 0, (self.reward_ - np.abs(self.penalty_)) / denom, np.nan)
        self.category_ = np.array([self._category(ia) for ia in self.impact_asymmetry_], dtype=object)
        return self

    def _category(self, ia: float) -> str:
        if not np.isfinite(ia):
            return "undetermined"
        if ia <= -self.threshold:
            return "basic"
        if ia >= self.threshold:
            return "excitement"
        return "performance"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "driver": self.feature_names_,
                "penalty": self.penalty_,
                "penalty_ci_low": self.penalty_ci_[:, 0],
                "penalty_ci_high": self.penalty_ci_[:, 1],
                "reward": self.reward_,
                "reward_ci_low": self.reward_ci_[:, 0],
                "reward_ci_high": self.reward_ci_[:, 1],
                "impact_asymmetry": self.impact_asymmetry_,
                "category": self.category_,
            }
        )
