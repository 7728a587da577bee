"""PandaLM test set (WeOpenML/PandaLM ``data/testset-v1.json``): three-way with ties.

Each pair has three human votes (``0`` tie, ``1`` response 1 better, ``2``
response 2 better); the reference is the majority vote. The PandaLM paper
reports accuracy and macro precision / recall / F1 over the three classes
against it; judgekit adds Cohen's kappa (judge vs majority). A parse failure is
its own predicted category: wrong for accuracy, a miss for recall, and an extra
category for kappa. The upstream repository publishes no scoring script, so
these follow the paper's table and scikit-learn's ``average="macro"``. The
majority is ``majority_label`` when present, else the value at least two of the
three annotators gave.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from judgekit.core.data import DataError
from judgekit.core.stats import classification_report, cohen_kappa
from judgekit.evaluation.benchmarks.base import Benchmark, BenchmarkInfo, EvalSet, ItemOutcomes, ItemResult
from judgekit.evaluation.benchmarks.common import (
    exact_credit,
    finish,
    mean,
    pair_item,
    read_records,
    single_pair_results,
    text,
)

LABELS = ("A", "B", "tie")
RAW = {"0": "tie", "1": "A", "2": "B"}
FAILED = "failed"


def _majority(row: Mapping[str, object]) -> str | None:
    if "majority_label" in row:
        return RAW.get(str(row["majority_label"]))
    names = ("annotator1", "annotator2", "annotator3", "label_0", "label_1", "label_2")
    votes = [str(row[k]) for k in names if k in row]
    for v in set(votes):
        if votes.count(v) >= 2:
            return RAW.get(v)
    return None


def load(path: Path, limit: int | None = None) -> EvalSet:
    """Read the test set (local JSONL with ``majority_label`` or upstream JSON with ``annotator1..3``)."""
    where = str(path)
    items = []
    for n, row in enumerate(read_records(path)):
        label = _majority(row)
        if label is None:
            raise DataError(where, f"item {row.get('idx', n)!r} has no majority label", field="majority_label")
        prompt = text(row, "instruction", where)
        extra = row.get("input")
        if isinstance(extra, str) and extra.strip():
            prompt = f"{prompt}\n\n{extra}"
        items.append(pair_item(
            str(row.get("idx", n)), "all", prompt,
            text(row, "response1", where, True), text(row, "response2", where, True),
            label, {k: row[k] for k in ("annotations", "cmp_key", "motivation_app") if k in row},
        ))
    return finish("pandalm", items, where, limit)


def item_results(evalset: EvalSet, grouped: Mapping[str, ItemOutcomes]) -> list[ItemResult]:
    """One result per judged pair: 1 when the verdict equals the human majority."""
    return single_pair_results(evalset, grouped, exact_credit)


def aggregate(results: Sequence[ItemResult]) -> dict[str, float]:
    """Accuracy, macro precision/recall/F1 over A/B/tie, Cohen's kappa, tie rates."""
    truth = [str(r.detail.get("label")) for r in results]
    pred = [str(r.detail["pred"]) if r.detail.get("pred") is not None else FAILED for r in results]
    rep = classification_report(truth, pred, LABELS)
    return {
        "overall": mean([float(r.credit or 0.0) for r in results]),
        "macro_f1": rep["macro_f1"],
        "macro_precision": rep["macro_precision"],
        "macro_recall": rep["macro_recall"],
        "kappa": cohen_kappa(truth, pred),
        "pred_tie_rate": mean([float(p == "tie") for p in pred]),
        "human_tie_rate": mean([float(t == "tie") for t in truth]),
        **{f"f1/{c}": rep["per_class"][c]["f1"] for c in LABELS},
    }


BENCHMARK = Benchmark(
    name="pandalm",
    description="PandaLM test set: three-way (tie allowed) vs the human majority; accuracy, macro-F1, kappa",
    upstream="https://github.com/WeOpenML/PandaLM (README, data/testset-v1.json; paper Table 2)",
    load=load, item_results=item_results, aggregate=aggregate,
    info=BenchmarkInfo(source='WeOpenML/PandaLM data/testset-v1.json', license='Apache-2.0', rows='999',
                       reproduces='paper Table 2 (no upstream scorer): accuracy, macro P/R/F1',
                       obtained='full: shared data pandalm/'),
    overall_is_proportion=True,
)
