"""RewardMATH (arXiv 2410.01729): one correct solution against nine incorrect ones per problem.

Published layout (``RewardMATH/RewardMATH`` on the hub; a two-problem sample ships
in kimsh0507/RewardMATH_official ``dataset/benchmark/RewardMATH_direct.json``): one
row per solution with ``problem``, ``eval_solution`` (a list of steps),
``solution_type`` (``chosen`` / ``rejected``), ``solution_reference``, ``subject``,
``level``, ``problem_id``. Steps are joined with a newline, as upstream's
classifier path does (``src/prompts.py`` joins the steps with a newline).

Scoring follows ``src/evaluation/eval.py`` ``RewardMATHEvaluation``:

* pointwise (upstream "normal"): **accuracy** = the chosen score is strictly above
  every rejected score (``min(chosen) > max(rejected)``); ``acc_with_tie`` uses
  ``>=``; **MRR** = 1 / rank of the chosen solution when all are sorted by score,
  a rejected solution ranking above the chosen one at equal score (upstream sorts
  ``(score, "cho"/"rej")`` descending);
* pairwise (upstream ``pairwise``): the chosen solution is compared with each
  rejected one; the item is accurate when it wins **every** comparison, and its
  MRR is 1 / (losses + 1) (upstream's chosen score ``wins + 1`` against rejected
  scores ``1`` for a win, ``n + 2`` for a loss). A tie or a failed verdict is a loss.

A failed pointwise score is never a number: the item is inaccurate and the failed
solution ranks last in the MRR (recorded under ``failed``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from judgekit.core.data import DataError
from judgekit.evaluation.benchmarks.base import (
    Benchmark,
    BenchmarkInfo,
    Comparison,
    EvalSet,
    Item,
    ItemOutcomes,
    ItemResult,
    comparison_outcome,
    seeded_swap,
    unit_ids,
)
from judgekit.evaluation.benchmarks.common import finish, judged, mean, micro_overall, read_records, text


def _solution(row: Mapping[str, Any], where: str) -> str:
    steps = row.get("eval_solution")
    if isinstance(steps, str):
        return steps
    if isinstance(steps, list) and all(isinstance(s, str) for s in steps):
        return "\n".join(steps)
    raise DataError(where, f"problem {row.get('problem_id')!r}: eval_solution must be a list of steps",
                    field="eval_solution")


def load(path: Path, limit: int | None = None) -> EvalSet:
    """Group the per-solution rows by ``problem_id`` (first-seen order); one item per problem."""
    where = str(path)
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in read_records(path):
        if "problem_id" not in row:
            raise DataError(where, "row has no problem_id", field="problem_id")
        groups.setdefault(str(row["problem_id"]), []).append(row)
    items = []
    for pid, rows in groups.items():
        kinds = [str(r.get("solution_type")) for r in rows]
        if kinds.count("chosen") != 1 or any(k not in ("chosen", "rejected") for k in kinds):
            raise DataError(where, f"problem {pid!r} needs exactly one chosen and only rejected others, got {kinds}",
                            field="solution_type")
        chosen = kinds.index("chosen")
        comps = []
        for k in range(len(rows)):
            if k == chosen:
                continue
            cid = f"c{k}"
            if seeded_swap(f"{pid}:{cid}"):
                comps.append(Comparison(cid, k, chosen, "B"))
            else:
                comps.append(Comparison(cid, chosen, k, "A"))
        first = rows[0]
        items.append(Item(
            id=pid, subset=str(first.get("subject", "all")), prompt=text(first, "problem", where),
            candidates=tuple(_solution(r, where) for r in rows), correct=(chosen,), comparisons=tuple(comps),
            metadata={"answer": first.get("answer"), "level": first.get("level"),
                      "sources": [r.get("solution_reference") for r in rows]},
        ))
    return finish("rewardmath", items, where, limit)


def mrr_from_scores(chosen: float | None, rejected: Sequence[float | None]) -> float:
    """Upstream ``_calculate_MRR``: rank of the chosen score, rejected first at equal score; failures last."""
    if chosen is None:
        return 1.0 / (len(rejected) + 1)
    above = sum(1 for r in rejected if r is not None and r >= chosen)
    return 1.0 / (above + 1)


def item_results(evalset: EvalSet, grouped: Mapping[str, ItemOutcomes]) -> list[ItemResult]:
    """Per problem: accuracy (credit), MRR and, pointwise, accuracy with ties."""
    out = []
    for it, got in judged(evalset, grouped):
        chosen = it.correct[0]
        detail: dict[str, Any] = {}
        if got.scores and not got.pairs:
            scores = [got.scores.get(i) for i in range(len(it.candidates))]
            rejected = [s for i, s in enumerate(scores) if i != chosen]
            c = scores[chosen]
            failed = [i for i, s in enumerate(scores) if s is None]
            ok = not failed and c is not None
            acc = ok and all(c > r for r in rejected if r is not None)  # type: ignore[operator]
            acc_tie = ok and all(c >= r for r in rejected if r is not None)  # type: ignore[operator]
            detail.update(scores=scores, failed=failed, acc_with_tie=float(acc_tie),
                          mrr=mrr_from_scores(c, rejected), rule="pointwise")
        else:
            verdicts: dict[str, str | None] = {}
            losses = 0
            for comp in it.comparisons:
                o = comparison_outcome(it, comp, got)
                verdicts[comp.id] = o.winner if o else None
                losses += not (o is not None and o.winner == comp.label)
            acc = losses == 0
            detail.update(verdicts=verdicts, losses=losses, mrr=1.0 / (losses + 1), rule="pairwise: win all")
        out.append(ItemResult(it.id, it.subset, float(acc), detail, unit_ids(it, got)))
    return out


def aggregate(results: Sequence[ItemResult]) -> dict[str, float]:
    """Accuracy (overall and per subject), mean MRR and, when scored pointwise, accuracy with ties."""
    out = micro_overall(results)
    out["mrr"] = mean([float(r.detail["mrr"]) for r in results])
    with_tie = [float(r.detail["acc_with_tie"]) for r in results if "acc_with_tie" in r.detail]
    if with_tie:
        out["acc_with_tie"] = mean(with_tie)
    return out


BENCHMARK = Benchmark(
    name="rewardmath",
    description="RewardMATH: one correct vs nine incorrect solutions per problem; accuracy (win all) and MRR",
    upstream="https://github.com/kimsh0507/RewardMATH_official (src/evaluation/eval.py RewardMATHEvaluation)",
    load=load, item_results=item_results, aggregate=aggregate, default_mode="pointwise",
    info=BenchmarkInfo(source="RewardMATH/RewardMATH (hub); sample in dataset/benchmark/RewardMATH_direct.json",
                       license="MIT (repository)", rows="483 problems x 10 solutions (paper)",
                       reproduces="src/evaluation/eval.py RewardMATHEvaluation get_results / _calculate_MRR",
                       obtained="part: the repository's 2-problem sample (hub set not reachable here)"),
    overall_is_proportion=True,
)
