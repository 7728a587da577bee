"""Statistics a careful reader can trust: intervals, paired comparisons, agreement.

Everything is a pure function of its inputs and a seed (numpy ``default_rng``), so a
report is reproducible bit for bit. Bootstrap intervals are percentile intervals;
stratified resampling keeps each stratum's (subset's) size fixed, matching a
benchmark whose subsets are fixed by design.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")
Statistic = Callable[[Sequence[T]], Mapping[str, float]]

# A paired difference on fewer items than this is never called significant: with a
# handful of items the percentile bootstrap collapses to a near-zero-width interval
# (every resample holds the same few items), so "the interval excludes 0" means
# little. Ten paired items is the smallest set on which a unanimous difference is
# also significant by an exact sign test (2 / 2**10 < 0.01).
MIN_N_SIGNIFICANT = 10

_Z = {0.90: 1.6448536269514722, 0.95: 1.959963984540054, 0.99: 2.5758293035489004}


def _z(level: float) -> float:
    if level in _Z:
        return _Z[level]
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + level / 2)


def rate(k: int, n: int) -> float | None:
    """``k / n``, or None when there is nothing to divide by (a rate over no items is unknown, not 0)."""
    return k / n if n else None


#: The conventional rounded 95% normal quantile; run summaries and probe tables use it
#: (their published intervals were computed with it), the rest uses the exact quantile.
Z95_ROUNDED = 1.96


def wilson_interval(successes: int, n: int, level: float = 0.95, z: float | None = None) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (sound at 0, 1 and small ``n``).

    ``z`` overrides the normal quantile of ``level`` (e.g. :data:`Z95_ROUNDED`).
    """
    if n <= 0:
        return (0.0, 1.0)
    z = _z(level) if z is None else z
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # the bounds at p = 0 and p = 1 are exactly 0 and 1; floating point would miss them by an ulp
    lo = 0.0 if successes <= 0 else max(0.0, centre - half)
    hi = 1.0 if successes >= n else min(1.0, centre + half)
    return (lo, hi)


def bootstrap_mean_ci(
    values: Sequence[float], n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """Mean of ``values`` with a percentile bootstrap interval: ``(mean, lo, hi)``.

    An empty input gives NaNs; a single value gives a zero-width interval.
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return (math.nan, math.nan, math.nan)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    means = x[idx].mean(axis=1)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return (float(x.mean()), float(lo), float(hi))


def accuracy_ci(
    correct: Sequence[float], n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, Any]:
    """Accuracy (mean credit in [0, 1]) with bootstrap and Wilson intervals.

    Credits may be fractional (e.g. 0.5 for a tie); the Wilson interval then uses
    the rounded number of successes and is reported for reference only.
    """
    mean, lo, hi = bootstrap_mean_ci(correct, n_boot, seed, level)
    n = len(correct)
    w_lo, w_hi = wilson_interval(round(sum(correct)), n, level)
    return {"value": mean, "ci": [lo, hi], "wilson": [w_lo, w_hi], "n": n, "level": level}


def _strata_indices(strata: Sequence[Hashable] | None, n: int) -> list[np.ndarray]:
    if strata is None:
        return [np.arange(n)]
    groups: dict[Hashable, list[int]] = {}
    for i, s in enumerate(strata):
        groups.setdefault(s, []).append(i)
    return [np.asarray(v) for v in groups.values()]


def resample_indices(
    strata: Sequence[Hashable] | None, n: int, n_boot: int, seed: int
) -> list[np.ndarray]:
    """``n_boot`` index arrays drawn with replacement within each stratum (seeded)."""
    rng = np.random.default_rng(seed)
    groups = _strata_indices(strata, n)
    out = []
    for _ in range(n_boot):
        parts = [g[rng.integers(0, g.size, size=g.size)] for g in groups if g.size]
        out.append(np.concatenate(parts) if parts else np.arange(0))
    return out


def _finite_quantiles(values: list[float], level: float) -> list[float] | None:
    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if arr.size == 0:
        return None
    alpha = (1 - level) / 2
    lo, hi = np.quantile(arr, [alpha, 1 - alpha])
    return [float(lo), float(hi)]


def bootstrap_statistic(
    records: Sequence[T],
    statistic: Statistic[T],
    strata: Sequence[Hashable] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, dict[str, Any]]:
    """Point value and percentile interval of every key ``statistic`` returns.

    ``statistic`` maps a list of records to named numbers (a benchmark's aggregate);
    records are resampled with replacement, within ``strata`` when given.
    Returns ``{key: {"value": v, "ci": [lo, hi] | None}}``.
    """
    point = dict(statistic(list(records)))
    draws: dict[str, list[float]] = {k: [] for k in point}
    for idx in resample_indices(strata, len(records), n_boot, seed):
        values = statistic([records[i] for i in idx])
        for k in draws:
            draws[k].append(values.get(k, math.nan))
    return {k: {"value": v, "ci": _finite_quantiles(draws[k], level)} for k, v in point.items()}


@dataclass(frozen=True)
class PairedResult:
    """A paired comparison of run A against run B on the same items (A minus B).

    ``significant`` needs the interval to exclude zero **and** ``n >= min_n``;
    ``underpowered`` marks a result whose interval excludes zero on too few items.
    """

    a: float
    b: float
    diff: float
    ci: tuple[float, float] | None
    p_value: float | None
    significant: bool
    n: int
    min_n: int = MIN_N_SIGNIFICANT
    underpowered: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        d = asdict(self)
        d["ci"] = list(self.ci) if self.ci is not None else None
        return d


def _paired(a: float, b: float, diffs: list[float], n: int, level: float,
            min_n: int = MIN_N_SIGNIFICANT) -> PairedResult:
    arr = np.asarray([d for d in diffs if math.isfinite(d)], dtype=float)
    diff = a - b
    if arr.size == 0 or not math.isfinite(diff):
        return PairedResult(a, b, diff, None, None, False, n, min_n)
    alpha = (1 - level) / 2
    lo, hi = (float(q) for q in np.quantile(arr, [alpha, 1 - alpha]))
    # Two-sided bootstrap p-value: how often the resampled difference falls on the
    # other side of zero, doubled (capped at 1).
    p = min(1.0, 2 * min(float(np.mean(arr <= 0)), float(np.mean(arr >= 0))))
    excludes_zero = lo > 0 or hi < 0
    enough = n >= min_n
    return PairedResult(a, b, diff, (lo, hi), p, excludes_zero and enough, n, min_n, excludes_zero and not enough)


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], n_boot: int = 1000, seed: int = 0, level: float = 0.95,
    min_n: int = MIN_N_SIGNIFICANT,
) -> PairedResult:
    """Compare the means of two runs scored on the same items, in the same order.

    Items are resampled jointly, so the interval reflects the paired design.
    ``significant`` is true when the interval excludes zero and there are at
    least ``min_n`` items.
    """
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if xa.shape != xb.shape:
        raise ValueError(f"paired runs need the same items: {xa.size} vs {xb.size}")
    if xa.size == 0:
        return PairedResult(math.nan, math.nan, math.nan, None, None, False, 0, min_n)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, xa.size, size=(n_boot, xa.size))
    diffs = (xa[idx].mean(axis=1) - xb[idx].mean(axis=1)).tolist()
    return _paired(float(xa.mean()), float(xb.mean()), diffs, int(xa.size), level, min_n)


def paired_bootstrap_statistic(
    records_a: Sequence[T],
    records_b: Sequence[T],
    statistic: Statistic[T],
    strata: Sequence[Hashable] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    min_n: int = MIN_N_SIGNIFICANT,
    counts: Mapping[str, int] | None = None,
) -> dict[str, PairedResult]:
    """Paired bootstrap of every key of ``statistic``; records must be aligned by item.

    ``counts`` gives the number of items behind a key (a subset's size) for the
    minimum-n rule; keys not in it use the number of records.
    """
    if len(records_a) != len(records_b):
        raise ValueError(f"paired runs need the same items: {len(records_a)} vs {len(records_b)}")
    pa, pb = dict(statistic(list(records_a))), dict(statistic(list(records_b)))
    keys = [k for k in pa if k in pb]
    diffs: dict[str, list[float]] = {k: [] for k in keys}
    for idx in resample_indices(strata, len(records_a), n_boot, seed):
        va = statistic([records_a[i] for i in idx])
        vb = statistic([records_b[i] for i in idx])
        for k in keys:
            diffs[k].append(va.get(k, math.nan) - vb.get(k, math.nan))
    sizes = counts or {}
    return {k: _paired(pa[k], pb[k], diffs[k], sizes.get(k, len(records_a)), level, min_n) for k in keys}


def cohen_kappa(rater1: Sequence[Hashable], rater2: Sequence[Hashable]) -> float:
    """Cohen's kappa between two raters over the same items (any hashable labels).

    Returns 1.0 when both raters use a single identical category throughout (perfect
    agreement, undefined chance correction) and NaN for empty input.
    """
    if len(rater1) != len(rater2):
        raise ValueError("kappa needs two ratings per item")
    n = len(rater1)
    if n == 0:
        return math.nan
    cats = sorted({*rater1, *rater2}, key=str)
    p_obs = sum(1 for x, y in zip(rater1, rater2, strict=True) if x == y) / n
    p_exp = sum((list(rater1).count(c) / n) * (list(rater2).count(c) / n) for c in cats)
    if p_exp >= 1.0:
        return 1.0 if p_obs >= 1.0 else 0.0
    return (p_obs - p_exp) / (1 - p_exp)


def classification_report(
    y_true: Sequence[Hashable], y_pred: Sequence[Hashable], labels: Sequence[Hashable]
) -> dict[str, Any]:
    """Per-class precision/recall/F1 over ``labels`` plus their unweighted (macro) means.

    A prediction outside ``labels`` (e.g. a parse failure) is a miss for its true
    class and a false positive for none. A class with no predictions has precision
    0; one absent from both columns has all three metrics 0 (as scikit-learn's
    ``zero_division=0``).
    """
    if len(y_true) != len(y_pred):
        raise ValueError("classification needs one prediction per item")
    per: dict[str, dict[str, float]] = {}
    for c in labels:
        tp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == c and p == c)
        fp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t != c and p == c)
        fn = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == c and p != c)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per[str(c)] = {"precision": prec, "recall": rec, "f1": f1, "support": float(tp + fn)}
    k = len(labels) or 1
    return {
        "per_class": per,
        "macro_precision": sum(v["precision"] for v in per.values()) / k,
        "macro_recall": sum(v["recall"] for v in per.values()) / k,
        "macro_f1": sum(v["f1"] for v in per.values()) / k,
        "accuracy": sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == p) / len(y_true) if y_true else 0.0,
    }


def macro_f1(y_true: Sequence[Hashable], y_pred: Sequence[Hashable], labels: Sequence[Hashable]) -> float:
    """Unweighted mean of per-class F1 over ``labels`` (see :func:`classification_report`)."""
    return float(classification_report(y_true, y_pred, labels)["macro_f1"])


@dataclass(frozen=True)
class CalibrationBin:
    """One bin of a reliability diagram."""

    lo: float
    hi: float
    count: int
    mean_confidence: float | None
    accuracy: float | None


def calibration_bins(
    confidences: Sequence[float], correct: Sequence[bool | float], n_bins: int = 10
) -> list[CalibrationBin]:
    """Equal-width bins over [0, 1]: mean confidence and observed accuracy per bin.

    The last bin includes 1.0. Empty bins have ``None`` means.
    """
    if len(confidences) != len(correct):
        raise ValueError("calibration needs one outcome per confidence")
    conf = np.clip(np.asarray(confidences, dtype=float), 0.0, 1.0)
    hit = np.asarray(correct, dtype=float)
    which = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    out = []
    for b in range(n_bins):
        mask = which == b
        count = int(mask.sum())
        out.append(
            CalibrationBin(
                lo=b / n_bins, hi=(b + 1) / n_bins, count=count,
                mean_confidence=float(conf[mask].mean()) if count else None,
                accuracy=float(hit[mask].mean()) if count else None,
            )
        )
    return out


def expected_calibration_error(bins: Sequence[CalibrationBin]) -> float:
    """Count-weighted mean |accuracy - confidence| over non-empty bins (ECE)."""
    total = sum(b.count for b in bins)
    if total == 0:
        return math.nan
    return sum(
        b.count * abs(float(b.accuracy) - float(b.mean_confidence))
        for b in bins
        if b.count and b.accuracy is not None and b.mean_confidence is not None
    ) / total


def brier_score(confidences: Sequence[float], correct: Sequence[bool | float]) -> float:
    """Mean squared error between confidence and the 0/1 outcome."""
    if not confidences:
        return math.nan
    c, y = np.asarray(confidences, dtype=float), np.asarray(correct, dtype=float)
    return float(np.mean((c - y) ** 2))
