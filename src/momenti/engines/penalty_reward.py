"""Penalty–reward (Kano-style) analysis: one OLS of the outcome on low-box and high-box dummies per driver.

Split from ``drivers`` (which it shares input checks with) because its design matrix needs care of its own:
sparse "not rated" indicators can be linearly dependent on real data (not-rated(A) + not-rated(B) =
not-rated(C) + not-rated(D) on a handful of respondents), and such a dependency says nothing about the
low/high dummies. A rank-revealing QR finds it, the redundant indicator is dropped and the
output says which one and why; a dependency among the low/high dummies themselves is reported as such.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg
from scipy import stats

from momenti.engines.drivers import DriverInputError, as_arrays, spread

# A column whose part not explained by the columns kept before it has a squared length below this share of
# its own is dependent. 0/1 dummies on real counts are either exactly dependent (rounding leaves ~1e-13) or
# clearly not (a single differing respondent among 10⁵ still leaves ~1e-5), so the cut is far from both.
RANK_TOL = 1e-9


def _independent(G: np.ndarray, order: list[int] | None = None) -> list[int]:
    """Columns kept by a rank-revealing QR of the design A built column by column in ``order``, from the Gram
    matrix G = AᵀWA alone (k × k, whatever the number of rows): each column is kept unless its squared
    distance to the span of those kept before it, G_ii − G_iS G_SS⁻¹ G_Si (S: kept so far, through the
    Cholesky factor of G_SS, grown one row per kept column), is ~0.

    A fixed order rather than pivoting on the largest remaining norm makes the choice reproducible: the same
    respondents give the same dropped column whether they arrive as rows or as weighted cells (ties between
    equal norms would otherwise break by rounding noise)."""
    L = np.zeros_like(G)
    kept: list[int] = []
    for i in range(G.shape[0]) if order is None else order:
        m = len(kept)
        li = scipy.linalg.solve_triangular(L[:m, :m], G[kept, i], lower=True) if m else np.zeros(0)
        res = G[i, i] - li @ li
        if G[i, i] > 0 and res > RANK_TOL * G[i, i]:
            L[m, :m], L[m, m] = li, np.sqrt(res)
            kept.append(i)
    return sorted(kept)


def _equation(target: str, names: list[str], coef: np.ndarray) -> str:
    """'target = a + b − c' from the coefficients of the columns that make it (tiny ones left out)."""
    terms = []
    for name, c in zip(names, coef, strict=True):
        if abs(c) < 1e-6:
            continue
        size = "" if abs(abs(c) - 1) < 1e-6 else f"{abs(c):.3g}·"
        terms.append(("− " if c < 0 else "+ ") + size + name)
    text = " ".join(terms).removeprefix("+ ")
    return f"{target} = {text or '0'}"


class PenaltyReward:
    """Penalty–reward (Kano-style) analysis with dummy-coded driver scores.

    For each driver two dummies, low (score <= ``low``) and high (score >= ``high``), the middle being the
    reference; all dummies for all drivers go into one OLS with intercept, so each coefficient is the
    outcome shift for that driver holding the others fixed. ``penalty_`` is the low-dummy coefficient
    (normally negative), ``reward_`` the high-dummy one. Defaults suit a 1–5 attribute scale (bottom-2 /
    top-2 box, as CSAT is scored); pass e.g. ``low=6, high=9`` for 0–10 scales.

    Impact asymmetry, for every sign combination: with P = max(−penalty, 0) and R = max(reward, 0) (an
    effect pointing the unexpected way counts as no effect), ``impact_asymmetry_`` = (R − P) / (R + P), always
    in [−1, 1]; NaN when P = R = 0 (neither effect points the expected way) or a box is empty. So a negative
    reward with a negative penalty gives IA = −1 (basic), a positive penalty with a positive reward IA = +1
    (excitement), whatever their sizes; ``note_`` names an unexpected sign whose interval excludes 0.
    Category: "basic" if IA <= −0.2, "excitement" if IA >= 0.2, else "performance"; "undetermined" when IA
    is NaN. Why 0.2: IA = 0.2 is exactly where one side is 1.5× the other, so a driver is called asymmetric
    only when one effect is at least half as large again as the other; smaller gaps are within the noise of
    typical survey samples.
    ``sample_weight``: frequency weights (identical respondents counted once with their number), which give
    exactly the row-level OLS.

    After ``fit``: ``dropped_`` lists design columns left out because they were linear combinations of the
    others (only "not rated" indicators are ever dropped) and ``dependencies_`` the equation of each.
    """

    threshold = 0.2

    def __init__(self, low: float = 2, high: float = 4, confidence: float = 0.95, missing: str = "listwise") -> None:
        self.low = low
        self.high = high
        self.confidence = confidence
        self.missing = missing

    def _check(self) -> None:
        if not self.low < self.high:
            raise DriverInputError(f"low ({self.low}) must be below high ({self.high})")
        if not 0 < self.confidence < 1:
            raise DriverInputError(f"confidence must be in (0, 1), got {self.confidence}")
        if self.missing not in ("listwise", "indicator"):
            raise DriverInputError(f"missing must be listwise or indicator, got {self.missing!r}")

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> PenaltyReward:
        """``missing``: "listwise" drops respondents missing any driver; "indicator" keeps them and adds, per
        driver with missing scores, a "not rated" dummy (low and high dummies 0): the penalty and reward are
        then estimated on those who rated the driver, holding the others (rated or not) fixed."""
        self._check()
        Xa, ya, wa, names = as_arrays(X, y, sample_weight)
        present = np.isfinite(Xa)
        keep = np.isfinite(ya) & (wa > 0) & (present.all(axis=1) if self.missing == "listwise" else True)
        self.feature_names_, self.n_dropped_ = names, int(wa[~keep].sum())
        Xa, ya, wa, present = Xa[keep], ya[keep], wa[keep], present[keep]
        n, p = Xa.shape
        n_w = float(wa.sum())
        if n_w < p + 2:
            raise DriverInputError(f"need at least {p + 2} complete rows for {p} drivers (drivers + 2), got {int(n_w)}")
        const = [names[j] for j in range(p) if spread(Xa[present[:, j], j]) == 0]
        if const:
            raise DriverInputError(f"constant driver column(s) carry no information: {', '.join(const)}")
        if n and np.ptp(ya) == 0:
            raise DriverInputError("outcome y is constant; there is nothing to explain")
        self.n_ = int(n_w)
        self.pair_n_ = (present * wa[:, None]).sum(axis=0).astype(int)
        with np.errstate(invalid="ignore"):
            low_d, high_d = (Xa <= self.low).astype(float), (Xa >= self.high).astype(float)
        # The middle box is every driver's reference: without it low + high (+ not rated) = 1 = the intercept.
        no_mid = [names[j] for j in range(p) if not (present[:, j] & (low_d[:, j] == 0) & (high_d[:, j] == 0)).any()]
        if no_mid:
            raise DriverInputError(
                f"no score between the low and the high box for {', '.join(no_mid)}: the middle box is the "
                "reference of penalty and reward, so they cannot be told apart; narrow the boxes (low/high)")
        notes: list[list[str]] = [[] for _ in range(p)]
        D, slots, XtX = self._design(low_d, high_d, present, wa, names, notes)
        k = D.shape[1]
        if n_w <= k:
            raise DriverInputError(f"need more than {k} complete rows for {k - 1} low/high dummies, got {int(n_w)}")
        coef = np.linalg.solve(XtX, D.T @ (wa * ya))
        resid = ya - D @ coef
        df = n_w - k
        rss = float((wa * resid**2).sum())
        cov = rss / df * np.linalg.inv(XtX)
        tq = float(stats.t.ppf(0.5 + self.confidence / 2, df))
        out = {kind: (np.full(p, np.nan), np.full((p, 2), np.nan)) for kind in ("penalty", "reward")}
        where: dict[tuple[str, int], int] = {}
        for i, (kind, j) in enumerate(slots):
            where[(kind, j)] = i
            if kind in out:
                half = tq * np.sqrt(cov[i, i])
                out[kind][0][j] = coef[i]
                out[kind][1][j] = (coef[i] - half, coef[i] + half)
        self.penalty_, self.penalty_ci_ = out["penalty"]
        self.reward_, self.reward_ci_ = out["reward"]
        self.intercept_ = float(coef[0])
        ybar = float((wa * ya).sum() / n_w)
        self.r2_ = 1 - rss / float((wa * (ya - ybar) ** 2).sum())
        self.impact_asymmetry_, self.impact_asymmetry_ci_ = self._asymmetry(coef, cov, where, p, notes, tq)
        self.category_ = np.array([self._category(ia) for ia in self.impact_asymmetry_], dtype=object)
        self.note_ = np.array(["; ".join(n) for n in notes], dtype=object)
        return self

    def _design(self, low_d: np.ndarray, high_d: np.ndarray, present: np.ndarray, w: np.ndarray,
                names: list[str], notes: list[list[str]]) -> tuple[np.ndarray, list[tuple[str, int]], np.ndarray]:
        """Intercept, the low/high dummies and the independent "not rated" dummies (the design D, what each
        column is, DᵀWD).

        The low/high part must be of full rank (else their effects cannot be separated: an error naming the
        dependency). "Not rated" dummies are nuisance terms: one that is a combination of the others (with the
        intercept and the low/high dummies) is dropped, which leaves the column space, hence every penalty,
        reward and the fit, exactly as they were; ``dropped_``/``dependencies_`` and the driver's note say so."""
        p = len(names)
        label = {"penalty": "low({})", "reward": "high({})", "not_rated": "not rated({})"}
        cols, slots = [np.ones(len(w))], [("intercept", -1)]
        for j in range(p):
            for kind, d in (("penalty", low_d[:, j]), ("reward", high_d[:, j])):
                # A dummy that is always 0 has no coefficient; leave it out and report NaN rather than fail.
                if d.any():
                    cols.append(d)
                    slots.append((kind, j))
        colnames = ["intercept"] + [label[k].format(names[j]) for k, j in slots[1:]]
        nr = [j for j in range(p) if not present[:, j].all()]
        k0 = len(cols)
        cols += [(~present[:, j]).astype(float) for j in nr]
        A = np.column_stack(cols)
        G = A.T @ (A * w[:, None])
        core = _independent(G[:k0, :k0])
        if len(core) < k0:
            bad = next(i for i in range(k0) if i not in set(core))
            others = [i for i in range(k0) if i != bad]
            c = np.linalg.lstsq(G[np.ix_(others, others)], G[others, bad], rcond=None)[0]
            raise DriverInputError(
                "low/high dummies are linearly dependent (" + _equation(colnames[bad], [colnames[i] for i in others], c)
                + " for every respondent, e.g. two drivers scored identically): their effects cannot be separated; "
                "drop one of those drivers")
        # The indicators after the (full-rank) core, the most-skipped first: among equivalent choices the one
        # dropped is the sparsest, and the same data always drop the same one.
        order = sorted(range(len(nr)), key=lambda i: (-G[k0 + i, k0 + i], nr[i]))
        got = _independent(G, [*range(k0), *(k0 + i for i in order)])
        kept = {i - k0 for i in got if i >= k0}
        self.dropped_, self.dependencies_ = [], {}
        idx = [*range(k0), *(k0 + i for i in sorted(kept))]
        knames = colnames + [label["not_rated"].format(names[nr[i]]) for i in sorted(kept)]
        for i, j in enumerate(nr):
            if i in kept:
                continue
            name = label["not_rated"].format(names[j])
            c = np.linalg.solve(G[np.ix_(idx, idx)], G[idx, k0 + i])
            eq = _equation(name, knames, c)
            self.dropped_.append(name)
            self.dependencies_[name] = eq
            used = [knames[m] for m in np.flatnonzero(np.abs(c) >= 1e-6)]
            if len(used) == 1 and used[0].startswith("not rated(") and abs(c[knames.index(used[0])] - 1) < 1e-6:
                notes[j].append(f"not-rated dummy shared with {used[0][10:-1]} (same respondents)")
            elif all(u == "intercept" or u.startswith("not rated(") for u in used):
                notes[j].append(f"not-rated dummy dropped, {eq} on these data; penalty and reward are unchanged")
            else:
                notes[j].append(f"not-rated dummy dropped, {eq} on these data; the other columns absorb it")
        slots += [("not_rated", nr[i]) for i in sorted(kept)]
        return A[:, idx], slots, G[np.ix_(idx, idx)]

    def _asymmetry(self, coef: np.ndarray, cov: np.ndarray, where: dict[tuple[str, int], int],
                   p: int, notes: list[list[str]], tq: float) -> tuple[np.ndarray, np.ndarray]:
        """IA = (R − P)/(R + P), P = max(−q, 0), R = max(r, 0), with a delta-method interval around it.

        Gradient in (q, r): ∂IA/∂q = 2R/(R+P)², ∂IA/∂r = 2P/(R+P)², taken from the expected-sign side when an
        effect is clamped (at IA = −1 only the reward's uncertainty widens the interval, upwards). The variance
        uses the OLS covariance of q and r (they share respondents). IA lies in [−1, 1], so the interval cut to
        [−1, 1] always contains it."""
        ia, ci = np.full(p, np.nan), np.full((p, 2), np.nan)
        z = float(stats.norm.ppf(0.5 + self.confidence / 2))
        for j in range(p):
            if ("penalty", j) not in where or ("reward", j) not in where:
                notes[j].append("no score in the " + ("low" if ("penalty", j) not in where else "high")
                                + " box: impact asymmetry undetermined")
                continue
            iq, ir = where[("penalty", j)], where[("reward", j)]
            q, r = coef[iq], coef[ir]
            # Said only when the interval excludes 0: a null effect is as often a hair the wrong way as not.
            if q - tq * np.sqrt(cov[iq, iq]) > 0:
                notes[j].append(f"penalty > 0 ({q:+.3g}, interval above 0): low scores go with a higher outcome "
                                "than middle ones; impact asymmetry counts it as no penalty")
            if r + tq * np.sqrt(cov[ir, ir]) < 0:
                notes[j].append(f"reward < 0 ({r:+.3g}, interval below 0): high scores go with a lower outcome "
                                "than middle ones; impact asymmetry counts it as no reward")
            P, R = max(-q, 0.0), max(r, 0.0)
            if P + R == 0:
                continue
            ia[j] = (R - P) / (R + P)
            g = np.array([2 * R, 2 * P]) / (R + P) ** 2
            sub = cov[np.ix_([iq, ir], [iq, ir])]
            half = z * float(np.sqrt(max(g @ sub @ g, 0.0)))
            ci[j] = (max(-1.0, ia[j] - half), min(1.0, ia[j] + half))
        return ia, ci

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
                "ia_ci_low": self.impact_asymmetry_ci_[:, 0],
                "ia_ci_high": self.impact_asymmetry_ci_[:, 1],
                "category": self.category_,
                "n": self.pair_n_,
                "note": self.note_,
            }
        )
