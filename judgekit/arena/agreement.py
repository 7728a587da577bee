"""Agreement statistics for arenas and juries: rank correlations and Fleiss' kappa.

Pure functions of their inputs (numpy only). Kendall's tau is tau-b (ties in either
ranking handled); Spearman's rho is Pearson's correlation of average ranks.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np


def average_ranks(values: Sequence[float]) -> np.ndarray:
    """Ranks 1..n of ``values`` (ascending), tied values sharing their mean rank."""
    x = np.asarray(values, dtype=float)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(x.size)
    i = 0
    while i < x.size:
        j = i
        while j + 1 < x.size and x[order[j + 1]] == x[order[i]]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman_rho(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation; NaN when either side is constant or n < 2."""
    if len(x) != len(y):
        raise ValueError("spearman needs paired values")
    if len(x) < 2:
        return math.nan
    rx, ry = average_ranks(x), average_ranks(y)
    sx, sy = rx.std(), ry.std()
    if sx == 0 or sy == 0:
        return math.nan
    return float(((rx - rx.mean()) * (ry - ry.mean())).mean() / (sx * sy))


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's tau-b; NaN when either side is constant or n < 2."""
    if len(x) != len(y):
        raise ValueError("kendall needs paired values")
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    iu, ju = np.triu_indices(a.size, k=1)
    sa, sb = np.sign(a[iu] - a[ju]), np.sign(b[iu] - b[ju])
    n_a, n_b = np.count_nonzero(sa), np.count_nonzero(sb)
    if n_a == 0 or n_b == 0:
        return math.nan
    return float((sa * sb).sum() / math.sqrt(n_a * n_b))


def fleiss_kappa(ratings: Sequence[Sequence[Hashable]]) -> float:
    """Fleiss' kappa for items each rated by the same number of raters (>= 2).

    ``ratings[k]`` holds item k's labels (one per rater, any hashable). Returns NaN
    for no items, and 1.0 when every rater uses one identical category throughout.
    """
    if not ratings:
        return math.nan
    m = len(ratings[0])
    if m < 2 or any(len(r) != m for r in ratings):
        raise ValueError("Fleiss' kappa needs the same number (>= 2) of ratings per item")
    cats = sorted({c for r in ratings for c in r}, key=str)
    counts = np.array([[list(r).count(c) for c in cats] for r in ratings], dtype=float)
    p_item = ((counts * (counts - 1)).sum(axis=1)) / (m * (m - 1))
    p_bar = float(p_item.mean())
    p_cat = counts.sum(axis=0) / counts.sum()
    p_exp = float((p_cat**2).sum())
    if p_exp >= 1.0:
        return 1.0 if p_bar >= 1.0 else 0.0
    return (p_bar - p_exp) / (1 - p_exp)
