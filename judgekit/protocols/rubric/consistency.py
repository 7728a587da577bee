"""The preference-consistency filter of contrastive rubric generation.

A rubric generated for a labeled pair is kept only if judging the pair with that
rubric (:class:`~judgekit.protocols.rubric.protocol.RubricProtocol`, both orders)
reproduces the label; rejected prompts are retried up to ``tries`` times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from judgekit.core.runner import Runner
from judgekit.core.types import ParseFailure, Sample
from judgekit.protocols.base import JudgeConfig
from judgekit.protocols.rubric.generate import GenerationReport, RubricOutcome, generate_candidates, passes_filter
from judgekit.protocols.rubric.protocol import RubricProtocol
from judgekit.protocols.rubric.schema import Rubric


def generate_rubrics(
    samples: Sequence[Sample], runner: Runner, config: JudgeConfig, tries: int = 3
) -> GenerationReport:
    """Generate, filter by preference consistency, and retry rejected prompts up to ``tries`` times."""
    judge = RubricProtocol(config=replace(config, both_orders=True))
    pending = [s for s in samples if s.label in ("A", "B") and len(s.responses) == 2]
    state: dict[str, dict[str, Any]] = {s.id: {"rubric": None, "tries": 0, "rejected": []} for s in pending}
    for attempt in range(max(tries, 1)):
        if not pending:
            break
        candidates = generate_candidates(pending, runner, config, labeled=True, attempt=attempt)
        parsed_ok = [(s, c[0]) for s, c in zip(pending, candidates, strict=True) if isinstance(c[0], Rubric)]
        for s, (cand, _) in zip(pending, candidates, strict=True):
            state[s.id]["tries"] += 1
            if isinstance(cand, ParseFailure):
                state[s.id]["rejected"].append(f"attempt {attempt + 1}: unparsable rubric: {cand.reason}")
        judgments = judge.judge_with([s for s, _ in parsed_ok], [r for _, r in parsed_ok], runner)  # type: ignore[misc]
        for (s, rubric), j in zip(parsed_ok, judgments, strict=True):
            if passes_filter(s, j.verdict, j.consistent, True):
                state[s.id]["rubric"] = rubric
            else:
                why = j.failure_reason or f"verdict {j.verdict} (consistent={j.consistent}), label {s.label}"
                state[s.id]["rejected"].append(f"attempt {attempt + 1}: {why}")
        pending = [s for s in pending if state[s.id]["rubric"] is None]
    outcomes = []
    for s in samples:
        if s.id not in state:
            reason = "no A/B preference label" if s.label not in ("A", "B") else "needs exactly 2 responses"
            outcomes.append(RubricOutcome(s.id, None, 0, (), skipped=reason))
        else:
            st = state[s.id]
            outcomes.append(RubricOutcome(s.id, st["rubric"], st["tries"], tuple(st["rejected"])))
    return GenerationReport(outcomes=tuple(outcomes))
