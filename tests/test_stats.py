"""The formulas, against worked examples computed independently here and against simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from momenti.engines import stats

Z = 1.959963984540054


def test_nps_worked_example_10_answers() -> None:
    # 5 promoters, 2 passives, 3 detractors: NPS = 50 % - 30 % = 20.
    est, lo, hi = stats.nps(5, 2, 3)
    assert est == pytest.approx(20.0)
    # Adjusted Wald, by hand: n' = 13, p' = 5.75/13, d' = 3.75/13.
    n_adj = 13.0
    p_adj, d_adj = 5.75 / n_adj, 3.75 / n_adj
    centre = p_adj - d_adj  # 0.153846
    var = p_adj + d_adj - centre**2  # 0.707101
    half = Z * math.sqrt(var / n_adj)  # 0.457112
    assert centre == pytest.approx(0.153846, abs=1e-6)
    assert lo == pytest.approx(100 * (centre - half), abs=1e-9)
    assert hi == pytest.approx(100 * (centre + half), abs=1e-9)
    assert lo == pytest.approx(-30.33, abs=0.01) and hi == pytest.approx(61.10, abs=0.01)


def test_nps_vectorised_and_empty_group() -> None:
    est, lo, hi = stats.nps([5, 0], [2, 0], [3, 0])
    assert est[0] == pytest.approx(20.0)
    assert math.isnan(est[1]) and math.isnan(lo[1]) and math.isnan(hi[1])


def test_nps_interval_clipped_at_bounds() -> None:
    est, lo, hi = stats.nps(3, 0, 0)
    assert est == 100.0 and hi == 100.0 and lo < 100.0


def test_wilson_worked_example() -> None:
    # 81 of 263: the Wilson limits are the roots of (p_hat - p)^2 = z^2 p (1 - p) / n, solved here directly.
    k, n = 81, 263
    ph = k / n
    a, b, c = 1 + Z**2 / n, -(2 * ph + Z**2 / n), ph**2
    roots = sorted(((-b - math.sqrt(b * b - 4 * a * c)) / (2 * a), (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)))
    est, lo, hi = stats.wilson(k, n)
    assert est == pytest.approx(30.798, abs=1e-3)
    assert (lo, hi) == pytest.approx((100 * roots[0], 100 * roots[1]), abs=1e-9)
    assert (lo, hi) == pytest.approx((25.53, 36.62), abs=0.01)


def test_wilson_zero_successes_has_positive_upper_bound() -> None:
    est, lo, hi = stats.wilson(0, 10)
    assert est == 0 and lo == 0 and hi == pytest.approx(27.75, abs=0.01)


def test_mean_t_interval_from_sums() -> None:
    x = np.array([2, 4, 4, 5, 6, 7, 7, 3], dtype=float)
    mean, lo, hi, sd = stats.mean_t(len(x), x.sum(), (x**2).sum())
    from scipy import stats as sps

    ref = sps.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
    assert mean == pytest.approx(x.mean())
    assert sd == pytest.approx(x.std(ddof=1))
    assert (lo, hi) == pytest.approx(ref)


def test_newcombe_difference_worked_example() -> None:
    # Newcombe (1998), example (a): 56/70 - 48/80 = 0.2000, method 10 (hybrid score) 0.0524 .. 0.3339.
    d, lo, hi, _, p = stats.proportion_diff(48, 80, 56, 70)
    assert d == pytest.approx(20.0)
    assert lo == pytest.approx(5.24, abs=0.01)
    assert hi == pytest.approx(33.39, abs=0.01)
    assert 0 < p < 0.05


def test_nps_difference_z_test_by_hand() -> None:
    # Period A: 40/30/30 of 100; period B: 55/25/20 of 100.
    delta, lo, hi, z, p = stats.nps_diff(40, 30, 30, 55, 25, 20)
    assert delta == pytest.approx(25.0)
    na = nb = 103.0
    pa, da = 40.75 / na, 30.75 / na
    pb, db = 55.75 / nb, 20.75 / nb
    va, vb = pa + da - (pa - da) ** 2, pb + db - (pb - db) ** 2
    se = math.sqrt(va / na + vb / nb)
    z_ref = ((pb - db) - (pa - da)) / se
    assert z == pytest.approx(z_ref)
    assert p == pytest.approx(2 * (1 - 0.5 * (1 + math.erf(abs(z_ref) / math.sqrt(2)))))
    assert lo == pytest.approx(100 * ((pb - db) - (pa - da) - Z * se))
    assert hi == pytest.approx(100 * ((pb - db) - (pa - da) + Z * se))


def test_welch_difference_matches_scipy() -> None:
    from scipy import stats as sps

    a = np.array([3, 4, 5, 5, 6, 2, 4], dtype=float)
    b = np.array([5, 6, 6, 7, 5, 7, 6, 4], dtype=float)
    d, lo, hi, t, p = stats.mean_diff(len(a), a.sum(), (a**2).sum(), len(b), b.sum(), (b**2).sum())
    ref = sps.ttest_ind(b, a, equal_var=False)
    assert d == pytest.approx(b.mean() - a.mean())
    assert t == pytest.approx(ref.statistic)
    assert p == pytest.approx(ref.pvalue)
    assert lo < d < hi


counts = st.integers(min_value=0, max_value=500)


@given(counts, counts, counts)
@settings(max_examples=300, deadline=None)
def test_nps_interval_properties(p: int, a: int, d: int) -> None:
    if p + a + d == 0:
        return
    est, lo, hi = stats.nps(p, a, d)
    assert -100.0 <= lo <= hi <= 100.0
    assert -100.0 <= est <= 100.0
    assert lo <= est + 1e-9 and est <= hi + 1e-9


@given(st.integers(min_value=1, max_value=1000), st.data())
@settings(max_examples=300, deadline=None)
def test_wilson_interval_properties(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(min_value=0, max_value=n))
    est, lo, hi = stats.wilson(k, n)
    assert 0.0 <= lo <= est + 1e-9 and est <= hi + 1e-9 and hi <= 100.0


@pytest.mark.parametrize("n", [10, 30])
@pytest.mark.parametrize("mix", [(0.5, 0.3, 0.2), (0.2, 0.3, 0.5), (0.7, 0.2, 0.1), (0.33, 0.34, 0.33),
                                 (0.1, 0.8, 0.1)])
def test_adjusted_wald_coverage_by_simulation(n: int, mix: tuple[float, float, float]) -> None:
    """At small n the adjusted-Wald interval covers the true NPS at least 93 % of the time."""
    rng = np.random.default_rng(20261123 + n)
    draws = rng.multinomial(n, mix, size=20_000)
    true = 100 * (mix[0] - mix[2])
    _, lo, hi = stats.nps(draws[:, 0], draws[:, 1], draws[:, 2])
    coverage = np.mean((lo <= true) & (true <= hi))
    assert coverage >= 0.93, f"coverage {coverage:.3f} at n={n}, mix={mix}"


def test_plain_wald_would_undercover_where_adjusted_does_not() -> None:
    """Why the adjustment: at n = 10 with a lopsided mix, plain Wald misses far more often."""
    rng = np.random.default_rng(7)
    mix, n = (0.8, 0.15, 0.05), 10
    draws = rng.multinomial(n, mix, size=20_000)
    p, d = draws[:, 0] / n, draws[:, 2] / n
    se = np.sqrt(np.maximum(p + d - (p - d) ** 2, 0) / n)
    true = mix[0] - mix[2]
    wald = np.mean((p - d - Z * se <= true) & (true <= p - d + Z * se))
    _, lo, hi = stats.nps(draws[:, 0], draws[:, 1], draws[:, 2])
    adjusted = np.mean((lo <= 100 * true) & (100 * true <= hi))
    assert wald < 0.9 < 0.93 <= adjusted
