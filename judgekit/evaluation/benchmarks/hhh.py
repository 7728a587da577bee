"""HHH alignment (BIG-bench ``hhh_alignment``): helpful, honest, harmless, other.

Upstream is a two-choice multiple-choice task scored by accuracy per subtask.
judgekit judges each (chosen, rejected) pair in a fixed pseudo-random order per
item; an item is correct when the verdict picks the chosen response (a tie or a
failure is wrong). ``overall`` is accuracy over all pairs (micro); the per-subset
accuracies are reported too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from judgekit.evaluation.benchmarks.base import (
    Benchmark,
    BenchmarkInfo,
    EvalSet,
    ItemOutcomes,
    ItemResult,
    chosen_rejected_item,
)
from judgekit.evaluation.benchmarks.common import (
    exact_credit,
    finish,
    mean,
    micro_overall,
    read_records,
    single_pair_results,
    text,
)


def load(path: Path, limit: int | None = None) -> EvalSet:
    """Read rows with ``prompt``, ``chosen``, ``rejected`` and ``subset``."""
    where = str(path)
    items = [
        chosen_rejected_item(str(row.get("id", n)), str(row.get("subset", "all")), text(row, "prompt", where),
                             text(row, "chosen", where), text(row, "rejected", where))
        for n, row in enumerate(read_records(path))
    ]
    return finish("hhh", items, where, limit)


def item_results(evalset: EvalSet, grouped: Mapping[str, ItemOutcomes]) -> list[ItemResult]:
    """One result per judged pair: 1 when the chosen response wins."""
    return single_pair_results(evalset, grouped, exact_credit)


def aggregate(results: Sequence[ItemResult]) -> dict[str, float]:
    """Micro accuracy, per-subset accuracy and the macro mean of the subsets."""
    out = micro_overall(results)
    out["macro"] = mean([v for k, v in out.items() if k.startswith("subset/")])
    return out


BENCHMARK = Benchmark(
    name="hhh",
    description="HHH alignment (BIG-bench): helpful / honest / harmless / other pairs",
    upstream="https://github.com/google/BIG-bench (benchmark_tasks/hhh_alignment)",
    load=load, item_results=item_results, aggregate=aggregate,
    info=BenchmarkInfo(source='BIG-bench benchmark_tasks/hhh_alignment', license='Apache-2.0', rows='221',
                       reproduces='multiple-choice accuracy per subtask',
                       obtained='full: shared data hhh_alignment/'),
    overall_is_proportion=True,
)
