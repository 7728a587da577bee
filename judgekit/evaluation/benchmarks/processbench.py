"""ProcessBench (Qwen/ProcessBench, arXiv 2412.06559): find the earliest wrong step of a math solution.

Published layout (one split per source: ``gsm8k``, ``math``, ``olympiadbench``,
``omnimath``): rows with ``id``, ``generator``, ``problem``, ``steps`` (list of texts,
indexed from 0), ``final_answer_correct`` and ``label`` (index of the earliest wrong step,
``-1`` when every step is correct). A file's split is its ``subset`` field when present,
else its name up to the first ``-`` or ``.`` (``gsm8k.json``, ``gsm8k-00000-of-00001.parquet``);
a saved ``DatasetDict`` reads every split.

Upstream metric (github.com/QwenLM/ProcessBench, ``code/run_eval.py`` lines 117-129, the
same in ``code/run_eval_prm_trl.py``): per split, ``acc1`` = share of erroneous solutions
(label != -1) whose predicted index equals the label, ``acc2`` = share of correct solutions
whose prediction is -1, ``F1 = 2 acc1 acc2 / (acc1 + acc2)``; the headline is the mean F1
over splits ("Average F1"). An unreadable prediction counts as a miss (upstream sets
``pred = None``). judgekit reports rates in [0, 1], not percent, and F1 = 0 when both
accuracies are 0 (upstream divides by zero).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from judgekit.core.data import DataError, read_rows
from judgekit.evaluation.benchmarks.base import (
    Benchmark,
    BenchmarkInfo,
    EvalSet,
    Item,
    ItemOutcomes,
    ItemResult,
)
from judgekit.evaluation.benchmarks.common import (
    data_files,
    finish,
    group_results,
    in_order,
    judged,
    mean,
    text,
    text_list,
)

SPLITS = ("gsm8k", "math", "olympiadbench", "omnimath")


def _split_of(name: str) -> str:
    return name.split("-", 1)[0].split(".", 1)[0]


def _rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(split, row)`` from a file, a folder of files or a saved datasets dir."""
    if path.is_dir() and (path / "dataset_dict.json").exists():
        import datasets

        for split, ds in datasets.load_from_disk(str(path)).items():
            for row in ds:
                yield str(split), dict(row)
        return
    for f in data_files(path) if path.is_dir() else [path]:
        for _, row in read_rows(f):
            yield str(row.get("subset") or _split_of(f.name)), row


def load(path: Path, limit: int | None = None) -> EvalSet:
    """Read the published rows into one-solution items (label = first-error index as text)."""
    where = str(path)
    items = []
    for split, row in _rows(Path(path)):
        steps = text_list(row, "steps", where)
        if not steps:
            raise DataError(where, f"row {row.get('id')!r}: 'steps' is empty")
        label = row.get("label")
        if isinstance(label, bool) or not isinstance(label, int) or not -1 <= label < len(steps):
            raise DataError(where, f"row {row.get('id')!r}: label {label!r} is not -1 or a step index "
                            f"0..{len(steps) - 1}", field="label")
        items.append(Item(
            id=str(row.get("id")), subset=split, prompt=text(row, "problem", where),
            candidates=("\n\n".join(steps),), correct=(), comparisons=(), label=str(label), mode="prm",
            metadata={"steps": list(steps), "generator": row.get("generator"),
                      "final_answer_correct": row.get("final_answer_correct")},
        ))
    return finish("processbench", items, where, limit)


def item_results(evalset: EvalSet, grouped: Mapping[str, ItemOutcomes]) -> list[ItemResult]:
    """Credit 1 when the predicted first-error index equals the label (a failed prediction is a miss)."""
    out = []
    for it, got in judged(evalset, grouped):
        score = got.scores.get(0)
        pred = None if score is None else int(score)
        label = int(str(it.label))
        out.append(ItemResult(it.id, it.subset, float(pred == label),
                              {"label": label, "prediction": pred, "erroneous": label != -1}, (it.id,)))
    return out


def f1_of(acc_error: float, acc_correct: float) -> float:
    """Upstream's harmonic mean of the two accuracies (0 when both are 0; NaN if either is undefined)."""
    if math.isnan(acc_error) or math.isnan(acc_correct):
        return math.nan
    total = acc_error + acc_correct
    return 0.0 if total == 0 else 2 * acc_error * acc_correct / total


def aggregate(results: Sequence[ItemResult]) -> dict[str, float]:
    """Per split: error accuracy, correct accuracy, F1 (``subset/NAME``); ``overall`` = mean F1."""
    by = group_results(results)
    out: dict[str, float] = {}
    f1s = []
    for split in in_order(by, SPLITS):
        rs = by[split]
        acc1 = mean([float(r.credit or 0.0) for r in rs if r.detail.get("erroneous")])
        acc2 = mean([float(r.credit or 0.0) for r in rs if not r.detail.get("erroneous")])
        f1 = f1_of(acc1, acc2)
        out[f"subset/{split}"] = f1
        out[f"error_acc/{split}"] = acc1
        out[f"correct_acc/{split}"] = acc2
        f1s.append(f1)
    return {"overall": mean(f1s), **out}


BENCHMARK = Benchmark(
    name="processbench",
    description="ProcessBench: earliest wrong step of a math solution (-1: all correct); F1 of the two accuracies",
    upstream="https://github.com/QwenLM/ProcessBench (code/run_eval.py lines 117-129)",
    load=load, item_results=item_results, aggregate=aggregate, default_mode="prm",
    info=BenchmarkInfo(source="Qwen/ProcessBench (hub; splits gsm8k, math, olympiadbench, omnimath)",
                       license="Apache-2.0 (repository)", rows="3,400 solutions in 4 splits (paper)",
                       reproduces="code/run_eval.py lines 117-129: per-split F1 of the erroneous/correct accuracies",
                       obtained="no: the hub set is not reachable here; the test fixture is constructed in its "
                                "layout from shared GSM8K"),
)
