"""MT-Bench human judgments (``lmsys/mt_bench_human_judgments``, split ``human``): agreement with experts.

Published layout: one row per expert vote with ``question_id``, ``model_a``,
``model_b``, ``winner`` (``model_a`` / ``model_b`` / ``tie``), ``judge``
(``expert_N`` / ``author_N``), ``conversation_a`` / ``conversation_b`` (lists of
``{"role", "content"}``) and ``turn`` (1 or 2). As in FastChat
``fastchat/llm_judge/compute_agreement.py`` (``get_mt_bench_votes_data``), votes are
keyed by (turn, question, the two models in sorted order), a vote for the swapped
order being reverted; judgekit judges each key once, the first sorted model shown
as A. ``get_mt_bench_agreement`` (judge vs human) then counts, for every human vote
on the key, whether the judge's vote equals it (two ties are equal); **without
ties** skips a key when the judge said tie and any human vote that is a tie. The
agreement is a ratio of vote counts (micro over votes), per turn as upstream prints
it; ``overall`` pools both turns. A failed judgment is not a tie, so it counts as a
disagreement in both numbers. Turn 2 shows the judge the whole two-turn
conversation of each model.
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
    ItemOutcomes,
    ItemResult,
    comparison_outcome,
    unit_ids,
)
from judgekit.evaluation.benchmarks.common import finish, group_results, judged, pair_item, read_records, text

VOTE = {"model_a": "A", "model_b": "B"}
REVERT = {"A": "B", "B": "A"}


def _vote(winner: Any) -> str | None:
    if not isinstance(winner, str):
        return None
    return "tie" if "tie" in winner else VOTE.get(winner)


def _turns(conv: Any, turn: int, where: str) -> tuple[str, str]:
    """(user text, assistant text) up to ``turn``, as the judge sees them."""
    if not isinstance(conv, list) or not all(isinstance(m, Mapping) for m in conv):
        raise DataError(where, "conversation must be a list of {role, content}", field="conversation_a")
    users = [str(m.get("content", "")) for m in conv if m.get("role") == "user"][:turn]
    bots = [str(m.get("content", "")) for m in conv if m.get("role") == "assistant"][:turn]
    if len(users) < turn or len(bots) < turn:
        raise DataError(where, f"conversation has fewer than {turn} turns", field="conversation_a")
    if turn == 1:
        return users[0], bots[0]
    prompt = "\n\n".join(f"[Turn {i + 1}] {u}" for i, u in enumerate(users))
    return prompt, "\n\n".join(f"[Turn {i + 1}] {b}" for i, b in enumerate(bots))


def load(path: Path, limit: int | None = None) -> EvalSet:
    """One item per (turn, question, model pair) holding every human vote on it."""
    where = str(path)
    keyed: dict[tuple[int, str, str, str], dict[str, Any]] = {}
    for n, row in enumerate(read_records(path)):
        vote = _vote(row.get("winner"))
        if vote is None:
            raise DataError(where, f"row {n}: winner must be model_a, model_b or tie", field="winner")
        turn = int(row.get("turn", 1))
        a, b = text(row, "model_a", where), text(row, "model_b", where)
        swap = a > b
        key = (turn, str(row.get("question_id")), min(a, b), max(a, b))
        convs = {a: row.get("conversation_a"), b: row.get("conversation_b")}
        entry = keyed.setdefault(key, {"votes": [], "convs": convs})
        entry["votes"].append(REVERT.get(vote, vote) if swap else vote)
    items = []
    for (turn, qid, first, second), entry in keyed.items():
        prompt, resp_a = _turns(entry["convs"][first], turn, where)
        _, resp_b = _turns(entry["convs"][second], turn, where)
        votes = entry["votes"]
        label = votes[0] if len(set(votes)) == 1 else None
        items.append(pair_item(f"t{turn}:{qid}:{first}:{second}", f"turn{turn}", prompt, resp_a, resp_b, label,
                               {"votes": votes, "models": [first, second]}))
    return finish("mtbench_human", items, where, limit)


def agreement(judge: str | None, votes: Sequence[str], ban_tie: bool) -> tuple[int, int]:
    """Upstream ``get_mt_bench_agreement`` for one key: (agreeing human votes, counted human votes)."""
    if ban_tie and judge == "tie":
        return 0, 0
    counted = [v for v in votes if not (ban_tie and v == "tie")]
    return sum(1 for v in counted if v == judge), len(counted)


def item_results(evalset: EvalSet, grouped: Mapping[str, ItemOutcomes]) -> list[ItemResult]:
    """Per key: agreeing and counted votes with and without ties; credit = the with-tie ratio."""
    out = []
    for it, got in judged(evalset, grouped):
        o = comparison_outcome(it, it.comparisons[0], got)
        judge = o.winner if o else None
        votes = list(it.metadata["votes"])
        agree, total = agreement(judge, votes, False)
        agree_nt, total_nt = agreement(judge, votes, True)
        detail = {"judge": judge, "votes": votes, "agree": agree, "total": total,
                  "agree_no_tie": agree_nt, "total_no_tie": total_nt}
        out.append(ItemResult(it.id, it.subset, agree / total if total else None, detail, unit_ids(it, got)))
    return out


def _ratio(results: Sequence[ItemResult], agree: str, total: str) -> float:
    n = sum(int(r.detail[total]) for r in results)
    return sum(int(r.detail[agree]) for r in results) / n if n else float("nan")


def aggregate(results: Sequence[ItemResult]) -> dict[str, float]:
    """Vote-level agreement with and without ties, overall and per turn."""
    out = {"overall": _ratio(results, "agree", "total"),
           "no_tie": _ratio(results, "agree_no_tie", "total_no_tie")}
    for turn, part in sorted(group_results(results).items()):
        out[f"subset/{turn}"] = _ratio(part, "agree", "total")
        out[f"no_tie/{turn}"] = _ratio(part, "agree_no_tie", "total_no_tie")
    return out


BENCHMARK = Benchmark(
    name="mtbench_human",
    description="MT-Bench human judgments: judge vs expert votes, agreement with and without ties, per turn",
    upstream="https://github.com/lm-sys/FastChat (fastchat/llm_judge/compute_agreement.py)",
    load=load, item_results=item_results, aggregate=aggregate,
    info=BenchmarkInfo(source="lmsys/mt_bench_human_judgments, split human (hub)",
                       license="CC-BY-4.0 (hub card; not checked here)",
                       rows="~3.3k expert votes (paper; not counted here)",
                       reproduces="compute_agreement.py get_mt_bench_votes_data + get_mt_bench_agreement",
                       obtained="no: hub only; tests use a constructed fixture in the published layout"),
)
