"""Libra Bench (arXiv 2507.21645, Meituan): pointwise correctness judging on hard math.

Published layout: the hub dataset ``meituan/Libra-Bench`` (MIT; 3,740 rows; no
scoring code is published, the dataset card is the specification). One row per
(problem, model response) with ``index``, ``question``, ``response`` (the answer
without its chain of thought), ``response_with_cot``, ``label`` (1 = the response is
correct, 0 = not), ``model`` (the generator), ``reference`` (the reference answer)
and ``subset`` (the problem source: MATH-500 level 5, AIME 2024, AIME 2025).

Each row is one **verification** item (forced into that mode whatever the run's
protocol): ``-p verify`` shows the reference answer; ``-p commit-first`` judges
without it, which is Libra's own setting (the card: "evaluate the correctness of
the response given question").

Scoring follows the dataset card ("Usage"): "The accuracy is computed separately
for each subset and then averaged to obtain the final score." A row is right when
the judge's verdict equals ``label``; an unparsed verdict is never right.
``overall`` is the mean of the subset accuracies; ``micro`` the accuracy over all
rows. The paper also reports macro F1 (the mean of the F1 of the "correct" and the
"incorrect" class), computed here over all rows; a failed verdict counts against
the row's true class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from judgekit.core.data import DataError
from judgekit.evaluation.benchmarks.base import (
    Benchmark,
    BenchmarkInfo,
    EvalSet,
    Item,
    ItemOutcomes,
    ItemResult,
)
from judgekit.evaluation.benchmarks.common import finish, group_results, mean, read_records, text, verification_results

LABELS = {1: "correct", 0: "incorrect"}  # true / false read as 1 / 0


def _label(row: Mapping[str, Any], where: str, n: int) -> str:
    value = row.get("label")
    if isinstance(value, str) and value.strip() in ("0", "1"):
        value = int(value.strip())
    if isinstance(value, float) and value in (0.0, 1.0):
        value = int(value)
    if isinstance(value, bool | int) and value in LABELS:
        return LABELS[value]
    raise DataError(where, f"row {n}: label must be 0 or 1, got {value!r}", field="label")


def load(path: Path, limit: int | None = None) -> EvalSet:
    """One verification item per row (id = ``index``, else the row number)."""
    where = str(path)
    items = []
    for n, row in enumerate(read_records(path)):
        ref = row.get("reference")
        items.append(Item(
            id=str(row.get("index", n)), subset=str(row.get("subset") or "all"),
            prompt=text(row, "question", where), candidates=(text(row, "response", where),), correct=(),
            comparisons=(), label=_label(row, where, n), mode="verify",
            reference=None if ref is None else str(ref), metadata={"model": str(row.get("model", ""))},
        ))
    return finish("librabench", items, where, limit)


def item_results(evalset: EvalSet, grouped: Mapping[str, ItemOutcomes]) -> list[ItemResult]:
    """One result per judged row: 1 when the verdict equals the label."""
    return verification_results(evalset, grouped, ("model", "model"))


def macro_f1(pairs: Sequence[tuple[str | None, str | None]]) -> float:
    """Mean F1 of the two classes over ``(label, pred)`` pairs; a missing prediction is a miss for its label."""
    f1s = []
    for cls in ("correct", "incorrect"):
        tp = sum(1 for y, p in pairs if y == cls and p == cls)
        fp = sum(1 for y, p in pairs if y != cls and p == cls)
        fn = sum(1 for y, p in pairs if y == cls and p != cls)
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return mean(f1s)


def aggregate(results: Sequence[ItemResult]) -> dict[str, float]:
    """Per-subset accuracy, their mean (``overall``), micro accuracy, macro F1, per-generator accuracy."""
    by = group_results(results)
    per = {k: mean([float(r.credit or 0.0) for r in rs]) for k, rs in sorted(by.items())}
    out = {"overall": mean(list(per.values()))}
    out.update({f"subset/{k}": v for k, v in per.items()})
    out["micro"] = mean([float(r.credit or 0.0) for r in results])
    out["macro_f1"] = macro_f1([(r.detail.get("label"), r.detail.get("pred")) for r in results])
    by_model = group_results(results, key=lambda r: str(r.detail.get("model") or "unknown"))
    out.update({f"model/{k}": mean([float(r.credit or 0.0) for r in rs]) for k, rs in sorted(by_model.items())})
    return out


BENCHMARK = Benchmark(
    name="librabench",
    description="Libra Bench: is a reasoning model's answer to a hard math problem correct (pointwise)",
    upstream="https://huggingface.co/datasets/meituan/Libra-Bench (dataset card, Usage; arXiv 2507.21645)",
    load=load, item_results=item_results, aggregate=aggregate, default_mode="verify",
    info=BenchmarkInfo(source="meituan/Libra-Bench (hub): index, question, response, label, model, reference, "
                              "subset, response_with_cot",
                       license="MIT (hub card)", rows="3,740 (1,360 MATH-500 L5 + 1,200 AIME24 + 1,200 AIME25)",
                       reproduces="dataset card Usage: accuracy per subset, then their mean (no scorer code "
                                  "published); macro F1 as in the paper",
                       obtained="no: hub only, no GitHub copy; tests use a constructed fixture in the card's "
                                "layout"),
)
