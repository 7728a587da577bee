"""Contrast instructions (arXiv 2309.16155, shadowkiller33/Contrast-Instruction): reward consistency.

Published layout: ``data/contrast_instructions/{stack,wmt,para,sum}_contrast.json``,
each a JSON list of rows with ``query`` and ``retrieval`` (two lexically similar
instructions), ``query_response_k`` / ``retrieval_response_k`` (the human-preferred
response of each) and ``*_response_j`` (less preferred, unused by the metric).
PATH is one such file or the folder holding them; the subset is the file's prefix.

Upstream (``code/inference_mt.py`` lines 168-170 and ``code/inference.py`` lines
277-280) scores ``query + " " + query_response_k`` against
``query + " " + retrieval_response_k`` and counts a row when the first reward is
strictly higher: under the query's own instruction its own answer must beat the
lexically similar instruction's answer. judgekit judges that pair (own answer
shown first or second by a fixed per-row coin) and credits the row when the own
answer wins (a tie or a failure is a miss); ``overall`` and ``subset/NAME`` are
that rule. The mirror (the retrieval's instruction, its own answer against the
query's) is judgekit's extra (``mirror``), and ``both`` is the share of rows right
on both sides: the paper's notion of a consistent reward model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    chosen_rejected_item,
)
from judgekit.evaluation.benchmarks.common import (
    check_unique,
    exact_credit,
    group_results,
    mean,
    single_pair_results,
    text,
)

MIRROR = "-mirror"


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(path.glob("*_contrast.json"))
        if not files:
            raise DataError(path, "folder holds no *_contrast.json files")
        return files
    return [path]


def contrast_items(rows: Sequence[Mapping[str, Any]], subset: str, where: str) -> list[Item]:
    """Two items per row: the query side (upstream) and its mirror."""
    items = []
    for n, row in enumerate(rows):
        q, r = text(row, "query", where), text(row, "retrieval", where)
        yq, yr = text(row, "query_response_k", where), text(row, "retrieval_response_k", where)
        meta = {"row": f"{subset}:{n}"}
        items.append(chosen_rejected_item(f"{subset}:{n}:q", subset, q, yq, yr, {**meta, "side": "query"}))
        items.append(chosen_rejected_item(f"{subset}:{n}:r", subset + MIRROR, r, yr, yq, {**meta, "side": "mirror"}))
    return items


def load(path: Path, limit: int | None = None) -> EvalSet:
    """Read one ``*_contrast.json`` or a folder of them; ``limit`` counts rows per file (two items each)."""
    items: list[Item] = []
    for f in _files(Path(path)):
        subset = f.stem.split("_")[0]
        rows = [row for _, row in read_rows(f)]
        items.extend(contrast_items(rows if limit is None else rows[:limit], subset, str(f)))
    check_unique(items, str(path))
    return EvalSet("contrast", tuple(items), str(path))


def item_results(evalset: EvalSet, grouped: Mapping[str, ItemOutcomes]) -> list[ItemResult]:
    """One result per judged side: 1 when the instruction's own answer wins."""
    out = single_pair_results(evalset, grouped, exact_credit)
    rows = {it.id: it.metadata["row"] for it in evalset.items}
    return [ItemResult(r.item_id, r.subset, r.credit, {**r.detail, "row": rows[r.item_id]}, r.units) for r in out]


def aggregate(results: Sequence[ItemResult]) -> dict[str, float]:
    """Upstream accuracy on the query side (overall, per set); mirror accuracy; both sides right per row."""
    query = [r for r in results if not r.subset.endswith(MIRROR)]
    mirror = [r for r in results if r.subset.endswith(MIRROR)]
    out = {"overall": mean([float(r.credit or 0.0) for r in query])}
    for name, rs in sorted(group_results(results).items()):
        out[f"subset/{name}"] = mean([float(r.credit or 0.0) for r in rs])
    if mirror:
        out["mirror"] = mean([float(r.credit or 0.0) for r in mirror])
        sides = group_results(results, key=lambda r: str(r.detail["row"])).values()
        out["both"] = mean([float(all(r.credit for r in v)) for v in sides if len(v) == 2])
    return out


BENCHMARK = Benchmark(
    name="contrast",
    description="Contrast instructions: lexically similar instruction pairs; own answer must win (consistency)",
    upstream="https://github.com/shadowkiller33/Contrast-Instruction (code/inference_mt.py, code/inference.py)",
    load=load, item_results=item_results, aggregate=aggregate,
    info=BenchmarkInfo(source="shadowkiller33/Contrast-Instruction data/contrast_instructions/*_contrast.json",
                       license="none stated in the repository (rows not copied; fixture constructed)",
                       rows="stack 1,188 / wmt 612 / para 289 / sum 36",
                       reproduces="code/inference_mt.py 168-170 + code/inference.py 277-280 (strict >)",
                       obtained="part: wmt, para, sum read from GitHub; stack_contrast.json too large for the mirror"),
)
