"""Key drivers with bootstrap intervals: momenti vs a straightforward pandas + numpy-lstsq implementation.

    python bench/drivers.py                                   # 1 M respondents x 14 drivers, 1000 resamples
    BENCH_ROWS=100000 BENCH_BOOT=200 python bench/drivers.py  # a quick run

Data: ratings 1-10 driven by a shared "mood" factor plus driver-specific noise, an outcome 0-10 built from
them; complete rows (listwise = pairwise). Both sides compute Johnson's relative weights of the full sample
and percentile intervals from case-resampling bootstrap replicates, and must agree on the point estimate.

- momenti: ``RelativeWeights(n_boot=B).fit(X, y)``. Each resample is a weighted moment matrix: draw counts
  for every row (multinomial below 100 k rows, Poisson(1) above: see momenti/analysis/bootstrap.py), and all
  resamples of a row block are one matrix product Fᵀ W with F the rows' products (1, x_j, x_j·x_k); the
  relative weights then come from B small correlation matrices in one batched eigendecomposition.
- baseline: what one writes without thinking about it: for each resample ``df.sample(frac=1, replace=True)``,
  standardise, orthogonalise with an SVD, and regress with ``np.linalg.lstsq`` (Johnson's original recipe).
  A baseline resample takes ~1 s at 1 M rows, so it runs ``BENCH_BASE_BOOT`` resamples (default 20) and its
  time for B resamples is extrapolated linearly (each resample is the same work); the printout says so.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pandas as pd

from momenti.engines import RelativeWeights

N = int(os.environ.get("BENCH_ROWS", 1_000_000))
P = int(os.environ.get("BENCH_DRIVERS", 14))
B = int(os.environ.get("BENCH_BOOT", 1000))
BASE_B = int(os.environ.get("BENCH_BASE_BOOT", 20))


def make_data(n: int, p: int, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mood = rng.normal(size=n)
    X = np.clip(np.round(7 + 1.2 * mood[:, None] + 1.3 * rng.normal(size=(n, p))), 1, 10)
    beta = np.linspace(0.05, 0.4, p)
    y = np.clip(np.round(7 + (X - 7) @ beta / 2 + 0.3 * mood + rng.normal(size=n)), 0, 10)
    df = pd.DataFrame(X, columns=[f"tp{j:02d}" for j in range(p)])
    df["nps"] = y
    return df


def baseline_weights(df: pd.DataFrame, drivers: list[str]) -> np.ndarray:
    X = df[drivers].to_numpy(float)
    y = df["nps"].to_numpy(float)
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    zy = (y - y.mean()) / y.std()
    U, _, Vt = np.linalg.svd(Z, full_matrices=False)
    Zo = U @ Vt * np.sqrt(len(y))  # the orthogonal unit-variance variables closest to Z
    beta = np.linalg.lstsq(Zo, zy, rcond=None)[0]
    lam = np.linalg.lstsq(Zo, Z, rcond=None)[0]  # Z regressed on Zo: Λ
    return (lam.T**2) @ (beta**2)


def baseline(df: pd.DataFrame, drivers: list[str], n_boot: int) -> tuple[np.ndarray, np.ndarray, float]:
    t0 = time.perf_counter()
    point = baseline_weights(df, drivers)
    boot = [baseline_weights(df.sample(frac=1.0, replace=True, random_state=i), drivers) for i in range(n_boot)]
    ci = np.quantile(np.array(boot), [0.025, 0.975], axis=0).T
    return point, ci, time.perf_counter() - t0


def main() -> None:
    print(f"key drivers: {N:,} respondents x {P} drivers, {B} bootstrap resamples (relative weights)")
    df = make_data(N, P)
    drivers = [c for c in df.columns if c != "nps"]
    t0 = time.perf_counter()
    est = RelativeWeights(n_boot=B, random_state=0).fit(df[drivers], df["nps"])
    t_m = time.perf_counter() - t0
    point, ci_base, t_b = baseline(df, drivers, BASE_B)
    np.testing.assert_allclose(est.weights_, point, atol=1e-9)
    per_b = t_b / (BASE_B + 1)  # the point estimate costs what one resample costs
    t_b_full = per_b * (B + 1)
    print(f"  point estimates agree (max |diff| {np.abs(est.weights_ - point).max():.1e}); R² {est.r2_:.3f}")
    print(f"  momenti  : {t_m:8.2f} s  ({B} resamples, {est.n_boot_used_} used)")
    print(f"  baseline : {t_b:8.2f} s for {BASE_B} resamples = {per_b:.3f} s each -> {t_b_full:8.1f} s "
          f"for {B} (extrapolated)")
    print(f"  ratio    : {t_b_full / t_m:8.1f}x  (target >= 10x)")
    if BASE_B >= 20:
        # Interval widths from the two bootstraps should be of the same size (20+ baseline resamples: rough).
        w_m, w_b = np.diff(est.ci_).ravel(), np.diff(ci_base).ravel()
        print(f"  CI width momenti / baseline (median over drivers): {np.median(w_m / w_b):.2f}")


if __name__ == "__main__":
    main()
