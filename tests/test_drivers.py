"""Key-driver estimators checked against independent reference formulas and planted effects."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from momenti.engines import PenaltyReward, RelativeWeights, ShapleyR2

# ref.py is written from the published formulas, independently of this package.
for _cand in (Path(__file__).resolve().parents[2] / "shared" / "acceptance", Path("/work/shared/acceptance")):
    if (_cand / "ref.py").exists() and str(_cand) not in sys.path:
        sys.path.insert(0, str(_cand))
ref = pytest.importorskip("ref")


def correlated(n: int = 400, p: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(p, p))
    X = rng.normal(size=(n, p)) @ (np.eye(p) + 0.5 * A)
    beta = rng.uniform(0.2, 1.0, size=p)
    y = X @ beta + rng.normal(scale=2.0, size=n)
    return X, y


def ols_r2(X: np.ndarray, y: np.ndarray) -> float:
    D = np.column_stack([np.ones(len(y)), X])
    resid = y - D @ np.linalg.lstsq(D, y, rcond=None)[0]
    return 1 - resid @ resid / ((y - y.mean()) ** 2).sum()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relative_weights_match_reference(seed: int) -> None:
    X, y = correlated(seed=seed)
    rw = RelativeWeights(n_boot=0).fit(X, y)
    np.testing.assert_allclose(rw.weights_, ref.relative_weights(X, y), atol=1e-9, rtol=0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shapley_exact_matches_reference(seed: int) -> None:
    X, y = correlated(p=6, seed=seed)
    sh = ShapleyR2(n_boot=0).fit(X, y)
    assert sh.method_ == "exact"
    np.testing.assert_allclose(sh.weights_, ref.shapley_r2(X, y), atol=1e-9, rtol=0)


@pytest.mark.parametrize("cls", [RelativeWeights, ShapleyR2])
def test_weights_sum_to_ols_r2_and_rescaled_to_100(cls: type) -> None:
    X, y = correlated(seed=3)
    est = cls(n_boot=50, random_state=1).fit(X, y)
    assert est.weights_.sum() == pytest.approx(est.r2_, abs=1e-12)
    assert est.r2_ == pytest.approx(ols_r2(X, y), abs=1e-9)
    assert est.rescaled_.sum() == pytest.approx(100.0, abs=1e-9)
    assert est.ci_.shape == (X.shape[1], 2)
    assert ((est.ci_[:, 0] <= est.weights_) & (est.weights_ <= est.ci_[:, 1])).all()
    assert ((est.rank_stability_ >= 0) & (est.rank_stability_ <= 1)).all()
    assert est.n_ == len(y) and est.n_dropped_ == 0


@pytest.mark.parametrize("cls", [RelativeWeights, ShapleyR2])
def test_uncorrelated_drivers_get_squared_correlations(cls: type) -> None:
    rng = np.random.default_rng(5)
    Z = rng.normal(size=(300, 3))
    # Exactly orthogonal, centred columns: the sample correlation between drivers is 0 to machine precision.
    Q, _ = np.linalg.qr(Z - Z.mean(axis=0))
    X = Q[:, :3]
    y = X @ np.array([3.0, 2.0, 1.0]) + 0.1 * rng.normal(size=300)
    est = cls(n_boot=0).fit(X, y)
    r = np.array([np.corrcoef(X[:, j], y)[0, 1] for j in range(3)])
    np.testing.assert_allclose(est.weights_, r**2, atol=1e-9)


def test_permutation_close_to_exact() -> None:
    X, y = correlated(n=500, p=8, seed=7)
    exact = ShapleyR2(n_boot=0).fit(X, y)
    approx = ShapleyR2(n_boot=0, max_exact=0, n_permutations=2000, random_state=0).fit(X, y)
    assert approx.method_ == "permutation"
    assert np.abs(approx.weights_ - exact.weights_).max() < 0.01
    assert approx.weights_.sum() == pytest.approx(exact.r2_, abs=1e-9)


def test_dataframe_names_missing_rows_and_to_frame() -> None:
    X, y = correlated(n=200, p=3, seed=8)
    df = pd.DataFrame(X, columns=["wait", "staff", "price"])
    df.iloc[[3, 10], 1] = np.nan
    ys = pd.Series(y)
    ys.iloc[20] = np.nan
    rw = RelativeWeights(n_boot=30, random_state=0).fit(df, ys)
    assert rw.feature_names_ == ["wait", "staff", "price"]
    assert rw.n_dropped_ == 3 and rw.n_ == 197
    frame = rw.to_frame()
    assert list(frame["driver"]) == ["wait", "staff", "price"] and len(frame) == 3
    assert {"weight", "rescaled_pct", "ci_low", "ci_high", "rank_stability"} <= set(frame.columns)
    assert len(ShapleyR2(n_boot=0).fit(df, ys).to_frame()) == 3


def planted(seed: int = 11, n: int = 3000) -> tuple[pd.DataFrame, np.ndarray]:
    """1–5 scores: 'cleanliness' only hurts when low (basic); 'surprise' only helps when high (delighter)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.integers(1, 6, size=(n, 3)), columns=["cleanliness", "surprise", "speed"])
    y = (
        7.0
        - 2.0 * (X["cleanliness"] <= 2)
        + 2.0 * (X["surprise"] >= 4)
        - 1.0 * (X["speed"] <= 2)
        + 1.0 * (X["speed"] >= 4)
        + rng.normal(scale=0.5, size=n)
    ).to_numpy()
    return X, y


def test_penalty_reward_categories() -> None:
    X, y = planted()
    pr = PenaltyReward(low=2, high=4).fit(X, y)
    assert list(pr.category_) == ["basic", "excitement", "performance"]
    assert pr.penalty_[0] == pytest.approx(-2.0, abs=0.1) and abs(pr.reward_[0]) < 0.1
    assert pr.reward_[1] == pytest.approx(2.0, abs=0.1) and abs(pr.penalty_[1]) < 0.1
    for coef, ci in ((pr.penalty_, pr.penalty_ci_), (pr.reward_, pr.reward_ci_)):
        assert ((ci[:, 0] < coef) & (coef < ci[:, 1])).all()
    frame = pr.to_frame()
    assert list(frame["category"]) == ["basic", "excitement", "performance"]


def test_penalty_reward_matches_hand_ols_and_ia_formula() -> None:
    X, y = planted(seed=12, n=500)
    pr = PenaltyReward(low=2, high=4).fit(X, y)
    Xa = X.to_numpy()
    cols = [np.ones(len(y))]
    for j in range(3):
        cols += [(Xa[:, j] <= 2).astype(float), (Xa[:, j] >= 4).astype(float)]
    coef = np.linalg.lstsq(np.column_stack(cols), y, rcond=None)[0]
    np.testing.assert_allclose(pr.penalty_, coef[1::2], atol=1e-9)
    np.testing.assert_allclose(pr.reward_, coef[2::2], atol=1e-9)
    for j in range(3):
        # An effect of the unexpected sign counts as none (docs/drivers.md, "Impact asymmetry for every sign").
        r, pen = max(coef[2 + 2 * j], 0.0), max(-coef[1 + 2 * j], 0.0)
        assert pr.impact_asymmetry_[j] == pytest.approx((r - pen) / (r + pen), abs=1e-9)


def test_ia_by_hand_on_known_numbers() -> None:
    # reward 3, penalty -1 -> (3 - 1) / (3 + 1) = 0.5 ; noise-free data gives the coefficients exactly.
    x = np.tile([1, 2, 3, 4, 5], 20).astype(float)
    other = np.repeat([1, 3, 5, 2, 4], 20).astype(float)
    y = 10.0 - 1.0 * (x <= 2) + 3.0 * (x >= 4) + 0.5 * (other >= 4) + 0.001 * np.sin(np.arange(100))
    pr = PenaltyReward(low=2, high=4).fit(np.column_stack([x, other]), y)
    assert pr.impact_asymmetry_[0] == pytest.approx(0.5, abs=1e-3)
    assert pr.category_[0] == "excitement"


@pytest.mark.parametrize("est", [RelativeWeights(n_boot=0), ShapleyR2(n_boot=0), PenaltyReward()])
def test_bad_input_raises_clear_value_error(est: object) -> None:
    X, y = correlated(n=50, p=3, seed=9)
    X = np.round(np.clip(X, -2, 2) + 3)  # 1–5-ish scores so PenaltyReward has low and high cells
    with pytest.raises(ValueError, match="rows but y has"):
        est.fit(X, y[:-1])
    Xc = X.copy()
    Xc[:, 1] = 3.0
    with pytest.raises(ValueError, match="constant driver column.*x1"):
        est.fit(Xc, y)
    with pytest.raises(ValueError, match="need at least 5 complete rows"):
        est.fit(X[:4], y[:4])


# -- missing data, frequency weights, moments and the bootstrap -----------------------------------------------

from momenti.engines import bootstrap as bs  # noqa: E402


@pytest.mark.parametrize("cls", [RelativeWeights, ShapleyR2])
def test_invariant_to_driver_order_and_scaling(cls: type) -> None:
    X, y = correlated(p=5, seed=21)
    base = cls(n_boot=0).fit(X, y)
    perm = [3, 0, 4, 1, 2]
    scaled = X[:, perm] * np.array([2.0, -0.5, 10.0, 1.0, 3.0]) + np.array([5.0, 1.0, -2.0, 0.0, 7.0])
    moved = cls(n_boot=0).fit(scaled, 4.0 * y - 3.0)
    np.testing.assert_allclose(moved.weights_, base.weights_[perm], atol=1e-10)
    assert moved.r2_ == pytest.approx(base.r2_, abs=1e-12)


def test_bootstrap_is_seeded_and_reproducible() -> None:
    X, y = correlated(n=300, p=4, seed=22)
    a = RelativeWeights(n_boot=200, random_state=7).fit(X, y)
    b = RelativeWeights(n_boot=200, random_state=7).fit(X, y)
    c = RelativeWeights(n_boot=200, random_state=8).fit(X, y)
    np.testing.assert_array_equal(a.ci_, b.ci_)
    np.testing.assert_array_equal(a.rank_stability_, b.rank_stability_)
    assert not np.array_equal(a.ci_, c.ci_)
    assert a.n_boot_used_ == 200


def test_bootstrap_matches_a_plain_resampling_loop() -> None:
    """Vectorised weighted-moment resampling = drawing rows with replacement and refitting, same draws."""
    X, y = correlated(n=120, p=3, seed=23)
    est = RelativeWeights(n_boot=50, random_state=3).fit(X, y)
    rng = np.random.default_rng(3)
    idx = rng.integers(0, 120, size=(50, 120))  # the same stream boot_weights consumes for small n
    boot = np.array([ref.relative_weights(X[i], y[i]) for i in idx])
    np.testing.assert_allclose(est.ci_, np.quantile(boot, [0.025, 0.975], axis=0).T, atol=1e-9)


def test_frequency_weights_equal_repeated_rows() -> None:
    rng = np.random.default_rng(24)
    X = rng.integers(1, 6, size=(400, 3)).astype(float)
    y = X @ [0.5, 0.3, 0.1] + rng.integers(0, 3, 400)
    rows, inverse, counts = np.unique(np.column_stack([X, y]), axis=0, return_inverse=True, return_counts=True)
    assert len(rows) < 400
    full = RelativeWeights(n_boot=100, random_state=1).fit(X, y)
    collapsed = RelativeWeights(n_boot=100, random_state=1).fit(rows[:, :3], rows[:, 3], sample_weight=counts)
    np.testing.assert_allclose(collapsed.weights_, full.weights_, atol=1e-12)
    assert collapsed.n_ == 400
    pr_full = PenaltyReward(low=2, high=4).fit(X, y)
    pr_coll = PenaltyReward(low=2, high=4).fit(rows[:, :3], rows[:, 3], sample_weight=counts)
    np.testing.assert_allclose(pr_coll.penalty_ci_, pr_full.penalty_ci_, atol=1e-9)
    np.testing.assert_allclose(pr_coll.impact_asymmetry_ci_, pr_full.impact_asymmetry_ci_, atol=1e-9)


def test_pairwise_on_complete_data_is_listwise_and_moments_path_agrees() -> None:
    X, y = correlated(n=250, p=4, seed=25)
    lw = RelativeWeights(n_boot=0).fit(X, y)
    pw = RelativeWeights(n_boot=0, missing="pairwise").fit(X, y)
    np.testing.assert_allclose(pw.weights_, lw.weights_, atol=1e-12)
    Z = np.column_stack([X, y])
    Z[np.random.default_rng(0).random(Z.shape) < 0.2] = np.nan
    Z[:, -1] = y
    m = bs.row_moments(Z, np.ones(len(Z)), pairwise=True)
    a = RelativeWeights(n_boot=0, missing="pairwise").fit(Z[:, :4], y)
    b = RelativeWeights(n_boot=0, missing="pairwise").fit_moments(m, a.feature_names_)
    np.testing.assert_allclose(b.weights_, a.weights_, atol=1e-12)
    # Pairwise correlations are pandas' pairwise-complete ones.
    pc = pd.DataFrame(Z).corr(min_periods=2).to_numpy()
    np.testing.assert_allclose(bs.correlation(m), pc, atol=1e-12)
    assert a.missing_ == "pairwise" and (a.pair_n_ < 250).all()
    with pytest.raises(ValueError, match="need at least 6 complete rows"):
        RelativeWeights(n_boot=0).fit(np.full((5, 4), 1.0) + np.arange(20).reshape(5, 4) ** 2, y[:5])


def test_pairwise_matrix_not_positive_definite_is_repaired_and_flagged() -> None:
    # Three drivers observed in disjoint pairs with contradictory correlations: a≈b, b≈c, a≈−c.
    rng = np.random.default_rng(26)
    n = 200
    rows = []
    for pair, sign in (((0, 1), 1), ((1, 2), 1), ((0, 2), -1)):
        z = rng.normal(size=n)
        block = np.full((n, 4), np.nan)
        block[:, pair[0]] = z + 0.1 * rng.normal(size=n)
        block[:, pair[1]] = sign * z + 0.1 * rng.normal(size=n)
        block[:, 3] = z + rng.normal(size=n)
        rows.append(block)
    Z = np.vstack(rows)
    assert np.linalg.eigvalsh(pd.DataFrame(Z).corr().to_numpy())[0] < 0
    est = RelativeWeights(n_boot=20, random_state=0, missing="pairwise").fit(Z[:, :3], Z[:, 3])
    assert est.shrinkage_ > 0
    assert np.linalg.eigvalsh(est.correlation_)[0] == pytest.approx(est.psd_floor, abs=1e-9)
    assert 0 < est.r2_ < 1


def test_poisson_bootstrap_for_large_n(monkeypatch: pytest.MonkeyPatch) -> None:
    table = bs._poisson_table()
    from scipy import stats as sst

    probs = np.bincount(table.astype(int), minlength=8)[:8] / 65536
    np.testing.assert_allclose(probs, sst.poisson.pmf(np.arange(8), 1.0), atol=2e-5)
    X, y = correlated(n=3000, p=3, seed=27)
    multi = RelativeWeights(n_boot=400, random_state=0).fit(X, y)
    monkeypatch.setattr(bs, "MULTINOMIAL_MAX_N", 100)
    pois = RelativeWeights(n_boot=400, random_state=0).fit(X, y)
    again = RelativeWeights(n_boot=400, random_state=0).fit(X, y)
    np.testing.assert_array_equal(pois.ci_, again.ci_)
    width_m, width_p = np.diff(multi.ci_).ravel(), np.diff(pois.ci_).ravel()
    # Same sampling distribution: interval widths agree up to Monte-Carlo noise of 400 resamples.
    np.testing.assert_allclose(width_p, width_m, rtol=0.2)
    assert ((pois.ci_[:, 0] <= pois.weights_) & (pois.weights_ <= pois.ci_[:, 1])).all()


def test_shapley_permutation_above_fifteen_drivers() -> None:
    X, y = correlated(n=400, p=16, seed=28)
    sh = ShapleyR2(n_boot=0, random_state=0).fit(X, y)
    assert sh.method_ == "permutation"
    assert sh.weights_.sum() == pytest.approx(ols_r2(X, y), abs=1e-9)


def test_penalty_reward_indicator_keeps_unrated_respondents() -> None:
    X, y = planted(seed=29, n=4000)
    Xm = X.astype(float).copy()
    Xm.loc[np.random.default_rng(1).random(len(Xm)) < 0.5, "cleanliness"] = np.nan
    with pytest.raises(ValueError, match="missing must be"):
        PenaltyReward(missing="pairwise").fit(Xm, y)
    pr = PenaltyReward(low=2, high=4, missing="indicator").fit(Xm, y)
    assert pr.n_ == 4000 and pr.pair_n_[0] < 2200
    assert pr.penalty_[0] == pytest.approx(-2.0, abs=0.15)
    assert list(pr.category_) == ["basic", "excitement", "performance"]
    assert ((pr.impact_asymmetry_ci_[:, 0] <= pr.impact_asymmetry_) &
            (pr.impact_asymmetry_ <= pr.impact_asymmetry_ci_[:, 1])).all()
    lw = PenaltyReward(low=2, high=4).fit(Xm, y)
    assert lw.n_ < 2200 and lw.n_dropped_ == 4000 - lw.n_


# -- penalty-reward: dependent "not rated" indicators, impact asymmetry for every sign combination ------------


def dependent_not_rated(seed: int = 40, n: int = 3000) -> tuple[pd.DataFrame, np.ndarray, list[int]]:
    """Six 1-10 ratings; A..D are missing only in four small blocks (A+C, B+D, A+D, B+C missing), so
    not rated(A) + not rated(B) = not rated(C) + not rated(D) on every row and no two of them are equal."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.integers(1, 11, size=(n, 6)).astype(float), columns=list("ABCDEF"))
    y = 6 - 1.5 * (X["A"] <= 4) + 1.0 * (X["B"] >= 8) + rng.normal(size=n)
    blocks = [("A", "C"), ("B", "D"), ("A", "D"), ("B", "C")]
    start = 0
    for size, pair in zip((3, 4, 5, 6), blocks, strict=True):
        X.loc[start:start + size - 1, list(pair)] = np.nan
        start += size
    X.loc[rng.random(n) < 0.3, "E"] = np.nan  # an ordinary, independent not-rated pattern
    return X, y.to_numpy(), [start]


def hand_design(X: pd.DataFrame, low: float, high: float, not_rated: list[str]) -> tuple[np.ndarray, list[str]]:
    cols, names = [np.ones(len(X))], ["intercept"]
    for c in X.columns:
        v = X[c].to_numpy()
        cols += [(v <= low).astype(float), (v >= high).astype(float)]
        names += [f"low({c})", f"high({c})"]
    for c in not_rated:
        cols.append(X[c].isna().to_numpy(float))
        names.append(f"not rated({c})")
    return np.column_stack(cols), names


def test_penalty_reward_drops_a_dependent_not_rated_indicator_and_says_so() -> None:
    X, y, _ = dependent_not_rated()
    nr = X.isna()
    assert ((nr.A.astype(int) + nr.B) == (nr.C.astype(int) + nr.D)).all()
    assert len({tuple(nr[c]) for c in "ABCD"}) == 4  # no two identical: merging duplicates is not enough
    pr = PenaltyReward(low=4, high=8, missing="indicator").fit(X, y)
    assert len(pr.dropped_) == 1 and pr.dropped_[0] in {f"not rated({c})" for c in "ABCD"}
    dropped = pr.dropped_[0][len("not rated("):-1]
    eq = pr.dependencies_[pr.dropped_[0]]
    assert all(f"not rated({c})" in eq for c in "ABCD")
    frame = pr.to_frame().set_index("driver")
    assert "not-rated dummy dropped" in frame.loc[dropped, "note"] and "unchanged" in frame.loc[dropped, "note"]
    assert (frame.drop(index=dropped)["note"] == "").all()
    # The others' coefficients equal an independent least-squares fit without the dropped indicator ...
    D, names = hand_design(X, 4, 8, [c for c in "ABCDE" if c != dropped])
    coef = np.linalg.lstsq(D, y, rcond=None)[0]
    np.testing.assert_allclose(pr.penalty_, coef[1:13:2], atol=1e-9)
    np.testing.assert_allclose(pr.reward_, coef[2:13:2], atol=1e-9)
    assert np.linalg.matrix_rank(D) == D.shape[1]
    # ... and any of the four could have gone: the penalties and rewards do not depend on which.
    for other in "ABCD":
        D2, _ = hand_design(X, 4, 8, [c for c in "ABCDE" if c != other])
        np.testing.assert_allclose(np.linalg.lstsq(D2, y, rcond=None)[0][1:13], coef[1:13], atol=1e-8)
    resid = y - D @ coef
    assert pr.r2_ == pytest.approx(1 - resid @ resid / ((y - y.mean()) ** 2).sum(), abs=1e-12)
    assert pr.penalty_[0] == pytest.approx(-1.5, abs=0.2) and pr.reward_[1] == pytest.approx(1.0, abs=0.2)


def test_penalty_reward_identical_not_rated_patterns_share_one_and_real_collinearity_is_named() -> None:
    X, y, _ = dependent_not_rated(seed=41)
    X.loc[X["E"].isna(), "F"] = np.nan
    X.loc[X["E"].notna(), "F"] = X.loc[X["E"].notna(), "F"].fillna(5)
    pr = PenaltyReward(low=4, high=8, missing="indicator").fit(X, y)
    notes = pr.to_frame().set_index("driver")["note"]
    assert notes["F"] == "not-rated dummy shared with E (same respondents)" and notes["E"] == ""
    # Two drivers scored identically: the low/high dummies themselves are dependent, and the error says that.
    Xs = X.assign(F=X["E"])
    with pytest.raises(ValueError, match=r"low/high dummies are linearly dependent \((low|high)\((E|F)\) = "):
        PenaltyReward(low=4, high=8, missing="indicator").fit(Xs, y)
    with pytest.raises(ValueError, match="no score between the low and the high box for A"):
        PenaltyReward(low=4, high=5, missing="indicator").fit(X.assign(A=X["A"].where(X["A"] != 5, 4)), y)


SIGNS = [  # (penalty, reward) planted -> IA, category
    ((-2.0, 1.0), -1 / 3, "basic"),
    ((-1.0, 2.0), 1 / 3, "excitement"),
    ((-1.0, 0.9), -0.1 / 1.9, "performance"),
    ((-2.0, -0.5), -1.0, "basic"),  # reward < 0, smaller than the penalty
    ((-0.5, -2.0), -1.0, "basic"),  # reward < 0, larger: same signs, same label
    ((1.0, 2.0), 1.0, "excitement"),  # penalty > 0
    ((2.0, 1.0), 1.0, "excitement"),
    ((1.0, -1.0), np.nan, "undetermined"),  # both the unexpected way: a reversed driver
]


@pytest.mark.parametrize(("effects", "ia", "category"), SIGNS)
def test_impact_asymmetry_for_every_sign_combination(effects: tuple[float, float], ia: float, category: str) -> None:
    rng = np.random.default_rng(42)
    n = 2000
    X = pd.DataFrame({"x": rng.integers(1, 6, n), "other": rng.integers(1, 6, n)}).astype(float)
    q, r = effects
    y = 10 + q * (X.x <= 2) + r * (X.x >= 4) + 0.5 * (X.other >= 4) + rng.normal(scale=0.3, size=n)
    pr = PenaltyReward(low=2, high=4).fit(X, y.to_numpy())
    got, (lo, hi) = pr.impact_asymmetry_[0], pr.impact_asymmetry_ci_[0]
    assert pr.category_[0] == category
    if np.isnan(ia):
        assert np.isnan(got) and np.isnan(lo) and np.isnan(hi)
        assert "penalty > 0" in pr.note_[0] and "reward < 0" in pr.note_[0]
        return
    R, P = max(pr.reward_[0], 0.0), max(-pr.penalty_[0], 0.0)
    assert got == pytest.approx((R - P) / (R + P), abs=1e-12) and got == pytest.approx(ia, abs=0.06)
    assert -1 <= lo <= got <= hi <= 1
    assert ("reward < 0" in pr.note_[0]) == (r < 0) and ("penalty > 0" in pr.note_[0]) == (q > 0)


def test_impact_asymmetry_interval_at_the_boundary_reflects_the_clamped_effect() -> None:
    # A reward that is 0 in truth comes out slightly negative or positive; IA stays near -1 either way and the
    # interval, [-1, -1 + 2 z se(reward) / |penalty|], keeps the point and reaches up by the reward's noise.
    rng = np.random.default_rng(3)
    n = 600
    X = pd.DataFrame({"x": rng.integers(1, 6, n), "other": rng.integers(1, 6, n)}).astype(float)
    y = (10 - 2.0 * (X.x <= 2) + 0.5 * (X.other >= 4) + rng.normal(size=n)).to_numpy()
    pr = PenaltyReward(low=2, high=4).fit(X, y)
    assert pr.category_[0] == "basic" and pr.impact_asymmetry_ci_[0, 0] == -1.0
    assert pr.impact_asymmetry_ci_[0, 0] <= pr.impact_asymmetry_[0] <= pr.impact_asymmetry_ci_[0, 1] < -0.6
    se_r = (pr.reward_ci_[0, 1] - pr.reward_ci_[0, 0]) / 2 / 1.96  # t ~ z at n = 600
    if pr.reward_[0] < 0:
        assert pr.impact_asymmetry_ci_[0, 1] == pytest.approx(-1 + 2 * 1.96 * se_r / abs(pr.penalty_[0]), rel=0.01)
