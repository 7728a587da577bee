"""RAG-RewardBench (arXiv 2412.13746): reward models on retrieval-augmented answers.

Published layout (hub ``jinzhuoran/RAG-RewardBench``, folder ``Dataset/``): one JSONL file
per scenario, ``reason.jsonl`` (multi-hop reasoning), ``citation.jsonl`` (fine-grained
citation), ``abstain.jsonl`` (appropriate abstain), ``conflict.jsonl`` (conflict
robustness), ``helpful.jsonl`` and ``harmless.jsonl`` (general helpfulness and
harmlessness with retrieved documents); 1,485 rows. Rows: ``prompt`` (the retrieved
references the answering model saw), ``question``, ``chosen``, ``reject``
(``rejected`` is accepted too), ``chosen_model``, ``reject_model``, ``subset`` (the
source RAG dataset). PATH is that folder, one of its files, a saved ``datasets``
directory of the hub's single ``train`` split, or the hub name ``jinzhuoran/RAG-RewardBench``
(downloaded once, for users with network).

Scoring: the authors published no evaluation code (jinzhuoran/RAG-RewardBench holds
only a README, commit dd6df58), so the rule is the paper's: accuracy = share of pairs
where the judge prefers the chosen response, per scenario and over all pairs (a tie or
a failed judgment is not a preference for the chosen one). ``overall`` = micro accuracy
over every pair; ``macro`` = the unweighted mean of the scenario accuracies (judgekit).
The scenario is the file name; a row read from elsewhere uses its ``subset`` field.
The judge's prompt is ``prompt``, followed by ``Question: ...`` when ``question`` is
not already inside it. The chosen response is shown first or second by the fixed
per-item coin (``seeded_swap``); the protocol's default judges both orders.
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
    data_files,
    exact_credit,
    finish,
    in_order,
    mean,
    micro_overall,
    read_records,
    single_pair_results,
    text,
)
from judgekit.evaluation.benchmarks.hub import hub_fetcher

SCENARIOS = ("reason", "citation", "abstain", "conflict", "helpful", "harmless")
HUB = "jinzhuoran/RAG-RewardBench"


def _sources(path: Path) -> list[tuple[str | None, str, list[dict[str, Any]]]]:
    """``(scenario or None, where, rows)`` per file read."""
    if path.is_dir() and not ((path / "dataset_dict.json").exists() or (path / "dataset_info.json").exists()):
        files = data_files(path)
        return [(f.stem if f.stem in SCENARIOS else None, str(f), [row for _, row in read_rows(f)]) for f in files]
    stem = path.stem if path.is_file() and path.stem in SCENARIOS else None
    return [(stem, str(path), list(read_records(path)))]


def judge_prompt(row: Mapping[str, Any], where: str) -> str:
    """``prompt`` plus ``Question: ...`` when the question is not already in it."""
    prompt = text(row, "prompt", where)
    question = row.get("question")
    if isinstance(question, str) and question.strip() and question.strip() not in prompt:
        return f"{prompt}\n\nQuestion: {question.strip()}"
    return prompt


def _rejected(row: Mapping[str, Any], where: str) -> str:
    name = "reject" if "reject" in row else "rejected"
    if name not in row:
        raise DataError(where, "row has neither 'reject' nor 'rejected'", field="reject")
    return text(row, name, where)


def load(path: Path, limit: int | None = None) -> EvalSet:
    """One pair item per row, id ``SCENARIO:line``; ``limit`` counts rows per scenario file."""
    path = Path(path)
    items: list[Item] = []
    for scenario, where_file, rows in _sources(path):
        got: list[Item] = []
        for n, row in enumerate(rows, start=1):
            where = f"{where_file}:{n}"
            name = scenario or str(row.get("subset") or "unknown")
            meta = {"source": row.get("subset"), "chosen_model": row.get("chosen_model"),
                    "reject_model": row.get("reject_model")}
            got.append(chosen_rejected_item(f"{name}:{row.get('id', n)}", name, judge_prompt(row, where),
                                            text(row, "chosen", where), _rejected(row, where), meta))
        items.extend(got if limit is None else got[:limit])
    return finish("ragrewardbench", items, str(path), None)


def item_results(evalset: EvalSet, grouped: Mapping[str, ItemOutcomes]) -> list[ItemResult]:
    """Credit 1 when the judge prefers the chosen response (tie, failure, skipped: 0)."""
    return single_pair_results(evalset, grouped, exact_credit)


def aggregate(results: Sequence[ItemResult]) -> dict[str, float]:
    """Micro accuracy, accuracy per scenario (paper order) and their mean."""
    out = micro_overall(results)
    subsets = in_order({k.split("/", 1)[1] for k in out if k.startswith("subset/")}, SCENARIOS)
    ordered = {f"subset/{s}": out[f"subset/{s}"] for s in subsets}
    return {"overall": out["overall"], **ordered, "macro": mean(list(ordered.values()))}


BENCHMARK = Benchmark(
    name="ragrewardbench",
    description="RAG-RewardBench: chosen vs rejected RAG answers in 6 scenarios; accuracy per scenario",
    upstream="https://huggingface.co/datasets/jinzhuoran/RAG-RewardBench (paper arXiv 2412.13746; no eval code)",
    load=load, item_results=item_results, aggregate=aggregate,
    fetch=hub_fetcher(HUB, [f"Dataset/{s}.jsonl" for s in SCENARIOS], subdir="Dataset"),
    info=BenchmarkInfo(source="jinzhuoran/RAG-RewardBench (hub), Dataset/{reason,citation,abstain,conflict,"
                              "helpful,harmless}.jsonl",
                       license="Apache-2.0 (hub card)", rows="1,485 pairs (paper)",
                       reproduces="the paper's accuracy (chosen preferred), per scenario; no upstream scorer "
                                  "exists (GitHub repo: README only)",
                       obtained="no: hub only; tests use a constructed fixture in the published layout"),
    overall_is_proportion=True,
)
