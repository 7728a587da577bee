"""PPE human preference (arXiv 2410.14872, lmarena/PPE): Chatbot Arena votes as pairs.

Published layout: the hub dataset ``lmarena-ai/PPE-Human-Preference-V1`` (split
``test``, 16,038 rows), one row per vote with ``question_id``, ``model_a``,
``model_b``, ``winner`` (``model_a`` / ``model_b``, or a tie), ``prompt``,
``response_1`` (model A's answer), ``response_2`` (model B's), ``language`` and metadata, among it the top-level
flags ``is_code``, ``is_refusal``, ``hard_prompt``, ``easy_prompt``, ``if_prompt``,
``math_prompt`` (read from the hub card). Any top-level column that is ``true`` on
a row puts the row in ``category/NAME`` as well.

Upstream registers this set as ``human_preference_v1`` (``benchmarks/`` in
lmarena/PPE), scored by ``utils/scorers.py`` ``HumanPreferenceScorer``; that
file's body could not be read in this session (no snapshot of lmarena/PPE here,
only its opening lines), so the rule below is the paper's definition of accuracy,
in judgekit's strict reading:

* a voted tie has no preferred response: the row is left out of accuracy (the
  count is in the run's notes);
* a row is right when the verdict picks the voted response; a tie verdict or a
  failure is wrong (never half credit: no verdict is invented);
* ``overall`` = accuracy over all scored rows; ``subset/LANG`` per ``language``;
  ``category/NAME`` per category flag. Pairs are shown in the published order
  (response_1 first); run both orders to cancel position bias.
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
)
from judgekit.evaluation.benchmarks.common import (
    check_unique,
    exact_credit,
    group_results,
    limited,
    mean,
    micro_overall,
    pair_item,
    read_records,
    single_pair_results,
    text,
)

WINNERS = {"model_a": "A", "model_b": "B"}
KNOWN = {"question_id", "model_a", "model_b", "winner", "prompt", "response_1", "response_2", "language"}


def _categories(row: Mapping[str, Any]) -> list[str]:
    return sorted(k for k, v in row.items() if k not in KNOWN and v is True)


def load(path: Path, limit: int | None = None) -> EvalSet:
    """One pair item per non-tie vote (id = ``question_id``); ties are counted in the notes."""
    where = str(path)
    items = []
    ties = 0
    for n, row in enumerate(read_records(path, prefer_splits=("test",))):
        winner = str(row.get("winner", "")).strip().lower()
        if winner.startswith("tie") or winner == "both_bad":  # Arena's tie spellings
            ties += 1
            continue
        if winner not in WINNERS:
            raise DataError(where, f"row {n}: winner must be model_a, model_b or a tie, got {row.get('winner')!r}",
                            field="winner")
        meta = {"model_a": row.get("model_a"), "model_b": row.get("model_b"), "categories": _categories(row)}
        items.append(pair_item(str(row.get("question_id", n)), str(row.get("language") or "all"),
                               text(row, "prompt", where), text(row, "response_1", where),
                               text(row, "response_2", where), WINNERS[winner], meta))
    items = limited(items, limit)
    check_unique(items, where)
    notes = (f"{ties} voted tie(s) left out: a tie has no preferred response",) if ties else ()
    return EvalSet("ppe_human", tuple(items), where, notes)


def item_results(evalset: EvalSet, grouped: Mapping[str, ItemOutcomes]) -> list[ItemResult]:
    """1 when the verdict picks the voted response (tie verdict or failure: 0), with the row's categories."""
    cats = {it.id: list(it.metadata.get("categories") or ()) for it in evalset.items}
    return [ItemResult(r.item_id, r.subset, r.credit, {**r.detail, "categories": cats[r.item_id]}, r.units)
            for r in single_pair_results(evalset, grouped, exact_credit)]


def aggregate(results: Sequence[ItemResult]) -> dict[str, float]:
    """Accuracy overall, per language and per category flag."""
    out = micro_overall(results)
    by: dict[str, list[float]] = {}
    for r in results:
        for c in r.detail.get("categories") or ():
            by.setdefault(str(c), []).append(float(r.credit or 0.0))
    out.update({f"category/{k}": mean(v) for k, v in sorted(by.items())})
    out["macro_language"] = mean([mean([float(r.credit or 0.0) for r in rs]) for rs in group_results(results).values()])
    return out


BENCHMARK = Benchmark(
    name="ppe_human",
    description="PPE human preference: Chatbot Arena votes; accuracy against the voted response",
    upstream="https://github.com/lmarena/PPE (utils/scorers.py HumanPreferenceScorer; arXiv 2410.14872)",
    load=load, item_results=item_results, aggregate=aggregate,
    info=BenchmarkInfo(source="lmarena-ai/PPE-Human-Preference-V1 (hub, split test)",
                       license="prompts CC-BY-4.0, model outputs under their providers' terms (hub card)",
                       rows="16,038 votes (hub card)",
                       reproduces="accuracy as the paper defines it; upstream HumanPreferenceScorer not readable here "
                                  "(ties left out, tie verdict wrong: judgekit's reading)",
                       obtained="no: hub only, lmarena/PPE not reachable; tests use a constructed fixture in the "
                                "hub layout"),
    overall_is_proportion=True,
)
