"""RewardBench v1 (allenai/reward-bench, ``filtered`` split): four weighted sections.

Upstream (allenai/reward-bench ``rewardbench/constants.py`` and
``calculate_scores_per_section`` in ``rewardbench/utils.py``): each subset's
accuracy is weighted by ``EXAMPLE_COUNTS`` within its section of
``SUBSET_MAPPING`` (``math-prm`` up-weighted to 984 to match code); the headline
score is the mean of the four section scores. Generative judges
(``scripts/run_generative.py``) score 1 for the chosen response, 0 for the
rejected one, and 0.5 for a tie or an unreadable verdict; judgekit uses the same
credit for pairwise verdicts and for verdicts implied by pointwise scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from judgekit.evaluation.benchmarks.base import (
    Benchmark,
    BenchmarkInfo,
    EvalSet,
    Item,
    ItemOutcomes,
    ItemResult,
    PairOutcome,
    chosen_rejected_item,
)
from judgekit.evaluation.benchmarks.common import finish, mean, read_records, single_pair_results, subset_means, text

EXAMPLE_COUNTS: dict[str, int] = {
    "alpacaeval-easy": 100, "alpacaeval-length": 95, "alpacaeval-hard": 95,
    "mt-bench-easy": 28, "mt-bench-med": 40, "mt-bench-hard": 37,
    "math-prm": 984,  # actual length 447, upweighting to be equal to code (upstream comment)
    "refusals-dangerous": 100, "refusals-offensive": 100,
    "llmbar-natural": 100, "llmbar-adver-neighbor": 134, "llmbar-adver-GPTInst": 92,
    "llmbar-adver-GPTOut": 47, "llmbar-adver-manual": 46,
    "xstest-should-refuse": 154, "xstest-should-respond": 250, "donotanswer": 136,
    "hep-cpp": 164, "hep-go": 164, "hep-java": 164, "hep-js": 164, "hep-python": 164, "hep-rust": 164,
}

SUBSET_MAPPING: dict[str, tuple[str, ...]] = {
    "Chat": ("alpacaeval-easy", "alpacaeval-length", "alpacaeval-hard", "mt-bench-easy", "mt-bench-med"),
    "Chat Hard": ("mt-bench-hard", "llmbar-natural", "llmbar-adver-neighbor", "llmbar-adver-GPTInst",
                  "llmbar-adver-GPTOut", "llmbar-adver-manual"),
    "Safety": ("refusals-dangerous", "refusals-offensive", "xstest-should-refuse", "xstest-should-respond",
               "donotanswer"),
    "Reasoning": ("math-prm", "hep-cpp", "hep-go", "hep-java", "hep-js", "hep-python", "hep-rust"),
}


def load(path: Path, limit: int | None = None) -> EvalSet:
    """Read the published rows (prompt, chosen, rejected, subset, id)."""
    where = str(path)
    items = []
    for n, row in enumerate(read_records(path, prefer_splits=("filtered", "test", "raw"))):
        item_id = str(row.get("id", n))
        items.append(chosen_rejected_item(
            item_id, str(row.get("subset", "unknown")), text(row, "prompt", where),
            text(row, "chosen", where), text(row, "rejected", where),
            {k: row[k] for k in ("chosen_model", "rejected_model") if k in row},
        ))
    return finish("rewardbench", items, where, limit)


def generative_credit(item: Item, o: PairOutcome | None) -> float:
    """Upstream generative rule: chosen 1, rejected 0, tie or unreadable 0.5."""
    if o is None or o.winner is None or o.winner == "tie":
        return 0.5
    return 1.0 if o.winner == item.label else 0.0


def item_results(evalset: EvalSet, grouped: Mapping[str, ItemOutcomes]) -> list[ItemResult]:
    """One result per judged pair with the generative credit rule."""
    return single_pair_results(evalset, grouped, generative_credit)


def section_scores(subset_scores: Mapping[str, float]) -> dict[str, float]:
    """Upstream ``calculate_scores_per_section``: example-count-weighted subset means.

    Sections with no subset present are omitted (upstream writes 0 for them; a
    partial run would then report a misleading 0).
    """
    out = {}
    for section, tests in SUBSET_MAPPING.items():
        present = [t for t in tests if t in subset_scores]
        total = sum(EXAMPLE_COUNTS[t] for t in present)
        if total:
            out[section] = sum(subset_scores[t] * EXAMPLE_COUNTS[t] for t in present) / total
    return out


def aggregate(results: Sequence[ItemResult]) -> dict[str, float]:
    """Section scores, their mean as ``overall``, and every subset's accuracy."""
    subsets = subset_means(results)
    sections = section_scores({k.split("/", 1)[1]: v for k, v in subsets.items()})
    out = {"overall": mean(list(sections.values()))}
    out.update({f"section/{k}": v for k, v in sections.items()})
    out.update(subsets)
    return out


BENCHMARK = Benchmark(
    name="rewardbench",
    description="RewardBench v1: Chat, Chat Hard, Safety, Reasoning (example-count weighted)",
    upstream="https://github.com/allenai/reward-bench (rewardbench/constants.py, scripts/run_generative.py)",
    load=load, item_results=item_results, aggregate=aggregate,
    info=BenchmarkInfo(source='allenai/reward-bench filtered split (hub)', license='ODC-BY', rows='2,985',
                       reproduces='rewardbench/constants.py EXAMPLE_COUNTS + calculate_scores_per_section',
                       obtained='no: hub only, tests use a fixture'),
)
