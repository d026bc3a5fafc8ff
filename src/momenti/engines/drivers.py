"""Key-driver estimators: Johnson relative weights and the Shapley/LMG R² decomposition (penalty–reward analysis,
which shares the input checks below, is in ``momenti.engines.penalty_reward``).

All follow scikit-learn conventions: ``__init__`` only stores parameters, ``fit(X, y)`` validates and
returns ``self``, learned attributes end in ``_``. Inputs may be numpy arrays or pandas objects; DataFrame
column names are kept in ``feature_names_`` so results read as driver names rather than column numbers.
``sample_weight`` is a frequency weight: a row with weight 3 counts as three identical respondents (the
workspace collapses identical answers in the database and sends each distinct row once with its count).

Missing driver scores (NaN) are handled as ``missing`` says, and the choice is kept in ``missing_``:
- ``"listwise"``: only respondents with every driver and the outcome; all statistics on the same people.
- ``"pairwise"``: each correlation on the respondents who have both variables. Keeps far more data when
  drivers are touchpoints not everyone lives, but the matrix mixes different respondents and need not be
  positive definite: it is then shrunk toward the identity just enough to be (``shrinkage_`` > 0 says so;
  see ``bootstrap.repair_psd``).
The computation runs on moments (counts, sums, cross-products; ``momenti.engines.bootstrap``): ``fit`` takes
them from the rows, ``fit_moments`` from sums computed elsewhere (a database), and the bootstrap resamples
rows as weighted moments, all resamples of a block in one matrix product.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from momenti.core.errors import InputError
from momenti.engines import bootstrap as bs

MISSING = ("listwise", "pairwise")


class DriverInputError(InputError, ValueError):
    """Bad input to a driver analysis. Also a ValueError so generic numeric callers can catch it."""


def as_arrays(X: Any, y: Any, sample_weight: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    names = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else None
    try:
        Xa = np.asarray(X, dtype=float)
        ya = np.asarray(y, dtype=float)
        wa = np.ones(len(ya)) if sample_weight is None else np.asarray(sample_weight, dtype=float).reshape(-1)
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
    if wa.shape[0] != ya.shape[0]:
        raise DriverInputError(f"sample_weight has {wa.shape[0]} values for {ya.shape[0]} rows")
    if (wa < 0).any() or not np.all(np.isfinite(wa)) or not np.allclose(wa, np.round(wa)):
        raise DriverInputError("sample_weight must be non-negative whole numbers (counts of identical rows)")
    if Xa.shape[1] == 0:
        raise DriverInputError("X has no driver columns")
    return Xa, ya, wa, names or [f"x{j}" for j in range(Xa.shape[1])]


def spread(v: np.ndarray) -> float:
    return float(v.max() - v.min()) if v.size else 0.0


def _prepare(X: Any, y: Any, sample_weight: Any = None, missing: str = "listwise",
             min_extra: int = 2) -> tuple[np.ndarray, np.ndarray, list[str], int, bool]:
    """Validate; returns Z = [X | y] (NaN = missing), row counts, names, rows dropped, pairwise-needed."""
    if missing not in MISSING:
        raise DriverInputError(f"missing must be one of {', '.join(MISSING)}, got {missing!r}")
    Xa, ya, wa, names = as_arrays(X, y, sample_weight)
    p = Xa.shape[1]
    present = np.isfinite(Xa)
    if missing == "listwise":
        keep = present.all(axis=1) & np.isfinite(ya)
    else:
        keep = present.any(axis=1) & np.isfinite(ya)
    keep &= wa > 0
    n_dropped = int(wa[~keep].sum())
    Z, w = np.column_stack([Xa, ya])[keep], wa[keep]
    pairwise = missing == "pairwise" and not np.isfinite(Z).all()
    if pairwise:
        M = np.isfinite(Z).astype(float)
        N = (M * w[:, None]).T @ M
        bad = [(names[j], names[k]) for j in range(p) for k in range(j + 1, p) if N[j, k] < 3]
        if bad:
            pairs = ", ".join(f"{a}+{b}" for a, b in bad[:5])
            raise DriverInputError(f"pairwise: fewer than 3 respondents have both of {pairs}"
                                   f"{' …' if len(bad) > 5 else ''}; drop one of each pair or add data")
        few = [names[j] for j in range(p) if N[j, p] < min_extra + 1]
        if few:
            raise DriverInputError(f"pairwise: fewer than {min_extra + 1} respondents rated {', '.join(few)}")
    elif w.sum() < p + min_extra:
        raise DriverInputError(
            f"need at least {p + min_extra} complete rows for {p} drivers (drivers + {min_extra}), got {int(w.sum())}"
        )
    const = [names[j] for j in range(p) if spread(Z[np.isfinite(Z[:, j]), j]) == 0]
    if const:
        raise DriverInputError(f"constant driver column(s) carry no information: {', '.join(const)}")
    if np.ptp(Z[:, p]) == 0:
        raise DriverInputError("outcome y is constant; there is nothing to explain")
    return Z, w, names, n_dropped, pairwise


def _shapley_permutation(Rxx: np.ndarray, rxy: np.ndarray, n_perm: int, rng: np.random.Generator) -> np.ndarray:
    """Monte-Carlo LMG: average marginal gains over random orderings instead of all p! of them.

    Trick: with the drivers permuted into order π and Rπ = LLᵀ (Cholesky), z = L⁻¹ rπ gives the R² of
    every prefix of π as a cumulative sum of z², so z_k² is exactly the gain of adding the k-th driver.
    One Cholesky per ordering instead of p regressions. Each random ordering is paired with its reverse
    (antithetic sampling): a driver early in one is late in the other, which cancels much of the
    order-position noise. The estimate is unbiased and sums exactly to R² for every ordering; with the
    default 2000 orderings its error is typically below 0.005 of R² (tests/test_drivers.py checks it
    against the exact value).
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
    missing: str
    psd_floor: float

    def _weights(self, Rxx: np.ndarray, rxy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Weights for correlation matrices batched over leading dimensions."""
        raise NotImplementedError

    def _check_params(self) -> None:
        if not 0 < self.confidence < 1:
            raise DriverInputError(f"confidence must be in (0, 1), got {self.confidence}")
        if self.n_boot < 0:
            raise DriverInputError(f"n_boot must be >= 0, got {self.n_boot}")
        if self.missing not in MISSING:
            raise DriverInputError(f"missing must be one of {', '.join(MISSING)}, got {self.missing!r}")

    def _corr(self, moments: bs.Moments, pairwise: bool) -> tuple[np.ndarray, np.ndarray]:
        R = bs.correlation(moments)
        if pairwise:
            ok = np.isfinite(R).all(axis=(-1, -2))
            R = np.where(ok[..., None, None], R, np.eye(R.shape[-1]))
            R, shrink = bs.repair_psd(R, self.psd_floor)
            return np.where(ok[..., None, None], R, np.nan), shrink
        return R, np.zeros(R.shape[:-2])

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> _DriverImportance:
        self._check_params()
        Z, w, names, n_dropped, pairwise = _prepare(X, y, sample_weight, self.missing)
        self.fit_moments(bs.row_moments(Z, w, pairwise), names, pairwise=pairwise)
        self.n_dropped_ = n_dropped
        self.resample(Z, w, _checked=pairwise)
        return self

    def fit_moments(self, moments: bs.Moments, feature_names: list[str], pairwise: bool | None = None,
                    ) -> _DriverImportance:
        """Point estimate from moments (N, S, SS, C), each (p+1)×(p+1) with the outcome last.

        For sums computed elsewhere (the warehouse's GROUP BY): the same answer ``fit`` gives on the rows.
        ``pairwise`` defaults to the estimator's ``missing``. No intervals: call ``resample`` with rows.
        """
        self._check_params()
        pairwise = self.missing == "pairwise" if pairwise is None else pairwise
        p = len(feature_names)
        N = np.asarray(moments[0], dtype=float)
        if N.shape != (p + 1, p + 1):
            raise DriverInputError(f"moments must be {p + 1}×{p + 1} (drivers + outcome), got {N.shape}")
        if pairwise:
            bad = [(feature_names[j], feature_names[k]) for j in range(p) for k in range(j + 1, p) if N[j, k] < 3]
            if bad:
                pairs = ", ".join(f"{a}+{b}" for a, b in bad[:5])
                raise DriverInputError(f"pairwise: fewer than 3 respondents have both of {pairs}"
                                       f"{' …' if len(bad) > 5 else ''}; drop one of each pair or add data")
        elif N[p, p] < p + 2:
            raise DriverInputError(f"need at least {p + 2} complete rows for {p} drivers (drivers + 2), "
                                   f"got {int(N[p, p])}")
        R, shrink = self._corr(tuple(np.asarray(m, dtype=float) for m in moments), pairwise)  # type: ignore[arg-type]
        if not np.isfinite(R).all():
            raise DriverInputError("a correlation is undefined (a constant column or a pair with < 2 respondents)")
        self.feature_names_ = list(feature_names)
        self.missing_ = "pairwise" if pairwise else "listwise"
        self.shrinkage_ = float(shrink)
        self.pair_n_ = N[:p, p].astype(int)
        self.n_ = int(N[p, p])
        self.n_dropped_ = 0
        self.correlation_ = R
        self.weights_ = np.asarray(self._weights(R[:p, :p], R[:p, p], np.random.default_rng(self.random_state)))
        self.r2_ = float(self.weights_.sum())
        self.rank_ = bs.ranks(self.weights_)
        self.rescaled_ = 100.0 * self.weights_ / self.r2_ if self.r2_ > 0 else np.full_like(self.weights_, np.nan)
        self.ci_ = np.full((p, 2), np.nan)
        self.rank_stability_ = np.full(p, np.nan)
        self.n_boot_used_ = 0
        return self

    def resample(self, X: Any, y: Any = None, sample_weight: Any = None, *, _checked: bool | None = None,
                 ) -> _DriverImportance:
        """Bootstrap percentile intervals (``ci_``) and rank stability for a fitted estimator.

        Respondents are resampled with replacement (see ``momenti.engines.bootstrap`` for the scheme),
        ``n_boot`` times, seeded by ``random_state``: the same seed gives the same intervals.
        """
        if _checked is None:
            Z, w, _, _, pairwise = _prepare(X, y, sample_weight, self.missing_)
        else:
            Z, w, pairwise = X, y, _checked
        p = len(self.feature_names_)
        self.ci_ = np.full((p, 2), np.nan)
        self.rank_stability_ = np.full(p, np.nan)
        self.n_boot_used_ = 0
        if self.n_boot == 0:
            return self
        rng = np.random.default_rng(self.random_state)
        R, _ = self._corr(bs.boot_moments(Z, w, pairwise, self.n_boot, rng), pairwise)
        # A resample can make a rare-valued column constant (or a pair empty); its correlation is undefined,
        # so that resample is skipped rather than given an invented value; n_boot_used_ counts the rest.
        R = R[np.isfinite(R).all(axis=(-1, -2))]
        self.n_boot_used_ = len(R)
        if not len(R):
            return self
        boot = np.asarray(self._weights(R[:, :p, :p], R[:, :p, p], rng))
        alpha = (1 - self.confidence) / 2
        self.ci_ = np.quantile(boot, [alpha, 1 - alpha], axis=0).T
        # Rank 1 = largest weight. Stability: how often the resampled data reproduce the reported rank,
        # which tells a reader whether "driver #2" is a finding or a coin flip with a close neighbour.
        self.rank_stability_ = (bs.ranks(boot) == self.rank_).mean(axis=0)
        return self

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
                "n": self.pair_n_,
            }
        )


class RelativeWeights(_DriverImportance):
    """Johnson (2000) relative weights: R² split across correlated drivers via an orthogonal proxy.

    Attributes: ``weights_`` (raw, sum to ``r2_``), ``rescaled_`` (% of R²), ``r2_``, ``ci_`` (p×2 bootstrap
    percentile interval of raw weights), ``rank_``, ``rank_stability_``, ``n_`` (respondents used),
    ``pair_n_`` (per driver: respondents with that driver and the outcome), ``n_dropped_``, ``missing_``,
    ``shrinkage_``, ``n_boot_used_``, ``feature_names_``.
    """

    def __init__(self, n_boot: int = 500, confidence: float = 0.95, random_state: int | None = None,
                 missing: str = "listwise", psd_floor: float = 0.05) -> None:
        self.n_boot = n_boot
        self.confidence = confidence
        self.random_state = random_state
        self.missing = missing
        self.psd_floor = psd_floor

    def _weights(self, Rxx: np.ndarray, rxy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return bs.relative_weights(Rxx, rxy)


class ShapleyR2(_DriverImportance):
    """Shapley / LMG decomposition of R²: each driver's marginal R² gain averaged over all orderings.

    Exact (all 2^p subsets) when p <= ``max_exact`` (15: 32 768 subsets); beyond that the cost doubles per
    driver, so the average is estimated from ``n_permutations`` random orderings (antithetic pairs, see
    ``_shapley_permutation``): unbiased, still summing exactly to R². ``method_`` records which was used.
    Other attributes as in ``RelativeWeights``.
    """

    def __init__(
        self,
        n_boot: int = 200,
        confidence: float = 0.95,
        max_exact: int = 15,
        n_permutations: int = 2000,
        random_state: int | None = None,
        missing: str = "listwise",
        psd_floor: float = 0.05,
    ) -> None:
        self.n_boot = n_boot
        self.confidence = confidence
        self.max_exact = max_exact
        self.n_permutations = n_permutations
        self.random_state = random_state
        self.missing = missing
        self.psd_floor = psd_floor

    def _check_params(self) -> None:
        super()._check_params()
        if self.n_permutations < 1:
            raise DriverInputError(f"n_permutations must be >= 1, got {self.n_permutations}")

    def fit_moments(self, moments: bs.Moments, feature_names: list[str], pairwise: bool | None = None,
                    ) -> ShapleyR2:
        super().fit_moments(moments, feature_names, pairwise)
        self.method_ = "exact" if len(self.feature_names_) <= self.max_exact else "permutation"
        return self

    def _weights(self, Rxx: np.ndarray, rxy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if Rxx.shape[-1] <= self.max_exact:
            return bs.shapley_exact(Rxx, rxy)
        if Rxx.ndim == 2:
            return _shapley_permutation(Rxx, rxy, self.n_permutations, rng)
        return np.array([_shapley_permutation(R, r, self.n_permutations, rng) for R, r in zip(Rxx, rxy, strict=True)])
