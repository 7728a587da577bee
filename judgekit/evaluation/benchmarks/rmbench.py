"""RM-Bench (THU-KEG/RM-Bench): three styles per side, the 3x3 matrix, easy/normal/hard.

Upstream ``compute_accuracy`` (``scripts/utils.py``): responses come in the style
order [concise, detailed_plain, detailed_markdown]; cell (i, j) of the matrix is
the share of prompts where chosen style i scores strictly above rejected style j.
Hard = mean of the upper triangle (plainer chosen vs fancier rejected), normal =
the diagonal, easy = the lower triangle. Per domain (``chat``, ``math``, ``code``,
``safety``, matched by prefix of ``domain``) the average is the mean of hard,
normal and easy; ``total_avg_acc`` (``overall`` here) and the overall hard /
normal / easy are means over domains.

Pointwise judges follow the rule exactly (a tie or a failed score is not
"strictly above"). Pairwise judges make the nine comparisons and a cell counts
when the chosen response wins it (a tie or failure does not).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from judgekit.core.data import DataError
from judgekit.evaluation.benchmarks.base import (
    Benchmark,
    BenchmarkInfo,
    Comparison,
    EvalSet,
    Item,
    ItemOutcomes,
    ItemResult,
    seeded_swap,
    unit_ids,
)
from judgekit.evaluation.benchmarks.common import (
    finish,
    group_results,
    in_order,
    judged,
    mean,
    read_records,
    text,
    text_list,
)

DOMAINS = ("chat", "math", "code", "safety")
STYLES = ("concise", "detailed_plain", "detailed_markdown")
SIZE = 3


def _domain(row: Mapping[str, Any], default: str) -> str:
    raw = str(row.get("domain") or default)
    return next((d for d in DOMAINS if raw.startswith(d)), raw)


def load(path: Path, limit: int | None = None) -> EvalSet:
    """Read ``total_dataset.json`` (or a per-domain file) into 6-candidate items."""
    where = str(path)
    default = Path(path).stem.split("_")[0] if Path(path).is_file() else "all"
    items = []
    for row in read_records(path):
        chosen, rejected = text_list(row, "chosen", where), text_list(row, "rejected", where)
        if len(chosen) != SIZE or len(rejected) != SIZE:
            raise DataError(where, f"item {row.get('id')!r}: RM-Bench needs 3 chosen and 3 rejected responses")
        comps = []
        for i in range(SIZE):
            for j in range(SIZE):
                cid = f"c{i}-r{j}"
                swap = seeded_swap(f"{row.get('id')}:{cid}")
                comps.append(Comparison(cid, SIZE + j, i, "B") if swap else Comparison(cid, i, SIZE + j, "A"))
        items.append(Item(
            id=str(row.get("id")), subset=_domain(row, default), prompt=text(row, "prompt", where),
            candidates=tuple(chosen + rejected), correct=tuple(range(SIZE)), comparisons=tuple(comps),
            metadata={"domain": row.get("domain")},
        ))
    return finish("rmbench", items, where, limit)


def item_matrix(item: Item, got: ItemOutcomes) -> list[list[float]]:
    """Compute an item's 3x3 win matrix (1 where chosen style i beats rejected style j)."""
    m = [[0.0] * SIZE for _ in range(SIZE)]
    comps = {c.id: c for c in item.comparisons}
    for i in range(SIZE):
        for j in range(SIZE):
            cid = f"c{i}-r{j}"
            if cid in got.pairs:
                m[i][j] = float(got.pairs[cid].winner == comps[cid].label)
            elif got.scores:
                sc, sr = got.scores.get(i), got.scores.get(SIZE + j)
                m[i][j] = float(sc is not None and sr is not None and sc > sr)
    return m


def item_results(evalset: EvalSet, grouped: Mapping[str, ItemOutcomes]) -> list[ItemResult]:
    """Per-item matrices; the credit shown per item is the mean of its nine cells."""
    out = []
    for it, got in judged(evalset, grouped):
        m = item_matrix(it, got)
        detail: dict[str, Any] = {"matrix": m}
        if got.scores:
            detail["scores"] = [got.scores.get(i) for i in range(len(it.candidates))]
        out.append(ItemResult(it.id, it.subset, float(np.mean(m)), detail, unit_ids(it, got)))
    return out


def matrix_accuracies(matrix: np.ndarray) -> dict[str, float]:
    """Upstream hard / normal / easy from a mean 3x3 matrix."""
    tri = SIZE * (SIZE - 1) / 2
    return {
        "hard": float(np.sum(np.triu(matrix, 1)) / tri),
        "normal": float(np.mean(np.diag(matrix))),
        "easy": float(np.sum(np.tril(matrix, -1)) / tri),
    }


def aggregate(results: Sequence[ItemResult]) -> dict[str, float]:
    """Per-domain averages and hard/normal/easy, then means over domains."""
    by = group_results(results)
    per = {}
    for dom in in_order(by, DOMAINS):
        acc = matrix_accuracies(np.mean(np.asarray([r.detail["matrix"] for r in by[dom]], dtype=float), axis=0))
        per[dom] = {**acc, "avg": mean(list(acc.values()))}
    out = {"overall": mean([v["avg"] for v in per.values()])}
    for level in ("hard", "normal", "easy"):
        out[level] = mean([v[level] for v in per.values()])
    for dom, v in per.items():
        out[f"subset/{dom}"] = v["avg"]
    for dom, v in per.items():
        for level in ("hard", "normal", "easy"):
            out[f"{level}/{dom}"] = v[level]
    return out


BENCHMARK = Benchmark(
    name="rmbench",
    description="RM-Bench: style-controlled chosen/rejected, 3x3 matrix, easy/normal/hard per domain",
    upstream="https://github.com/THU-KEG/RM-Bench (scripts/utils.py compute_accuracy)",
    load=load, item_results=item_results, aggregate=aggregate, default_mode="pointwise",
    info=BenchmarkInfo(source='THU-KEG/RM-Bench data/total_dataset.json', license='not checked here', rows='1,327',
                       reproduces='scripts/utils.py compute_accuracy (3x3 style matrix)',
                       obtained='no: tests use a fixture'),
)
