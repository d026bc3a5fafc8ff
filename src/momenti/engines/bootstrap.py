"""Moments, correlation matrices and bootstrap resampling for key-driver analysis, vectorised.

Everything a correlation-based driver analysis needs is a handful of sums over respondents ("moments"):
counts, sums, sums of squares and cross-products. They can come from a database (a GROUP BY) or from rows
in numpy; the correlation matrix follows from them without looking at rows again.

The bootstrap resamples respondents, so a resample's moments are the rows' moments weighted by how many
times each row was drawn: sums_b = Fᵀ w_b, with F a per-row feature matrix (1, z_j, z_j·z_k, ...) and w_b
the draw counts. All resamples of a block are one matrix product Fᵀ W (rows × resamples), which is what
makes 1000 resamples of a million rows take seconds instead of minutes.

Draw counts:
- n ≤ ``MULTINOMIAL_MAX_N`` rows: the classical case resampling, n draws with replacement (multinomial
  counts), generated as integer indices and counted with ``bincount``.
- larger n: the Poisson bootstrap (Hanley & MacGibbon 2006; Chamandy et al. 2012): each row's count is an
  independent Poisson(1). It is asymptotically equivalent to case resampling (the resample size varies by
  about ±√n, which correlations, being ratios, do not depend on) and needs no coordination across rows, so
  rows are processed in chunks. Poisson(1) counts are drawn from 16-bit uniform integers through an
  inverse-CDF lookup table (probabilities exact to 2⁻¹⁶), which is ~10× faster than numpy's Poisson sampler.
- Rows given with a frequency weight c (identical respondents collapsed into one row) get Multinomial
  counts over the expanded index, or Poisson(c): both exactly the distribution the expanded rows would have.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

MULTINOMIAL_MAX_N = 100_000
_CHUNK_ELEMENTS = 8_000_000  # rows × resamples per weight block (~64 MB of float64)


def _poisson_table() -> np.ndarray:
    """Inverse CDF of Poisson(1) on 16-bit uniforms: table[u] = k with P(X < k) <= u / 2¹⁶ < P(X <= k)."""
    from scipy import stats

    cdf = stats.poisson.cdf(np.arange(16), 1.0)
    return np.searchsorted(cdf * 65536.0, np.arange(65536) + 0.5, side="right").astype(np.float64)


_TABLE: np.ndarray | None = None


def boot_weights(rng: np.random.Generator, counts: np.ndarray,
                 n_boot: int) -> Iterator[tuple[slice, slice, np.ndarray]]:
    """Yield (row slice, resample slice, weights) blocks covering rows × resamples.

    ``counts``: frequency weight of each row (1 for plain rows). The blocks are generated in a fixed order
    from ``rng`` only, so the same seed gives the same resamples.
    """
    global _TABLE
    k = len(counts)
    n = int(counts.sum())
    if n <= MULTINOMIAL_MAX_N:
        expanded = np.repeat(np.arange(k), counts.astype(np.int64))
        per = max(1, _CHUNK_ELEMENTS // max(n, 1))
        for b0 in range(0, n_boot, per):
            bb = min(per, n_boot - b0)
            idx = expanded[rng.integers(0, n, size=(bb, n))]
            idx += (np.arange(bb) * k)[:, None]
            w = np.bincount(idx.ravel(), minlength=bb * k).reshape(bb, k).T.astype(np.float64)
            yield slice(0, k), slice(b0, b0 + bb), w
        return
    if _TABLE is None:
        _TABLE = _poisson_table()
    multi = counts != 1
    rows = max(1, _CHUNK_ELEMENTS // max(n_boot, 1))
    for r0 in range(0, k, rows):
        r1 = min(k, r0 + rows)
        m = r1 - r0
        # 4 uniform 16-bit draws per 64-bit output of the generator.
        raw = rng.bit_generator.random_raw((m * n_boot + 3) // 4).view(np.uint16)[: m * n_boot]
        w = _TABLE[raw].reshape(m, n_boot)
        sel = np.flatnonzero(multi[r0:r1])
        if sel.size:
            w[sel] = rng.poisson(counts[r0:r1][sel, None], size=(sel.size, n_boot))
        yield slice(r0, r1), slice(0, n_boot), w


# -- moments -----------------------------------------------------------------------------------------------
# A moments set is four arrays (..., q, q): N[j, k] number of rows with j and k both present, S[j, k] sum of
# x_j over those rows, SS[j, k] sum of x_j², C[j, k] sum of x_j·x_k. With complete data N, S and SS do not
# depend on k. Leading dimensions are resamples (or groups).

Moments = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _features(Z: np.ndarray, pairwise: bool) -> tuple[np.ndarray, int]:
    """Per-row products whose weighted column sums are the moments (see ``_unpack``)."""
    k, q = Z.shape
    iu = np.triu_indices(q)
    if not pairwise:
        cross = Z[:, iu[0]] * Z[:, iu[1]]
        return np.column_stack([np.ones(k), Z, cross]), q
    M = np.isfinite(Z).astype(np.float64)
    Z0 = np.where(M > 0, Z, 0.0)
    both = M[:, iu[0]] * M[:, iu[1]]
    s = (Z0[:, :, None] * M[:, None, :]).reshape(k, q * q)
    ss = ((Z0**2)[:, :, None] * M[:, None, :]).reshape(k, q * q)
    cross = Z0[:, iu[0]] * Z0[:, iu[1]]
    return np.column_stack([both, s, ss, cross]), q


def _sym(upper: np.ndarray, q: int) -> np.ndarray:
    """(..., q(q+1)/2) upper-triangle values -> (..., q, q) symmetric matrices."""
    out = np.zeros((*upper.shape[:-1], q, q))
    iu = np.triu_indices(q)
    out[..., iu[0], iu[1]] = upper
    out[..., iu[1], iu[0]] = upper
    return out


def _unpack(sums: np.ndarray, q: int, pairwise: bool) -> Moments:
    """Feature sums (..., f) -> moments (N, S, SS, C)."""
    t = q * (q + 1) // 2
    if not pairwise:
        w, s, cross = sums[..., 0], sums[..., 1 : 1 + q], sums[..., 1 + q :]
        C = _sym(cross, q)
        N = np.broadcast_to(w[..., None, None], C.shape)
        S = np.broadcast_to(s[..., :, None], C.shape)
        SS = np.broadcast_to(np.diagonal(C, axis1=-2, axis2=-1)[..., :, None], C.shape)
        return N, S, SS, C
    N = _sym(sums[..., :t], q)
    S = sums[..., t : t + q * q].reshape(*sums.shape[:-1], q, q)
    SS = sums[..., t + q * q : t + 2 * q * q].reshape(*sums.shape[:-1], q, q)
    C = _sym(sums[..., t + 2 * q * q :], q)
    return N, S, SS, C


def row_moments(Z: np.ndarray, counts: np.ndarray, pairwise: bool) -> Moments:
    """Moments of rows Z (NaN = missing) with frequency weights ``counts``."""
    F, q = _features(Z, pairwise)
    return _unpack(counts @ F, q, pairwise)


def boot_moments(Z: np.ndarray, counts: np.ndarray, pairwise: bool, n_boot: int,
                 rng: np.random.Generator) -> Moments:
    """Moments of ``n_boot`` bootstrap resamples of the rows, shape (n_boot, q, q) each."""
    # Centring on the sample means changes no correlation but keeps the sums small, so the weighted
    # cross-products lose no precision to cancellation.
    Z = Z - np.nanmean(Z, axis=0)
    F, q = _features(Z, pairwise)
    sums = np.zeros((n_boot, F.shape[1]))
    for rows, boots, w in boot_weights(rng, counts, n_boot):
        sums[boots] += (F[rows].T @ w).T
    return _unpack(sums, q, pairwise)


def correlation(moments: Moments) -> np.ndarray:
    """Pairwise (or complete-data) Pearson correlations from moments; NaN where a pair is undefined."""
    N, S, SS, C = moments
    St, SSt = np.swapaxes(S, -1, -2), np.swapaxes(SS, -1, -2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mj, mk = S / N, St / N
        vj, vk = SS / N - mj**2, SSt / N - mk**2
        cov = C / N - mj * mk
        R = cov / np.sqrt(vj * vk)
    R = np.where((N >= 2) & (vj > 0) & (vk > 0), R, np.nan)
    q = R.shape[-1]
    diag = np.isfinite(np.diagonal(R, axis1=-2, axis2=-1))
    R[..., np.arange(q), np.arange(q)] = np.where(diag, 1.0, np.nan)
    return np.clip(R, -1.0, 1.0)


def repair_psd(R: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Shrink correlation matrices toward the identity just enough that their smallest eigenvalue is ``floor``.

    A pairwise-deletion correlation matrix mixes correlations measured on different respondents and need not
    be positive definite; a regression on it can then claim R² near 1. (1 − λ)R + λI with the smallest such λ
    keeps every correlation's sign and relative size and leaves a valid matrix alone (λ = 0). Returns the
    matrices and λ (per matrix).
    """
    lam_min = np.linalg.eigvalsh(R)[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        shrink = np.where(lam_min >= floor, 0.0, np.clip((floor - lam_min) / (1.0 - lam_min), 0.0, 1.0))
    eye = np.eye(R.shape[-1])
    return (1.0 - shrink)[..., None, None] * R + shrink[..., None, None] * eye, shrink


# -- importance from correlation matrices (batched over leading dimensions) -------------------------------


def relative_weights(Rxx: np.ndarray, rxy: np.ndarray) -> np.ndarray:
    """Johnson (2000): Rxx = VΛVᵀ, Λ* = VΛ^½Vᵀ, β* = Λ*⁺ r_xy, ε_j = Σ_k λ*_jk² β*_k²; the ε sum to R²."""
    lam, V = np.linalg.eigh(Rxx)
    sq = np.sqrt(np.clip(lam, 0.0, None))
    # Pseudo-inverse of Λ* for (near-)singular driver sets: the tolerance numpy's lstsq uses.
    tol = np.finfo(float).eps * Rxx.shape[-1] * sq.max(axis=-1, keepdims=True)
    inv = np.where(sq > tol, 1.0 / np.where(sq > tol, sq, 1.0), 0.0)
    Vt = np.swapaxes(V, -1, -2)
    lam_star = (V * sq[..., None, :]) @ Vt
    beta = ((V * inv[..., None, :]) @ Vt @ rxy[..., None])[..., 0]
    return ((lam_star**2) @ (beta**2)[..., None])[..., 0]


def subset_r2(Rxx: np.ndarray, rxy: np.ndarray, max_cells: int = 20_000_000) -> np.ndarray:
    """R² of every subset of drivers, (..., 2^p) indexed by bitmask; batched solves per subset size."""
    from itertools import combinations

    lead = Rxx.shape[:-2]
    p = Rxx.shape[-1]
    Rf, rf = Rxx.reshape(-1, p, p), rxy.reshape(-1, p)
    out = np.zeros((Rf.shape[0], 1 << p))
    for s in range(1, p + 1):
        idx = np.array(list(combinations(range(p), s)))
        masks = (1 << idx).sum(axis=1)
        step = max(1, max_cells // (len(idx) * s * s))
        for b0 in range(0, Rf.shape[0], step):
            sub = Rf[b0 : b0 + step][:, idx[:, :, None], idx[:, None, :]]
            rhs = rf[b0 : b0 + step][:, idx]
            try:
                sol = np.linalg.solve(sub, rhs[..., None])[..., 0]
            except np.linalg.LinAlgError:
                # Perfectly collinear subsets: the pseudo-inverse gives the (well-defined) projection R².
                sol = (np.linalg.pinv(sub) @ rhs[..., None])[..., 0]
            out[b0 : b0 + step, masks] = (rhs * sol).sum(axis=-1)
    return out.reshape(*lead, 1 << p)


def shapley_exact(Rxx: np.ndarray, rxy: np.ndarray) -> np.ndarray:
    """LMG: each driver's marginal R² gain averaged over all orderings, via subset weights s!(p-s-1)!/p!."""
    import math

    p = Rxx.shape[-1]
    r2 = subset_r2(Rxx, rxy)
    masks = np.arange(1 << p)
    size = np.array([bin(m).count("1") for m in masks])
    coef = np.array([math.factorial(s) * math.factorial(p - s - 1) / math.factorial(p) for s in range(p)])
    w = np.zeros((*r2.shape[:-1], p))
    for j in range(p):
        without = masks[(masks >> j) & 1 == 0]
        w[..., j] = (r2[..., without | (1 << j)] - r2[..., without]) @ coef[size[without]]
    return w


def ranks(w: np.ndarray) -> np.ndarray:
    """Rank 1 = largest, along the last axis; ties broken by position (stable)."""
    order = np.argsort(-w, axis=-1, kind="stable")
    out = np.empty_like(order)
    np.put_along_axis(out, order, np.arange(1, w.shape[-1] + 1) * np.ones_like(order), axis=-1)
    return out
