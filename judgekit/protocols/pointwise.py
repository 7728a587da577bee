"""Pointwise judging: each response scored 1-10 against a rubric."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from judgekit.core.formats import POINTWISE, Format
from judgekit.core.prompts import render
from judgekit.core.runner import Runner
from judgekit.core.types import Judgment, ParseFailure, Prompt, Sample, parsed_to_dict
from judgekit.protocols.base import Protocol
from judgekit.protocols.single import run_turn, skipped, too_long_reasons

DEFAULT_RUBRIC = (
    "Score how well the response fulfils the user's request: correctness, helpfulness, "
    "following every explicit instruction, honesty, and harmlessness."
)


def scores_to_verdict(scores: Sequence[float]) -> str:
    """One response: the score as text. Two or more: the best letter, or tie."""
    if len(scores) == 1:
        return str(int(scores[0])) if float(scores[0]).is_integer() else str(scores[0])
    best = max(scores)
    winners = [i for i, s in enumerate(scores) if s == best]
    return "tie" if len(winners) > 1 else chr(ord("A") + winners[0])


class PointwiseProtocol(Protocol):
    """Score every response independently; two responses also give a pairwise verdict."""

    name: ClassVar[str] = "pointwise"
    description: ClassVar[str] = "score each response 1-10 against a rubric (inline or rubrics/*.yaml)"
    task: ClassVar[str] = "pointwise"
    templates: ClassVar[tuple[str, ...]] = ("pointwise",)
    verdict_format: ClassVar[Format | None] = POINTWISE
    scored: ClassVar[bool] = True

    def prompt(self, sample: Sample, response: str) -> Prompt:
        """Render the pointwise template for one response."""
        return render(
            "pointwise", question=sample.prompt, response=response,
            rubric=self.config.rubric or DEFAULT_RUBRIC, instructions=POINTWISE.instructions,
            principles=list(self.config.principles),
        )

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """Score all responses of all samples in one batch."""
        groups = [[self.prompt(s, r) for r in s.responses] for s in samples]
        reasons = too_long_reasons(groups, runner, self.config.max_new_tokens)
        keep = [i for i, r in enumerate(reasons) if r is None]
        results = iter(run_turn([p for i in keep for p in groups[i]], runner, POINTWISE, self.config, "score"))
        out: dict[int, Judgment] = {i: skipped(samples[i].id, r) for i, r in enumerate(reasons) if r}
        for i in keep:
            rs = [next(results) for _ in samples[i].responses]
            failures = [r.parsed.reason for r in rs if isinstance(r.parsed, ParseFailure)]
            scores = None if failures else tuple(r.parsed.scores[0] for r in rs)  # type: ignore[union-attr,index]
            verdict = scores_to_verdict(scores) if scores else None
            reward = scores[0] / 10.0 if scores and len(scores) == 1 else None
            if scores and len(scores) == 2:
                reward = {"A": 1.0, "B": 0.0, "tie": 0.5}[str(verdict)]
            out[i] = Judgment(
                sample_id=samples[i].id, verdict=verdict, reward=reward, scores=scores,
                per_order=tuple({"response": j, **parsed_to_dict(r.parsed)} for j, r in enumerate(rs)),
                parse_failure=bool(failures), failure_reason="; ".join(failures) or None,
                trace=tuple(r.turn for r in rs),
            )
        return [out[i] for i in range(len(samples))]
