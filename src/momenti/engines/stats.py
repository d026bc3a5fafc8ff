"""Pure formulas: point estimates, intervals and tests, vectorised over groups (numpy arrays in, out).

NPS: adjusted Wald (Sauro & Lewis): add 0.75 detractor, 1.5 passive, 0.75 promoter (n + 3); the ±1 coding
has variance p + d - (p - d)^2. CSAT top-2-box: Wilson score interval. CES: t-interval of the mean.
Everything is on the scale it is reported on: NPS in points (-100..100), proportions in percent.
"""

from __future__ import annotations

import numpy as np


def scipy_stats():  # noqa: ANN202
    # Imported when a metric is computed, not when momenti is: it is a large share of every CLI start-up.
    from scipy import stats

    return stats


def z_value(confidence: float) -> float:
    return float(scipy_stats().norm.ppf(0.5 + confidence / 2))


def _arr(x) -> np.ndarray:  # noqa: ANN001
    return np.asarray(x, dtype=float)


def _out(*values: np.ndarray) -> tuple:
    """Scalars in, floats out; arrays in, arrays out."""
    return tuple(float(v) if np.ndim(v) == 0 else v for v in values)


def nps(promoters, passives, detractors, confidence: float = 0.95):  # noqa: ANN001, ANN201
    """(nps, ci_low, ci_high) in points; nan where n == 0."""
    p, a, d = _arr(promoters), _arr(passives), _arr(detractors)
    n = p + a + d
    with np.errstate(invalid="ignore", divide="ignore"):
        est = 100.0 * (p - d) / n
        centre, var, na = _nps_adjusted(p, a, d)
        half = z_value(confidence) * np.sqrt(var / na)
    lo = np.clip(centre - half, -1.0, 1.0) * 100.0
    hi = np.clip(centre + half, -1.0, 1.0) * 100.0
    # The adjusted centre is pulled towards 0: at tiny n with every answer at one end (1 detractor: NPS -100,
    # adjusted interval -98.5..) it would not contain the observed value. Stretch it to include it.
    with np.errstate(invalid="ignore"):
        lo, hi = np.fmin(lo, est), np.fmax(hi, est)
    return _out(est, np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan))


def _nps_adjusted(p: np.ndarray, a: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    na = p + a + d + 3.0
    pa, da = (p + 0.75) / na, (d + 0.75) / na
    centre = pa - da
    return centre, pa + da - centre**2, na


def wilson(successes, n, confidence: float = 0.95):  # noqa: ANN001, ANN201
    """(percent, ci_low, ci_high) of a proportion, Wilson score interval."""
    k, n = _arr(successes), _arr(n)
    z = z_value(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        ph = k / n
        den = 1 + z**2 / n
        centre = (ph + z**2 / (2 * n)) / den
        half = z * np.sqrt(ph * (1 - ph) / n + z**2 / (4 * n**2)) / den
    return _out(100.0 * ph, 100.0 * np.clip(centre - half, 0, 1), 100.0 * np.clip(centre + half, 0, 1))


def mean_t(n, total, total_sq, confidence: float = 0.95):  # noqa: ANN001, ANN201
    """(mean, ci_low, ci_high, sd) from n, sum and sum of squares; t-interval with n - 1 df."""
    n, s, ss = _arr(n), _arr(total), _arr(total_sq)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / n
        var = np.maximum(ss - n * mean**2, 0.0) / (n - 1)
        sd = np.sqrt(var)
        t = scipy_stats().t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1))
        half = np.where(n > 1, t * sd / np.sqrt(n), np.nan)
    return _out(mean, mean - half, mean + half, sd)


# --- comparisons between two groups (a = earlier/baseline, b = later) ---------------------------------


def _two_sided(z: np.ndarray) -> np.ndarray:
    return 2.0 * scipy_stats().norm.sf(np.abs(z))


def nps_diff(pa, aa, da, pb, ab, db, confidence: float = 0.95):  # noqa: ANN001, ANN201
    """NPS_b - NPS_a in points with an adjusted-Wald interval and the z-test p-value."""
    pa, aa, da, pb, ab, db = map(_arr, (pa, aa, da, pb, ab, db))
    ca, va, na = _nps_adjusted(pa, aa, da)
    cb, vb, nb = _nps_adjusted(pb, ab, db)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(va / na + vb / nb)
        diff_adj = cb - ca
        z = diff_adj / se
        delta = 100.0 * ((pb - db) / (pb + ab + db) - (pa - da) / (pa + aa + da))
    half = z_value(confidence) * se
    return _out(delta, 100.0 * (diff_adj - half), 100.0 * (diff_adj + half), z, _two_sided(z))


def proportion_diff(ka, na, kb, nb, confidence: float = 0.95):  # noqa: ANN001, ANN201
    """p_b - p_a in percentage points: Newcombe hybrid-score interval, pooled two-proportion z-test."""
    ka, na, kb, nb = map(_arr, (ka, na, kb, nb))
    _, la, ua = wilson(ka, na, confidence)
    _, lb, ub = wilson(kb, nb, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p2 = ka / na, kb / nb
        la, ua, lb, ub = la / 100, ua / 100, lb / 100, ub / 100
        d = p2 - p1
        lo = d - np.sqrt((p2 - lb) ** 2 + (ua - p1) ** 2)
        hi = d + np.sqrt((ub - p2) ** 2 + (p1 - la) ** 2)
        pool = (ka + kb) / (na + nb)
        z = d / np.sqrt(pool * (1 - pool) * (1 / na + 1 / nb))
    return _out(100.0 * d, 100.0 * lo, 100.0 * hi, z, _two_sided(z))


def mean_diff(na, sa, ssa, nb, sb, ssb, confidence: float = 0.95):  # noqa: ANN001, ANN201
    """mean_b - mean_a with a Welch interval and p-value."""
    ma, _, _, sda = mean_t(na, sa, ssa, confidence)
    mb, _, _, sdb = mean_t(nb, sb, ssb, confidence)
    na, nb = _arr(na), _arr(nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        va, vb = sda**2 / na, sdb**2 / nb
        se = np.sqrt(va + vb)
        df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
        t = (mb - ma) / se
        stats = scipy_stats()
        p = 2.0 * stats.t.sf(np.abs(t), df)
        half = stats.t.ppf(0.5 + confidence / 2, df) * se
    return _out(mb - ma, mb - ma - half, mb - ma + half, t, p)
