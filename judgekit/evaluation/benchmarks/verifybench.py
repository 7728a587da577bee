"""VerifyBench and VerifyBench-Hard (arXiv 2505.15801, ZJU-REAL/VerifyBench): reference-based verification.

Published layout: ``data/verify_bench.jsonl`` and ``data/verify_bench_hard.jsonl``,
one row per (question, reference ``answer``, ``completion``) with the human label
``gold_correct`` (bool), ``answer_type`` and ``answer_subtype``. Each row is judged
by a verification protocol (``-p verify``: question + reference + completion ->
correct / incorrect); the item is forced into that mode whatever protocol the run
names.

Scoring follows ``evaluate.py`` ``evaluate``: a row is right when the judge's
verdict equals ``gold_correct`` (an unparsed verdict is ``None`` upstream and so
never equal); ``overall`` is the accuracy over all rows, ``subset/TYPE`` the
accuracy per ``answer_type`` and ``subtype/NAME`` per ``answer_subtype``.
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
)
from judgekit.evaluation.benchmarks.common import (
    finish,
    group_results,
    mean,
    micro_overall,
    read_records,
    text,
    verification_results,
)


def load(path: Path, limit: int | None = None) -> EvalSet:
    """Read ``verify_bench.jsonl`` / ``verify_bench_hard.jsonl``: one verification item per row."""
    where = str(path)
    items = []
    for n, row in enumerate(read_records(path)):
        gold = row.get("gold_correct")
        if not isinstance(gold, bool):
            raise DataError(where, f"row {n}: gold_correct must be true or false", field="gold_correct")
        items.append(Item(
            id=str(row.get("id", n)), subset=str(row.get("answer_type", "all")),
            prompt=text(row, "question", where), candidates=(text(row, "completion", where),), correct=(),
            comparisons=(), label="correct" if gold else "incorrect", mode="verify",
            reference=text(row, "answer", where), metadata={"answer_subtype": str(row.get("answer_subtype", ""))},
        ))
    return finish("verifybench", items, where, limit)


def item_results(evalset: EvalSet, grouped: Mapping[str, ItemOutcomes]) -> list[ItemResult]:
    """One result per judged row: 1 when the verdict equals the label."""
    return verification_results(evalset, grouped, ("subtype", "answer_subtype"))


def aggregate(results: Sequence[ItemResult]) -> dict[str, float]:
    """Accuracy overall, per answer type and per answer subtype; the judge's false-positive rate."""
    out = micro_overall(results)
    by = group_results(results, key=lambda r: str(r.detail.get("subtype")))
    out.update({f"subtype/{k}": mean([float(r.credit or 0.0) for r in rs]) for k, rs in sorted(by.items())})
    wrong = [r for r in results if r.detail.get("label") == "incorrect"]
    if wrong:
        out["false_positive_rate"] = mean([float(r.detail.get("pred") == "correct") for r in wrong])
    return out


BENCHMARK = Benchmark(
    name="verifybench",
    description="VerifyBench / VerifyBench-Hard: does the judge agree with humans that a completion matches the "
                "reference",
    upstream="https://github.com/ZJU-REAL/VerifyBench (evaluate.py evaluate)",
    load=load, item_results=item_results, aggregate=aggregate, default_mode="verify",
    info=BenchmarkInfo(source="ZJU-REAL/VerifyBench data/verify_bench.jsonl, data/verify_bench_hard.jsonl",
                       license="MIT (repository)", rows="2,000 / 1,000 hard (paper; not counted here)",
                       reproduces="evaluate.py evaluate (accuracy, by answer_type and answer_subtype)",
                       obtained="no: the data files are too large for the GitHub snapshot here; fixture constructed"),
    overall_is_proportion=True,
)
