"""Score a benchmark run and compare two runs (pure functions over outcomes).

``score_benchmark`` returns the JSON-ready dict that ``scores.json`` holds: every
aggregate number with a stratified bootstrap interval, the per-item results (so a
later ``compare`` can pair items), and judge diagnostics (tie rate, parse
failures, position consistency).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from judgekit.core.stats import (
    MIN_N_SIGNIFICANT,
    bootstrap_statistic,
    paired_bootstrap_statistic,
    rate,
    wilson_interval,
)
from judgekit.evaluation.benchmarks.base import (
    Benchmark,
    EvalSet,
    ItemResult,
    Outcome,
    PairOutcome,
    ScoreOutcome,
    group_outcomes,
)
from judgekit.evaluation.benchmarks.common import judged

SCORES_VERSION = 1


def diagnostics(outcomes: Iterable[Outcome]) -> dict[str, Any]:
    """Judge behaviour independent of the labels: failures, ties, consistency."""
    outs = list(outcomes)
    pairs = [o for o in outs if isinstance(o, PairOutcome)]
    scores = [o for o in outs if isinstance(o, ScoreOutcome)]
    parsed = [p for p in pairs if p.winner is not None]
    with_cons = [p for p in pairs if p.consistent is not None]
    out: dict[str, Any] = {"comparisons": len(pairs), "scored_candidates": len(scores)}
    skipped = [o for o in outs if o.skipped]
    if skipped:
        out["skipped"] = len(skipped)
        out["skipped_reason"] = skipped[0].skipped
    if pairs:
        out["parse_failure_rate"] = (len(pairs) - len(parsed)) / len(pairs)
        out["tie_rate"] = rate(sum(p.winner == "tie" for p in parsed), len(parsed))
        out["a_rate"] = rate(sum(p.winner == "A" for p in parsed), len(parsed))
        out["position_consistency"] = rate(sum(bool(p.consistent) for p in with_cons), len(with_cons))
    if scores:
        valid = [s.score for s in scores if s.score is not None]
        out["score_failure_rate"] = (len(scores) - len(valid)) / len(scores)
        out["mean_score"] = sum(valid) / len(valid) if valid else None
    return out


def score_benchmark(
    bench: Benchmark,
    evalset: EvalSet,
    outcomes: Sequence[Outcome],
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Upstream scores with bootstrap intervals for every aggregate number.

    Items with no outcome at all (not judged, e.g. ``--limit``) are left out and
    counted in ``items_missing``; a failed judgment is an outcome and scores as
    the upstream rule says.
    """
    grouped = group_outcomes(outcomes)
    results = bench.item_results(evalset, grouped)
    strata = [r.subset for r in results]
    stats = bootstrap_statistic(results, bench.aggregate, strata=strata, n_boot=n_boot, seed=seed, level=level)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.subset] = counts.get(r.subset, 0) + 1
    metrics: dict[str, Any] = {}
    for key, v in stats.items():
        n = counts.get(key.split("/", 1)[1], 0) if key.startswith("subset/") else len(results)
        metrics[key] = {"value": _clean(v["value"]), "ci": v["ci"], "n": n}
    for key, (k, n) in binary_counts(results).items():
        if key == "overall" and not bench.overall_is_proportion:
            continue
        value = metrics.get(key, {}).get("value")
        if value is not None and n and abs(value - k / n) < 1e-9:  # the metric is that proportion
            metrics[key]["wilson"] = list(wilson_interval(k, n, level))
    judged_ids = {r.item_id for r in results}
    skipped_items = sorted({o.item_id for o in outcomes if o.skipped})
    n_judged = sum(1 for _ in judged(evalset, grouped))
    return {
        "scores_version": SCORES_VERSION,
        "benchmark": bench.name,
        "description": bench.description,
        "upstream": bench.upstream,
        "primary": bench.primary,
        "source": evalset.source,
        "items_total": len(evalset.items),
        "items_judged": n_judged,
        "items_missing": len(evalset.items) - n_judged,
        "records": len(judged_ids),
        "items_skipped": len(skipped_items),
        "metrics": metrics,
        "diagnostics": diagnostics(outcomes),
        "bootstrap": {"n_boot": n_boot, "seed": seed, "level": level, "stratified_by": "subset"},
        "notes": list(evalset.notes) + ([f"{len(skipped_items)} item(s) not judged (too long for the model's context "
                                         "or otherwise skipped, never truncated): scored as failures under the "
                                         "upstream rule"] if skipped_items else []),
        "items": [r.to_dict() for r in results],
        "unit_labels": _unit_labels(evalset, results),
    }


def binary_counts(results: Sequence[ItemResult]) -> dict[str, tuple[int, int]]:
    """``(successes, n)`` for ``overall`` and each ``subset/NAME`` whose item credits are all 0 or 1.

    These are the numbers a Wilson interval applies to (a proportion of items;
    ``overall`` only where the benchmark says its overall is that proportion);
    a subset with fractional credit (ties worth 0.5, best-of-n shares) gets none,
    and ``overall`` gets one only when every item's credit is 0 or 1.
    """
    by: dict[str, list[float]] = {}
    for r in results:
        if r.credit is not None:
            by.setdefault(f"subset/{r.subset}", []).append(float(r.credit))
            by.setdefault("overall", []).append(float(r.credit))
    return {key: (int(sum(v)), len(v)) for key, v in by.items() if all(c in (0.0, 1.0) for c in v)}


def _unit_labels(evalset: EvalSet, results: Sequence[ItemResult]) -> dict[str, str | None]:
    """Map each judged pairwise unit to its expected verdict (for calibration and examples)."""
    items = {it.id: it for it in evalset.items}
    out: dict[str, str | None] = {}
    for r in results:
        it = items.get(r.item_id)
        if it is None:
            continue
        comps = {f"{it.id}::{c.id}": c.label for c in it.comparisons}
        for u in r.units:
            if u in comps:
                out[u] = comps[u]
    return out


def _clean(x: float | None) -> float | None:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return float(x)


def write_scores(run_dir: Path | str, scores: Mapping[str, Any]) -> Path:
    """Write ``scores.json`` into a run directory; returns its path."""
    path = Path(run_dir) / "scores.json"
    path.write_text(json.dumps(scores, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
    return path


def read_scores(run_dir: Path | str) -> dict[str, Any] | None:
    """``scores.json`` of a run directory, or ``None`` when it has none."""
    path = Path(run_dir) / "scores.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def compare_scores(
    scores_a: Mapping[str, Any],
    scores_b: Mapping[str, Any],
    bench: Benchmark,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    min_n: int = MIN_N_SIGNIFICANT,
) -> dict[str, Any]:
    """Paired bootstrap (A minus B) of every aggregate number over the items both runs scored.

    A ``subset/NAME`` number rests on that subset's paired items only; any number
    resting on fewer than ``min_n`` paired items is never flagged significant
    (it is marked ``underpowered`` when its interval excludes zero).
    """
    if scores_a.get("benchmark") != scores_b.get("benchmark"):
        raise ValueError(f"cannot pair {scores_a.get('benchmark')!r} with {scores_b.get('benchmark')!r}")
    ra = {d["item_id"]: ItemResult.from_dict(d) for d in scores_a.get("items", [])}
    rb = {d["item_id"]: ItemResult.from_dict(d) for d in scores_b.get("items", [])}
    common = [k for k in ra if k in rb]
    recs_a, recs_b = [ra[k] for k in common], [rb[k] for k in common]
    sizes: dict[str, int] = {}
    for r in recs_a:
        sizes[f"subset/{r.subset}"] = sizes.get(f"subset/{r.subset}", 0) + 1
    paired = paired_bootstrap_statistic(
        recs_a, recs_b, bench.aggregate, strata=[r.subset for r in recs_a], n_boot=n_boot, seed=seed, level=level,
        min_n=min_n, counts=sizes,
    )
    return {
        "benchmark": bench.name,
        "primary": bench.primary,
        "items_common": len(common),
        "items_only_a": len(ra) - len(common),
        "items_only_b": len(rb) - len(common),
        "bootstrap": {"n_boot": n_boot, "seed": seed, "level": level, "paired": True, "min_n": min_n},
        "metrics": {k: _finite_dict(v.to_dict()) for k, v in paired.items()},
    }


def _finite_dict(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (_clean(v) if isinstance(v, float) else v) for k, v in d.items()}
