"""Process verification (PRM): per-step labels and the first wrong step of a solution.

The solution (``responses[0]``) is split into steps by :func:`judgekit.core.steps.split_steps`
unless the row gives them (``metadata["steps"]``, ProcessBench's layout). ``--option
prm_mode=first-error`` (default, one call, generative) asks for the earliest incorrect step
under a constraint admitting only ``-1 .. n-1``; ``prm_mode=per-step`` judges every step
(one call each, all in one batch) with a short critique, generatively or by P(correct) in
logit mode. ``--option step_reward=min|product|first-error`` picks the reward.

The Judgment's ``verdict`` is the first-error index as text (``"-1"``: every step
correct), so a row's ``label`` (the gold first error) gives first-error accuracy;
``extra["prm"]`` holds the steps' labels, P(correct), the split rule and the reward rule.
A per-step run in which any step's verdict failed to parse is a recorded parse failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from judgekit.core.errors import ConfigError
from judgekit.core.formats import Format
from judgekit.core.prompts import render
from judgekit.core.runner import Runner
from judgekit.core.steps import (
    STEP,
    STEP_REWARDS,
    first_error_format,
    first_error_of,
    split_steps,
    step_reward,
)
from judgekit.core.types import Judgment, ParseFailure, Prompt, Sample, Verdict, parsed_to_dict
from judgekit.protocols.base import Protocol
from judgekit.protocols.single import TurnResult, instructions_for, run_turn, skipped, too_long_reasons

OPTIONS = ("prm_mode", "step_reward")
MODES = ("first-error", "per-step")


def steps_of(sample: Sample) -> tuple[tuple[str, ...], str]:
    """The sample's steps and how they were found (``given`` or the split rule)."""
    given = sample.metadata.get("steps")
    if isinstance(given, list) and given and all(isinstance(s, str) for s in given):
        return tuple(given), "given"
    return split_steps(sample.responses[0])


class PRMProtocol(Protocol):
    """Judge a solution step by step; report per-step labels and the first wrong step."""

    name: ClassVar[str] = "prm"
    option_names: ClassVar[tuple[str, ...]] = OPTIONS
    description: ClassVar[str] = "process verification: per-step labels + first-error index (-1 = all correct)"
    task: ClassVar[str] = "prm"
    templates: ClassVar[tuple[str, ...]] = ("prm_first_error", "prm_step")
    methods: ClassVar[tuple[str, ...]] = ("generative", "logit")
    verdict_format: ClassVar[Format | None] = STEP

    def check(self) -> None:
        """Validate mode, reward rule and the method for the mode."""
        super().check()
        if self.mode not in MODES:
            raise ConfigError(f"--option prm_mode={self.mode}: choose {', '.join(MODES)}")
        if self.reward_rule not in STEP_REWARDS:
            raise ConfigError(f"--option step_reward={self.reward_rule}: choose {', '.join(STEP_REWARDS)}")
        if self.mode == "first-error" and self.config.method == "logit":
            raise ConfigError("prm_mode=first-error is generative (step indices share first tokens: '1' vs "
                              "'10'); use --option prm_mode=per-step for logit mode")
        if self.config.reduce != "majority":
            raise ConfigError("prm reads each turn by majority; --reduce must be majority")

    @property
    def mode(self) -> str:
        """``first-error`` (one call) or ``per-step`` (one call per step)."""
        return str(self.config.option("prm_mode", "first-error"))

    @property
    def reward_rule(self) -> str:
        """How per-step P(correct) become the solution's reward."""
        return str(self.config.option("step_reward", "min"))

    def decoding(self) -> dict[str, Any]:
        """The manifest's decoding record, with the mode."""
        out = {**super().decoding(), "prm_mode": self.mode, "step_reward": self.reward_rule}
        if self.mode == "first-error" and self.config.constrain:
            out["constraint"] = ("regex per step count n: Reasoning line + 'First error: [[k]]', k in -1..n-1 "
                                 "(judgekit.core.steps.first_error_format)")
        return out

    def prompts(self, sample: Sample) -> list[Prompt]:
        """One prompt (first-error) or one per step (per-step)."""
        steps, _ = steps_of(sample)
        numbered = [{"index": i, "text": s} for i, s in enumerate(steps)]
        principles = list(self.config.principles)
        if self.mode == "first-error":
            fmt = first_error_format(len(steps))
            return [render("prm_first_error", question=sample.prompt, steps=numbered,
                           instructions=fmt.instructions, principles=principles)]
        instructions, prefix = instructions_for(STEP, self.config)
        return [render("prm_step", assistant_prefix=prefix, question=sample.prompt, previous=numbered[:k],
                       step=steps[k], index=k, instructions=instructions, principles=principles)
                for k in range(len(steps))]

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """Batch every prompt of every sample (grouped by format), then read each sample back."""
        groups = [self.prompts(s) for s in samples]
        reasons = too_long_reasons(groups, runner, self.config.max_new_tokens)
        keep = [i for i, r in enumerate(reasons) if r is None]
        by_fmt: dict[str, tuple[Format, list[int]]] = {}
        for i in keep:
            fmt = STEP if self.mode == "per-step" else first_error_format(len(steps_of(samples[i])[0]))
            by_fmt.setdefault(fmt.name, (fmt, []))[1].append(i)
        results: dict[int, list[TurnResult]] = {}
        for fmt, idxs in by_fmt.values():
            turns = iter(run_turn([p for i in idxs for p in groups[i]], runner, fmt, self.config,
                                  name="step" if fmt is STEP else "first-error"))
            for i in idxs:
                results[i] = [next(turns) for _ in groups[i]]
        return [skipped(s.id, r) if (r := reasons[i]) is not None else self._read(s, results[i])
                for i, s in enumerate(samples)]

    def _read(self, sample: Sample, results: list[TurnResult]) -> Judgment:
        steps, rule = steps_of(sample)
        trace = tuple(r.turn for r in results)
        failures = [(k, r.parsed.reason) for k, r in enumerate(results) if isinstance(r.parsed, ParseFailure)]
        base: dict[str, Any] = {"steps": len(steps), "split": rule, "mode": self.mode,
                                "step_reward": self.reward_rule}
        if failures:
            where = "step " if self.mode == "per-step" else "answer "
            return Judgment(sample_id=sample.id, verdict=None, reward=None, parse_failure=True,
                            failure_reason="; ".join(f"{where}{k}: {why}" for k, why in failures),
                            per_order=tuple({"step": k, **parsed_to_dict(r.parsed)} for k, r in enumerate(results)),
                            trace=trace, extra={"prm": base})
        if self.mode == "first-error":
            first = int(str(results[0].parsed.label))  # type: ignore[union-attr]
            probs: list[float | None] = [1.0 if k < first or first < 0 else 0.0 if k == first else None
                                         for k in range(len(steps))]
        else:
            probs = [self._p_correct(r.parsed) for r in results]  # type: ignore[arg-type]
            first = first_error_of(probs)
        labels = [None if p is None else ("correct" if p >= 0.5 else "incorrect") for p in probs]
        return Judgment(
            sample_id=sample.id, verdict=str(first), reward=step_reward(probs, self.reward_rule, first),
            per_order=tuple({"step": k, **parsed_to_dict(r.parsed)} for k, r in enumerate(results)),
            trace=trace, extra={"prm": {**base, "first_error": first, "labels": labels, "step_probs": probs}},
        )

    def _p_correct(self, parsed: Verdict) -> float:
        if parsed.probs and "correct" in parsed.probs:
            return float(parsed.probs["correct"])
        return 1.0 if parsed.label == "correct" else 0.0
