"""Long-RewardBench (LongRM, arXiv 2510.06915): reward models on contexts of 4K to 128K tokens.

Published layout (hub ``LCM-Lab/LongRewardBench``, ModelScope ``LCM_group/LongReward-Bench-V1``):
one JSONL file per task, ``LongQA.jsonl``, ``Summ.jsonl``, ``Safety.jsonl``, ``ICL.jsonl``,
``Cite.jsonl``, ``Code.jsonl``, ``Math.jsonl``; rows with ``prompt_template`` (chat messages:
the long context and the question), ``chosen`` / ``rejected`` (``tasktype`` ``PairWise``) or
``candidates`` (``tasktype`` ``BestOfN``, best first), ``subtype``, ``ctx_length_for_length``
(``4k`` .. ``128k``), ``source``, ``id``. PATH is that folder, one task file, or the hub
name ``LCM-Lab/LongRewardBench`` (downloaded once, for users with network).

Everything below follows LCM-Lab/LongRM ``evaluate/evaluating/longreward_bench/`` at commit
bbc90f54 (the snapshot read here):

* ``preprocess.py`` ``LongRewardBenchPreprocess.preprocess`` (lines 116-169): rows whose
  ``tasktype`` is set and not ``PairWise``/``BestOfN`` are dropped; ``random.seed(42)``,
  the rows are shuffled, then each row draws ``shuffled_order`` = a shuffled
  ``range(2)`` (pair) or ``range(len(candidates))``; the judge sees ``answers[order[k]]``
  at position ``k``; the question is the ``prompt_template`` contents joined by a blank
  line. judgekit replays that random stream per task file, so every item is shown in
  upstream's order (``metadata["golden"]`` = ``shuffled_order``: the true rank of the
  response at each displayed position).
* ``evaluator.py`` ``evaluate`` (lines 197-283): ``compare_shuffled(golden, result)`` =
  share of displayed positions whose predicted rank equals the true rank (0 when the
  judgment could not be read); per task the mean over ``PairWise`` rows, ``Same.`` /
  ``Diff.`` (``subtype == "same"`` or not), ``PairWise Avg.``; ``Rank2/3/4`` (``BestOfN``
  rows by ``subtype``) and ``Rank Avg``; the ``PairWise`` mean per ``ctx_length`` bucket;
  ``AVG.`` over every row.
* Item subsets: a task's PairWise rows are subset ``TASK`` (upstream's per-task column
  counts only them), its BestOfN rows ``TASK BestOfN``.
* ``utils/prompt.py`` ``extract_judgement`` (lines 95-130): a pair verdict gives ranks
  ``[0, 1]`` (A better) or ``[1, 0]``; a ranking ``[[C>A>B]]`` gives each position's rank.

judgekit's judges give the ranks as follows: a pairwise verdict ``A``/``B`` as upstream;
a tie or a failure reads nothing (credit 0). ``BestOfN`` rows are judged by the listwise
protocol (upstream ranks all candidates in one prompt), or by a pointwise run's protocol or
a scalar RM scoring each candidate (upstream's ``--is-disrm`` path); the scores rank the
positions, and positions sharing a score get no rank (upstream's
scalar-RM path breaks such ties by display position, which would invent an order).
Inputs longer than the model's context are skipped with counts, never truncated
(upstream keeps the first and last 65,536 tokens of a prompt over 131,072).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from judgekit.core.data import DataError, read_rows
from judgekit.evaluation.benchmarks.base import (
    Benchmark,
    BenchmarkInfo,
    Comparison,
    EvalSet,
    Item,
    ItemOutcomes,
    ItemResult,
    comparison_outcome,
    unit_ids,
)
from judgekit.evaluation.benchmarks.common import finish, judged, mean, text
from judgekit.evaluation.benchmarks.hub import hub_fetcher

TASKS = ("LongQA", "Summ", "Safety", "ICL", "Cite", "Code", "Math")  # evaluate/eval.py line 23
FORMATS = ("PairWise", "BestOfN")
LENGTHS = ("4k", "8k", "16k", "32k", "64k", "128k")
RANKS = ("2", "3", "4")
SEED = 42
HUB = "LCM-Lab/LongRewardBench"


def _task_files(path: Path) -> list[tuple[str, Path]]:
    if path.is_file():
        return [(path.stem, path)]
    found = [(t, path / f"{t}.jsonl") for t in TASKS if (path / f"{t}.jsonl").is_file()]
    if not found:
        raise DataError(path, f"folder holds none of the task files {', '.join(t + '.jsonl' for t in TASKS)}")
    return found


def _question(row: Mapping[str, Any], where: str) -> str:
    msgs = row.get("prompt_template")
    if not isinstance(msgs, list) or not msgs or not all(isinstance(m, Mapping) and isinstance(m.get("content"), str)
                                                         for m in msgs):
        raise DataError(where, "prompt_template must be a list of {role, content} messages", field="prompt_template")
    return "\n\n".join(str(m["content"]) for m in msgs)


def _answers(row: Mapping[str, Any], where: str) -> list[str]:
    if row.get("tasktype") == "BestOfN":
        cands = row.get("candidates")
        if not isinstance(cands, list) or len(cands) < 2 or not all(isinstance(c, str) for c in cands):
            raise DataError(where, "a BestOfN row needs a list of at least 2 candidate texts", field="candidates")
        return list(cands)
    return [text(row, "chosen", where), text(row, "rejected", where)]


def _task_items(task: str, path: Path) -> tuple[list[Item], int]:
    """Items of one task file in file order, each shown in upstream's seeded order; rows dropped."""
    rows = [(n, row) for n, row in read_rows(path)]
    kept = [(n, row) for n, row in rows if not row.get("tasktype") or row["tasktype"] in FORMATS]
    rng = random.Random(SEED)  # preprocess.py: random.seed(42) per task, shuffle rows, then one order per row
    order_of: dict[int, list[int]] = {}
    shuffled = list(range(len(kept)))
    rng.shuffle(shuffled)
    for index in shuffled:
        n, row = kept[index]
        size = len(row["candidates"]) if row.get("tasktype") == "BestOfN" and isinstance(
            row.get("candidates"), list) else 2
        order = list(range(size))
        rng.shuffle(order)
        order_of[index] = order
    items = []
    for index, (n, row) in enumerate(kept):
        where = f"{path}:{n}"
        answers = _answers(row, where)
        order = order_of[index]
        shown = tuple(answers[i] for i in order)
        best = order.index(0)
        bon = row.get("tasktype") == "BestOfN"
        label = None if bon else "A" if best == 0 else "B"
        comps = () if label is None else (Comparison("ab", 0, 1, label),)
        items.append(Item(
            id=f"{task}:{index}", subset=f"{task} BestOfN" if bon else task, prompt=_question(row, where),
            candidates=shown, correct=(best,),
            comparisons=comps, label=label, mode="listwise" if bon else None,
            metadata={"golden": order, "tasktype": row.get("tasktype"), "subtype": str(row.get("subtype")),
                      "length": row.get("ctx_length_for_length"), "source": row.get("source"),
                      "row_id": row.get("id"), "task": task},
        ))
    return items, len(rows) - len(kept)


def load(path: Path, limit: int | None = None) -> EvalSet:
    """Every task file present, in upstream's task order; ``limit`` counts items per task."""
    path = Path(path)
    items: list[Item] = []
    notes: list[str] = []
    for task, f in _task_files(path):
        got, dropped = _task_items(task, f)
        items.extend(got if limit is None else got[:limit])
        if dropped:
            notes.append(f"{task}: {dropped} row(s) with another tasktype dropped, as upstream does")
    es = finish("longrewardbench", items, str(path), None)
    return EvalSet(es.benchmark, es.items, es.source, tuple(notes))


def compare_shuffled(golden: Sequence[int], result: Sequence[int | None]) -> float:
    """Upstream ``compare_shuffled``: share of positions whose predicted rank is the true one (0 if unread)."""
    if not result:
        return 0.0
    hits = sum(int(a == b) for a, b in zip(golden, result, strict=False))  # upstream zips: a longer ranking is cut
    return hits / len(golden)


def ranks_from_scores(scores: Sequence[float | None]) -> list[int | None]:
    """Predicted rank (0 = best) of each position by descending score; ``None`` for tied positions.

    Empty when any score is missing (a failed judgment reads nothing, as upstream's ``[]``).
    """
    if any(s is None for s in scores):
        return []
    vals = [float(s) for s in scores]  # type: ignore[arg-type]
    return [None if vals.count(v) > 1 else sum(1 for w in vals if w > v) for v in vals]


def _pair_ranks(winner: str | None) -> list[int | None]:
    """``extract_judgement`` for a pair: A better -> ``[0, 1]``, B better -> ``[1, 0]``, else nothing."""
    return [0, 1] if winner == "A" else [1, 0] if winner == "B" else []


def item_results(evalset: EvalSet, grouped: Mapping[str, ItemOutcomes]) -> list[ItemResult]:
    """Per row: ``compare_shuffled`` of upstream's order against the judge's ranks."""
    out = []
    for it, got in judged(evalset, grouped):
        golden = list(it.metadata["golden"])
        detail: dict[str, Any] = {"tasktype": it.metadata.get("tasktype"), "subtype": it.metadata.get("subtype"),
                                  "length": it.metadata.get("length"), "golden": golden}
        if it.comparisons and not got.scores:
            o = comparison_outcome(it, it.comparisons[0], got)
            result = _pair_ranks(o.winner if o else None)
            detail["pred"] = o.winner if o else None
            if o is not None and o.order_winners:
                detail["orders"] = list(o.order_winners)
        else:
            scores = [got.scores.get(i) for i in range(len(it.candidates))]
            result = ranks_from_scores(scores)
            detail["scores"] = scores
            tied = sum(r is None for r in result)
            if tied:
                detail["tied_positions"] = tied
        detail["result"] = result
        out.append(ItemResult(it.id, it.subset, compare_shuffled(golden, result), detail, unit_ids(it, got)))
    return out


def _mean_of(results: Sequence[ItemResult]) -> float:
    return mean([float(r.credit) for r in results if r.credit is not None])


def aggregate(results: Sequence[ItemResult]) -> dict[str, float]:
    """``evaluator.py`` ``evaluate``: per task (PairWise), Same/Diff, PairWise, Rank2-4, Rank, lengths, AVG.

    A group with no rows is left out (upstream prints 0 for it).
    """
    pair = [r for r in results if r.detail.get("tasktype") == "PairWise"]
    bon = [r for r in results if r.detail.get("tasktype") == "BestOfN"]
    out: dict[str, float] = {"overall": _mean_of(results)}
    groups: dict[str, list[ItemResult]] = {}
    for t in TASKS:
        groups[f"subset/{t}"] = [r for r in pair if r.subset == t]
    for name in sorted({r.subset for r in pair} - set(TASKS)):
        groups[f"subset/{name}"] = [r for r in pair if r.subset == name]
    groups["same"] = [r for r in pair if r.detail.get("subtype") == "same"]
    groups["diff"] = [r for r in pair if r.detail.get("subtype") != "same"]
    groups["pairwise"] = pair
    for k in RANKS:
        groups[f"rank/{k}"] = [r for r in bon if r.detail.get("subtype") == k]
    groups["bestofn"] = bon
    for length in LENGTHS:
        groups[f"length/{length}"] = [r for r in pair if r.detail.get("length") == length]
    out.update({k: _mean_of(v) for k, v in groups.items() if v})
    return out


BENCHMARK = Benchmark(
    name="longrewardbench",
    description="Long-RewardBench (LongRM): pairwise and best-of-N judgments on 4K-128K-token contexts",
    upstream="https://github.com/LCM-Lab/LongRM (evaluate/evaluating/longreward_bench/evaluator.py)",
    load=load, item_results=item_results, aggregate=aggregate,
    fetch=hub_fetcher(HUB, [f"{t}.jsonl" for t in TASKS]),
    info=BenchmarkInfo(source="LCM-Lab/LongRewardBench (hub; ModelScope LCM_group/LongReward-Bench-V1), "
                              "one JSONL per task",
                       license="Apache-2.0 (hub card)",
                       rows="1,900 rows in 7 tasks (card); evaluator.py counts 1,900",
                       reproduces="LongRM evaluator.py evaluate + compare_shuffled, preprocess.py seeded "
                                  "order, prompt.py extract_judgement",
                       obtained="no: hub only (508 MB); tests use a constructed fixture in the published layout"),
)
