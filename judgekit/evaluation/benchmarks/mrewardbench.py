"""M-RewardBench (arXiv 2410.15522): RewardBench v1 translated into 23 languages.

Published layout: the hub dataset ``CohereLabsCommunity/multilingual-reward-bench``
(formerly ``aya-rm-multilingual/multilingual-reward-bench``), one config per
language (``arb_Arab``, ``deu_Latn`` ...), split ``filtered``, rows with ``id``,
``prompt``, ``chosen``, ``rejected``, ``subset`` (RewardBench's subsets). PATH is a
file, or a folder of per-language files; the language is the row's ``language``
field when present, else the file name (``deu_Latn.jsonl``).

Scoring is RewardBench v1's generative rule, as upstream's
``scripts/run_generative.py`` (for-ai/aya_rm_multilingual) applies it per language:
chosen wins 1, loses 0, a tie or an error 0.5 (``process_shuffled``), subset
accuracies, then ``calculate_scores_per_section`` (``EXAMPLE_COUNTS``-weighted
sections, their mean). ``lang/CODE`` is that score per language; ``overall`` is the
unweighted mean over the languages present (the paper's average column; judgekit's
reading, upstream's aggregation across languages is not in the repository).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from judgekit.core.data import read_rows
from judgekit.evaluation.benchmarks import rewardbench
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
    data_files,
    group_results,
    limited,
    mean,
    read_records,
    text,
)


def _sources(path: Path) -> list[tuple[str, list[dict[str, object]]]]:
    if path.is_dir() and not (path / "dataset_dict.json").exists():
        return [(f.stem, [row for _, row in read_rows(f)]) for f in data_files(path)]
    return [(path.stem, list(read_records(path, prefer_splits=("filtered", "test"))))]


def load(path: Path, limit: int | None = None) -> EvalSet:
    """One pair item per row, id ``LANG:id``; ``limit`` counts rows per language."""
    items: list[Item] = []
    for stem, rows in _sources(Path(path)):
        where = f"{path} ({stem})"
        per_lang: list[Item] = []
        for n, row in enumerate(rows):
            lang = str(row.get("language") or stem)
            per_lang.append(chosen_rejected_item(
                f"{lang}:{row.get('id', n)}", str(row.get("subset", "unknown")), text(row, "prompt", where),
                text(row, "chosen", where), text(row, "rejected", where), {"language": lang}))
        items.extend(limited(per_lang, limit))
    check_unique(items, str(path))
    return EvalSet("mrewardbench", tuple(items), str(path))


def item_results(evalset: EvalSet, grouped: Mapping[str, ItemOutcomes]) -> list[ItemResult]:
    """RewardBench's generative credit per pair, with the pair's language."""
    lang = {it.id: it.metadata["language"] for it in evalset.items}
    return [ItemResult(r.item_id, r.subset, r.credit, {**r.detail, "language": lang[r.item_id]}, r.units)
            for r in rewardbench.item_results(evalset, grouped)]


def aggregate(results: Sequence[ItemResult]) -> dict[str, float]:
    """Per language the RewardBench score; overall their mean; pooled sections and subsets."""
    by_lang = group_results(results, key=lambda r: str(r.detail["language"]))
    per = {lang: rewardbench.aggregate(rs)["overall"] for lang, rs in sorted(by_lang.items())}
    pooled = rewardbench.aggregate(results)
    out = {"overall": mean(list(per.values()))}
    out.update({f"lang/{k}": v for k, v in per.items()})
    out.update({k: v for k, v in pooled.items() if k != "overall"})
    return out


BENCHMARK = Benchmark(
    name="mrewardbench",
    description="M-RewardBench: RewardBench v1 in 23 languages; RewardBench's section score per language",
    upstream="https://github.com/for-ai/aya_rm_multilingual (scripts/run_generative.py)",
    load=load, item_results=item_results, aggregate=aggregate,
    info=BenchmarkInfo(source="CohereLabsCommunity/multilingual-reward-bench (hub), one config per language",
                       license="ODC-BY (hub card, not checked here); code MIT",
                       rows="~2.87k pairs x 23 languages (paper)",
                       reproduces="scripts/run_generative.py process_shuffled + calculate_scores_per_section",
                       obtained="no: hub only; tests use a constructed fixture in the published layout"),
)
