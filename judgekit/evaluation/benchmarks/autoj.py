"""Auto-J Eval-P (GAIR-NLP/auto-j ``data/test/testdata_pairwise.jsonl``): human-labelled pairs with ties.

Each row has ``scenario``, ``label`` (``0`` response 1 better, ``1`` response 2
better, ``2`` tie), ``prompt``, ``response 1``, ``response 2``. Scoring follows
``codes/leaderboard/pairwise_eval.py``: with both orders judged (judgekit's
default), an item agrees when **both** orders give the human label
(``correct_both``), and **consistency** is the share of items whose two orders
agree (``1 - exchange_dont_agree / total``); with one order (upstream
``--type single``), agreement is that order's verdict against the label. Scenarios
are pooled into the eight groups of ``codes/leaderboard/utils_constants.py``
(``scenario_group``); ``overall`` is the micro agreement over all pairs
(upstream's ``Overall`` row). ``agreement_no_tie`` is judgekit's extra: the same
agreement over the pairs humans did not call a tie. A failed verdict never equals
a label, so it disagrees.
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
from judgekit.evaluation.benchmarks.common import finish, judged, mean, micro_overall, pair_item, read_records, text

LABELS = {0: "A", 1: "B", 2: "tie"}
SCENARIO_GROUP: dict[str, tuple[str, ...]] = {
    "Summarization": (
        "post_summarization", "text_summarization", "note_summarization"
    ),
    "Exam Questions": (
        "math_reasoning", "solving_exam_question_with_math", "solving_exam_question_without_math"
    ),
    "Code": (
        "code_simplification", "code_generation", "explaining_code", "code_correction_rewriting",
        "code_to_code_translation"
    ),
    "Rewriting": (
        "text_simplification", "language_polishing", "instructional_rewriting", "text_correction",
        "paraphrasing"
    ),
    "Creative Writing": (
        "writing_song_lyrics", "writing_social_media_post", "writing_blog_post", "writing_personal_essay",
        "creative_writing", "writing_advertisement", "writing_marketing_materials",
        "writing_presentation_script", "counterfactual"
    ),
    "Functional Writing": (
        "writing_product_description", "writing_job_application", "writing_news_article",
        "writing_biography", "writing_email", "writing_legal_document", "writing_technical_document",
        "writing_scientific_paper", "functional_writing", "writing_cooking_recipe"
    ),
    "General Communication": (
        "asking_how_to_question", "open_question", "analyzing_general", "explaining_general",
        "seeking_advice", "recommendation", "value_judgement", "verifying_fact", "chitchat", "roleplay",
        "planning", "brainstorming"
    ),
    "NLP Tasks": (
        "ranking", "text_to_text_translation", "data_analysis", "classification_identification",
        "title_generation", "question_generation", "reading_comprehension", "keywords_extraction",
        "information_extraction", "topic_modeling", "others"
    ),
}
GROUP_OF = {s: g for g, names in SCENARIO_GROUP.items() for s in names}


def load(path: Path, limit: int | None = None) -> EvalSet:
    """Read the published JSONL; one two-candidate item per row, subset = the scenario's group."""
    where = str(path)
    items = []
    for n, row in enumerate(read_records(path)):
        label = LABELS.get(row.get("label"))  # type: ignore[arg-type]
        if label is None:
            raise DataError(where, f"row {n}: label must be 0, 1 or 2, got {row.get('label')!r}", field="label")
        scenario = text(row, "scenario", where)
        if scenario not in GROUP_OF:
            raise DataError(where, f"row {n}: unknown scenario {scenario!r}", field="scenario")
        items.append(pair_item(str(row.get("id", n)), GROUP_OF[scenario], text(row, "prompt", where),
                               text(row, "response 1", where), text(row, "response 2", where), label,
                               {"scenario": scenario}))
    return finish("autoj", items, where, limit)


def item_results(evalset: EvalSet, grouped: Mapping[str, ItemOutcomes]) -> list[ItemResult]:
    """Per pair: agreement (both orders equal the label, or the single order does) and order consistency."""
    out = []
    for it, got in judged(evalset, grouped):
        o = comparison_outcome(it, it.comparisons[0], got)
        orders = list(o.order_winners) if o is not None and o.order_winners else [o.winner if o else None]
        detail: dict[str, Any] = {"label": it.label, "orders": orders, "scenario": it.metadata.get("scenario")}
        if len(orders) >= 2:
            detail["consistent"] = orders[0] == orders[1]
            agree = orders[0] == orders[1] == it.label
        else:
            agree = orders[0] == it.label
        out.append(ItemResult(it.id, it.subset, float(agree), detail, unit_ids(it, got)))
    return out


def aggregate(results: Sequence[ItemResult]) -> dict[str, float]:
    """Agreement overall and per scenario group; consistency when both orders were judged; agreement w/o ties."""
    out = micro_overall(results)
    both = [float(r.detail["consistent"]) for r in results if "consistent" in r.detail]
    if both:
        out["consistency"] = mean(both)
    out["agreement_no_tie"] = mean([float(r.credit or 0.0) for r in results if r.detail.get("label") != "tie"])
    return out


BENCHMARK = Benchmark(
    name="autoj",
    description="Auto-J Eval-P: 1,392 human-labelled pairs with ties, 8 scenario groups; agreement and consistency",
    upstream="https://github.com/GAIR-NLP/auto-j (codes/leaderboard/pairwise_eval.py)",
    load=load, item_results=item_results, aggregate=aggregate,
    info=BenchmarkInfo(source="GAIR-NLP/auto-j data/test/testdata_pairwise.jsonl",
                       license="none stated in the repository (rows not copied; fixture constructed)",
                       rows="1,392 pairs (373 ties)",
                       reproduces="codes/leaderboard/pairwise_eval.py check_res + group_wise_collect",
                       obtained="full: the published file was read from the GitHub repository"),
    overall_is_proportion=True,
)
