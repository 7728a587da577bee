"""A generic preference file: any pairwise schema ``judgekit judge`` accepts.

Rows are read with :func:`judgekit.core.data.load_samples` (``task="pairwise"``); a
``subset``, ``category`` or ``source`` column, when present, names the subset.
An item is correct when the verdict equals the label (a tie only matches a tie
label; a failure is wrong). ``overall`` is accuracy over all items; when tie
labels are present Cohen's kappa against the labels is reported too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from judgekit.core.data import Columns, DataError, load_samples
from judgekit.core.stats import cohen_kappa
from judgekit.evaluation.benchmarks.base import Benchmark, BenchmarkInfo, EvalSet, ItemOutcomes, ItemResult
from judgekit.evaluation.benchmarks.common import exact_credit, micro_overall, pair_item, single_pair_results

SUBSET_FIELDS = ("subset", "category", "source", "group")


def load(path: Path, limit: int | None = None, columns: Columns | None = None) -> EvalSet:
    """Read a labelled pairwise file of any recognised schema (or an explicit column mapping)."""
    samples = load_samples(path, task="pairwise", columns=columns, limit=limit)
    items = []
    for s in samples:
        if s.label is None:
            raise DataError(path, f"item {s.id!r} has no label; eval needs labelled pairs")
        subset = next((str(s.metadata[f]) for f in SUBSET_FIELDS if f in s.metadata), "all")
        items.append(pair_item(s.id, subset, s.prompt, s.responses[0], s.responses[1], s.label))
    return EvalSet("generic", tuple(items), str(path))


def item_results(evalset: EvalSet, grouped: Mapping[str, ItemOutcomes]) -> list[ItemResult]:
    """One result per judged pair: 1 when the verdict equals the label."""
    return single_pair_results(evalset, grouped, exact_credit)


def aggregate(results: Sequence[ItemResult]) -> dict[str, float]:
    """Accuracy overall and per subset; kappa when any label is a tie."""
    out = micro_overall(results)
    truth = [str(r.detail.get("label")) for r in results]
    if "tie" in truth:
        pred = [str(r.detail.get("pred")) for r in results]
        out["kappa"] = cohen_kappa(truth, pred)
    return out


BENCHMARK = Benchmark(
    name="generic",
    description="Any labelled pairwise preference file (A/B/tie labels)",
    upstream="judgekit",
    load=load, item_results=item_results, aggregate=aggregate,
    info=BenchmarkInfo(source='any labelled pairwise file', license='-', rows='-',
                       reproduces='judgekit accuracy',
                       obtained='-'),
    overall_is_proportion=True,
)
