"""Pairwise judging: A vs B with an explicit tie, in both orders by default."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from judgekit.core.aggregate import combine_orders, pairwise_reward, unswap
from judgekit.core.errors import ConfigError
from judgekit.core.formats import PAIRWISE, Format
from judgekit.core.prompts import render
from judgekit.core.runner import Runner
from judgekit.core.types import Judgment, Prompt, Sample, parsed_to_dict
from judgekit.protocols.base import Protocol
from judgekit.protocols.single import instructions_for, run_turn, skipped, too_long_reasons


class PairwiseProtocol(Protocol):
    """Which of two responses is better; swapped order judged too, then combined."""

    name: ClassVar[str] = "pairwise"
    description: ClassVar[str] = "A vs B (or tie), both orders, generative or logit verdict"
    task: ClassVar[str] = "pairwise"
    templates: ClassVar[tuple[str, ...]] = ("pairwise",)
    methods: ClassVar[tuple[str, ...]] = ("generative", "logit")
    verdict_format: ClassVar[Format | None] = PAIRWISE

    def prompt(self, sample: Sample, swapped: bool) -> Prompt:
        """Render the pairwise template for one order."""
        if len(sample.responses) != 2:
            raise ConfigError(f"sample {sample.id}: pairwise needs 2 responses, got {len(sample.responses)}")
        a, b = sample.responses[::-1] if swapped else sample.responses
        instructions, prefix = instructions_for(PAIRWISE, self.config)
        return render(
            "pairwise", assistant_prefix=prefix, question=sample.prompt, response_a=a, response_b=b,
            instructions=instructions, principles=list(self.config.principles),
        )

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """Judge each sample in one or both orders and combine."""
        orders = (False, True) if self.config.both_orders else (False,)
        groups = [[self.prompt(s, sw) for sw in orders] for s in samples]
        reasons = too_long_reasons(groups, runner, self.config.max_new_tokens)
        keep = [i for i, r in enumerate(reasons) if r is None]
        flat = [p for i in keep for p in groups[i]]
        turns = iter(run_turn(flat, runner, PAIRWISE, self.config, name="verdict"))
        out: dict[int, Judgment] = {}
        for i in keep:
            results = [next(turns) for _ in orders]
            parsed = [results[0].parsed] + [unswap(r.parsed) for r in results[1:]]
            label, probs, consistent, failure = combine_orders(
                parsed[0], parsed[1] if len(parsed) > 1 else None, self.config.inconsistency
            )
            per_order = tuple(
                {"order": "BA" if sw else "AB", **parsed_to_dict(p)} for sw, p in zip(orders, parsed, strict=True)
            )
            out[i] = Judgment(
                sample_id=samples[i].id, verdict=label, reward=pairwise_reward(label, probs, consistent),
                per_order=per_order, probs=probs, parse_failure=failure is not None,
                failure_reason=failure, consistent=consistent,
                trace=tuple(r.turn for r in results),
            )
        for i, reason in enumerate(reasons):
            if reason is not None:
                out[i] = skipped(samples[i].id, reason)
        return [out[i] for i in range(len(samples))]
