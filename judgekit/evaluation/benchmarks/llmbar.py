"""LLMBar (princeton-nlp/LLMBar): Natural and Adversarial instruction-following pairs.

Upstream ``LLMEvaluator/evaluate.py`` judges every pair in both orders and reports
*average accuracy* (``correct_average``: the mean of the two orders' accuracies,
an unreadable order counting as wrong) and the *positional agreement rate*
(``equal``). judgekit credits each item with the share of its orders that pick
the labelled output (the combined verdict when only one order or pointwise
scores exist). ``adversarial`` is the mean over the four Adversarial subsets (as
the paper's Average column), ``overall`` the mean over the five LLMBar subsets
present (Natural + Adversarial); other groups in the file (CaseStudy, Processed)
are reported per subset only. Without any LLMBar subset, ``overall`` is the mean
credit over all items.
"""

from __future__ import annotations

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
    PairOutcome,
)
from judgekit.evaluation.benchmarks.common import (
    finish,
    group_results,
    mean,
    pair_item,
    read_records,
    single_pair_results,
    text,
)

NATURAL = "LLMBar/Natural"
ADVERSARIAL = ("LLMBar/Adversarial/Neighbor", "LLMBar/Adversarial/GPTInst", "LLMBar/Adversarial/GPTOut",
               "LLMBar/Adversarial/Manual")
GROUPS = ("LLMBar", "CaseStudy", "Processed")


def _rows(path: Path) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """``(subset from folder or None, row)``; upstream's ``Dataset/**/dataset.json`` layout."""
    if path.is_dir():
        files = sorted(path.rglob("dataset.json"))
        if files:
            for f in files:
                rel = f.parent.relative_to(path).as_posix()
                if path.name in GROUPS:
                    rel = f"{path.name}/{rel}" if rel != "." else path.name
                for _, row in read_rows(f):
                    yield rel, row
            return
    for row in read_records(path):
        yield None, row


def load(path: Path, limit: int | None = None) -> EvalSet:
    """Read the local JSONL or upstream ``Dataset`` folder (labels ``1``/``2``)."""
    where = str(path)
    items = []
    counters: dict[str, int] = {}
    for folder_subset, row in _rows(Path(path)):
        subset = folder_subset or str(row.get("subset", "all"))
        n = counters[subset] = counters.get(subset, -1) + 1
        label = {"1": "A", "2": "B"}.get(str(row.get("label")))
        if label is None:
            raise DataError(where, f"label {row.get('label')!r} is not 1 or 2", field="label")
        items.append(pair_item(
            str(row.get("id", f"{subset}#{n}")), subset, text(row, "input", where),
            text(row, "output_1", where), text(row, "output_2", where), label,
        ))
    return finish("llmbar", items, where, limit)


def order_average_credit(item: Item, o: PairOutcome | None) -> float:
    """Share of judged orders that pick the labelled output (upstream average accuracy)."""
    if o is None:
        return 0.0
    decisions = o.order_winners or (o.winner,)
    return sum(1.0 for d in decisions if d == item.label) / len(decisions)


def item_results(evalset: EvalSet, grouped: Mapping[str, ItemOutcomes]) -> list[ItemResult]:
    """One result per judged pair with the order-averaged credit."""
    return single_pair_results(evalset, grouped, order_average_credit)


def aggregate(results: Sequence[ItemResult]) -> dict[str, float]:
    """Per-subset average accuracy, Natural / Adversarial / overall, positional agreement."""
    subsets = {k: mean([float(r.credit or 0.0) for r in rs]) for k, rs in sorted(group_results(results).items())}
    llmbar = [k for k in (NATURAL, *ADVERSARIAL) if k in subsets]
    adv = [subsets[k] for k in ADVERSARIAL if k in subsets]
    out: dict[str, float] = {
        "overall": mean([subsets[k] for k in llmbar]) if llmbar
        else mean([float(r.credit or 0.0) for r in results]),
    }
    if NATURAL in subsets:
        out["natural"] = subsets[NATURAL]
    if adv:
        out["adversarial"] = mean(adv)
    both = [r.detail["orders"] for r in results if len(r.detail.get("orders") or ()) == 2]
    if both:
        out["positional_agreement"] = mean([float(o[0] == o[1]) for o in both])
    out.update({f"subset/{k}": v for k, v in subsets.items()})
    return out


BENCHMARK = Benchmark(
    name="llmbar",
    description="LLMBar: instruction-following pairs (Natural, Adversarial), average accuracy over both orders",
    upstream="https://github.com/princeton-nlp/LLMBar (LLMEvaluator/evaluate.py)",
    load=load, item_results=item_results, aggregate=aggregate,
    info=BenchmarkInfo(source='princeton-nlp/LLMBar Dataset/**/dataset.json', license='MIT',
                       rows='419 (+462 processed)',
                       reproduces='LLMEvaluator/evaluate.py accuracy per subset',
                       obtained='full: shared data llmbar/'),
)
