"""JudgeBench (ScalerLab/JudgeBench): objectively labelled pairs, both orders.

Upstream ``compute_final_metrics`` (``utils/metrics.py``): each pair is judged in
the given order and with the responses swapped; the swapped decision is flipped
back. Every order whose decision equals the label adds 1, every order that
prefers the other response subtracts 1 (ties and failures add 0), and the pair is
correct when the sum is positive. With one order (``--single-game``) a pair is
correct when that decision equals the label. Scores are reported per source
prefix (``mmlu-pro`` = Knowledge, ``livebench-reasoning``, ``livebench-math``,
``livecodebench`` = Coding) and overall over all pairs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from judgekit.core.data import DataError
from judgekit.evaluation.benchmarks.base import (
    Benchmark,
    BenchmarkInfo,
    EvalSet,
    Item,
    ItemOutcomes,
    ItemResult,
    PairOutcome,
)
from judgekit.evaluation.benchmarks.common import (
    finish,
    micro_overall,
    pair_item,
    read_records,
    single_pair_results,
    text,
)

CATEGORIES = ("mmlu-pro", "livebench-reasoning", "livebench-math", "livecodebench")
CATEGORY_NAMES = {"mmlu-pro": "Knowledge", "livebench-reasoning": "Reasoning",
                  "livebench-math": "Math", "livecodebench": "Coding"}
LABELS = {"A>B": "A", "B>A": "B"}


def load(path: Path, limit: int | None = None) -> EvalSet:
    """Read the published JSONL (or the hub's parquet/saved dataset) into pairs."""
    where = str(path)
    items = []
    for n, row in enumerate(read_records(path, prefer_splits=("gpt", "claude", "test"))):
        raw = str(row.get("label", "")).strip()
        if raw not in LABELS:
            raise DataError(where, f"pair {row.get('pair_id')!r}: label {raw!r} is not A>B or B>A", field="label")
        source = str(row.get("source", ""))
        subset = next((c for c in CATEGORIES if source.startswith(c)), source or "unknown")
        items.append(pair_item(
            str(row.get("pair_id", n)), subset, text(row, "question", where),
            text(row, "response_A", where), text(row, "response_B", where), LABELS[raw],
            {k: row[k] for k in ("source", "response_model", "original_id") if k in row},
        ))
    return finish("judgebench", items, where, limit)


def two_order_credit(item: Item, o: PairOutcome | None) -> float:
    """Upstream vote over the orders: +1 agreeing with the label, -1 against it, correct if > 0."""
    if o is None:
        return 0.0
    decisions = o.order_winners or (o.winner,)
    opposite = {"A": "B", "B": "A"}.get(item.label or "")
    counter = sum(1 if d == item.label else -1 if d == opposite else 0 for d in decisions)
    return 1.0 if counter > 0 else 0.0


def item_results(evalset: EvalSet, grouped: Mapping[str, ItemOutcomes]) -> list[ItemResult]:
    """One result per judged pair with the two-order vote."""
    return single_pair_results(evalset, grouped, two_order_credit)


def aggregate(results: Sequence[ItemResult]) -> dict[str, float]:
    """Overall accuracy over all pairs plus accuracy per source category."""
    return micro_overall(results)


BENCHMARK = Benchmark(
    name="judgebench",
    description="JudgeBench: A>B / B>A labelled pairs, both orders, per category",
    upstream="https://github.com/ScalerLab/JudgeBench (utils/metrics.py compute_final_metrics)",
    load=load, item_results=item_results, aggregate=aggregate,
    info=BenchmarkInfo(source='ScalerLab/JudgeBench data/*.jsonl', license='not checked here',
                       rows='350 (GPT-4o split)',
                       reproduces='utils/metrics.py compute_final_metrics',
                       obtained='no: tests use a fixture'),
    overall_is_proportion=True,
)
