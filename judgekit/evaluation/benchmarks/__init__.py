"""Standard benchmarks with their upstream scoring rules.

Typical use (the ``judgekit eval`` command does exactly this)::

    bench = get_benchmark("rewardbench2")
    evalset = bench.load(Path(path), limit)
    units = evalset.units(mode)                 # Samples; metadata["protocol"] says how to judge each
    judgments = ...                              # judge every unit with its protocol
    outcomes = outcomes_from_judgments(units, judgments)
    scores = score_benchmark(bench, evalset, outcomes)
    write_scores(run_dir, scores)
"""

from __future__ import annotations

import importlib

from judgekit.evaluation.benchmarks.base import (
    Benchmark,
    Comparison,
    EvalSet,
    Item,
    ItemOutcomes,
    ItemResult,
    Mode,
    Outcome,
    PairOutcome,
    ScoreOutcome,
    group_outcomes,
    outcomes_from_judgment,
    outcomes_from_judgments,
)
from judgekit.evaluation.benchmarks.scoring import (
    compare_scores,
    diagnostics,
    read_scores,
    score_benchmark,
    write_scores,
)

_MODULES: dict[str, str] = {
    "rewardbench2": "judgekit.evaluation.benchmarks.rewardbench2",
    "rewardbench": "judgekit.evaluation.benchmarks.rewardbench",
    "rmbench": "judgekit.evaluation.benchmarks.rmbench",
    "judgebench": "judgekit.evaluation.benchmarks.judgebench",
    "llmbar": "judgekit.evaluation.benchmarks.llmbar",
    "pandalm": "judgekit.evaluation.benchmarks.pandalm",
    "hhh": "judgekit.evaluation.benchmarks.hhh",
    "rewardmath": "judgekit.evaluation.benchmarks.rewardmath",
    "ragrewardbench": "judgekit.evaluation.benchmarks.ragrewardbench",
    "longrewardbench": "judgekit.evaluation.benchmarks.longrewardbench",
    "autoj": "judgekit.evaluation.benchmarks.autoj",
    "mtbench_human": "judgekit.evaluation.benchmarks.mtbench_human",
    "contrast": "judgekit.evaluation.benchmarks.contrast",
    "verifybench": "judgekit.evaluation.benchmarks.verifybench",
    "mrewardbench": "judgekit.evaluation.benchmarks.mrewardbench",
    "processbench": "judgekit.evaluation.benchmarks.processbench",
    "generic": "judgekit.evaluation.benchmarks.generic",
    "ppe_human": "judgekit.evaluation.benchmarks.ppe_human",
    "ppe_correctness": "judgekit.evaluation.benchmarks.ppe_correctness",
    "librabench": "judgekit.evaluation.benchmarks.librabench",
}
ALIASES = {"rb2": "rewardbench2", "rewardbench-2": "rewardbench2", "rewardbench-v1": "rewardbench",
           "rb": "rewardbench", "rm-bench": "rmbench", "hhh_alignment": "hhh", "hhh-alignment": "hhh",
           "rag-rewardbench": "ragrewardbench", "long-rewardbench": "longrewardbench", "longrm": "longrewardbench",
           "preference": "generic", "reward-math": "rewardmath", "auto-j": "autoj", "autoj-eval-p": "autoj",
           "mt-bench-human": "mtbench_human", "mt_bench_human_judgments": "mtbench_human",
           "contrast-instructions": "contrast", "contrast_instructions": "contrast",
           "verifybench-hard": "verifybench", "verify-bench": "verifybench", "m-rewardbench": "mrewardbench",
           "ppe-human": "ppe_human", "ppe-correctness": "ppe_correctness", "libra-bench": "librabench",
           "libra": "librabench"}


def benchmark_names() -> list[str]:
    """Return the registered benchmark names."""
    return list(_MODULES)


def get_benchmark(name: str) -> Benchmark:
    """Return the benchmark registered as ``name`` (or an alias); ValueError if unknown."""
    key = ALIASES.get(name.lower(), name.lower())
    if key not in _MODULES:
        raise ValueError(f"unknown benchmark {name!r}; choose from {', '.join(_MODULES)}")
    bench: Benchmark = importlib.import_module(_MODULES[key]).BENCHMARK
    return bench


__all__ = [
    "Benchmark", "Comparison", "EvalSet", "Item", "ItemOutcomes", "ItemResult", "Mode", "Outcome",
    "PairOutcome", "ScoreOutcome", "benchmark_names", "compare_scores", "diagnostics", "get_benchmark",
    "group_outcomes", "outcomes_from_judgment", "outcomes_from_judgments", "read_scores", "score_benchmark",
    "write_scores",
]
