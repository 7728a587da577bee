"""Reference-based verification: does the candidate reach the reference answer.

Hardening options (see :mod:`judgekit.protocols.defenses`), enabled with
``--option defense=answer-check,strict-prompt``: ``answer-check`` judges a candidate
without any extractable final answer incorrect without calling the model;
``strict-prompt`` renders the hardened template ``verify_hardened``. Judgments record
the defences that were on (``extra["defenses"]``); one rejected by the answer check
says so in ``extra["defense"]`` and in its trace. ``judgekit probe`` reports every
defence next to the raw model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from judgekit.core.errors import ConfigError
from judgekit.core.formats import VERIFY, Format
from judgekit.core.prompts import render
from judgekit.core.runner import Runner
from judgekit.core.types import Judgment, Parsed, ParseFailure, Prompt, Sample, Turn
from judgekit.protocols.base import Protocol
from judgekit.protocols.defenses import answer_check_reason, config_defenses
from judgekit.protocols.single import instructions_for, run_turn, skipped, too_long_reasons


def verify_reward(parsed: Parsed) -> float | None:
    """1 for correct, 0 for incorrect, P(correct) when probabilities exist."""
    if isinstance(parsed, ParseFailure):
        return None
    if parsed.probs and "correct" in parsed.probs:
        return float(parsed.probs["correct"])
    return {"correct": 1.0, "incorrect": 0.0}.get(parsed.label or "")


def verify_judgment(sample_id: str, parsed: Parsed, trace: tuple[Turn, ...], extra: dict[str, Any]) -> Judgment:
    """A verification Judgment from the verdict turn's parse (a failure keeps its reason)."""
    if isinstance(parsed, ParseFailure):
        return Judgment(sample_id=sample_id, verdict=None, reward=None, parse_failure=True,
                        failure_reason=parsed.reason, trace=trace, extra=extra)
    return Judgment(sample_id=sample_id, verdict=parsed.label, reward=verify_reward(parsed),
                    probs=None if parsed.probs is None else dict(parsed.probs), trace=trace, extra=extra)


class VerifyProtocol(Protocol):
    """Question + reference answer + candidate -> correct / incorrect."""

    name: ClassVar[str] = "verify"
    description: ClassVar[str] = "reference-based verification: candidate vs reference -> correct/incorrect"
    task: ClassVar[str] = "verify"
    templates: ClassVar[tuple[str, ...]] = ("verify", "verify_hardened")
    methods: ClassVar[tuple[str, ...]] = ("generative", "logit")
    verdict_format: ClassVar[Format | None] = VERIFY
    defenses: ClassVar[tuple[str, ...]] = ("answer-check", "strict-prompt")

    def check(self) -> None:
        """Validate the method and the ``defense`` option."""
        super().check()
        config_defenses(self.config)

    def template_name(self) -> str:
        """Name the template this configuration renders (hardened under ``strict-prompt``)."""
        return "verify_hardened" if "strict-prompt" in config_defenses(self.config) else "verify"

    def prompt(self, sample: Sample) -> Prompt:
        """Render the verification template."""
        if sample.reference is None:
            raise ConfigError(f"sample {sample.id}: verification needs a reference answer")
        instructions, prefix = instructions_for(VERIFY, self.config)
        return render(
            self.template_name(), assistant_prefix=prefix, question=sample.prompt, reference=sample.reference,
            response=sample.responses[0], instructions=instructions, principles=list(self.config.principles),
        )

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """One verification call (k samples) per item, after any model-free defence."""
        defenses = config_defenses(self.config)
        rejected: dict[int, str] = {}
        if "answer-check" in defenses:
            for i, s in enumerate(samples):
                reason = answer_check_reason(s.responses[0], s.reference)
                if reason is not None:
                    rejected[i] = reason
        judged = iter(self._judge_with_model([s for i, s in enumerate(samples) if i not in rejected], runner))
        out: list[Judgment] = []
        for i, sample in enumerate(samples):
            if i not in rejected:
                out.append(next(judged))
                continue
            out.append(Judgment(
                sample_id=sample.id, verdict="incorrect", reward=0.0,
                trace=(Turn(name="defense", prompt="", output=rejected[i], parsed={"defense": "answer-check"}),),
                extra={"defense": "answer-check", "defenses": list(defenses)},
            ))
        return out

    def _judge_with_model(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        if not samples:
            return []
        defenses = config_defenses(self.config)
        prompts = [self.prompt(s) for s in samples]
        reasons = too_long_reasons([[p] for p in prompts], runner, self.config.max_new_tokens)
        keep = [i for i, r in enumerate(reasons) if r is None]
        results = iter(run_turn([prompts[i] for i in keep], runner, VERIFY, self.config, name="verdict"))
        extra = {"defenses": list(defenses)} if defenses else {}
        out: list[Judgment] = []
        for sample, reason in zip(samples, reasons, strict=True):
            if reason is not None:
                out.append(skipped(sample.id, reason))
                continue
            r = next(results)
            out.append(verify_judgment(sample.id, r.parsed, (r.turn,), extra))
        return out
