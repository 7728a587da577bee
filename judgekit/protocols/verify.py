"""Reference-based verification: does the candidate reach the reference answer.

Three modes (``--verify-mode``, recorded in the run configuration and so in the
manifest and the run fingerprint):

* ``hybrid`` (the default): the rule verifier (:mod:`judgekit.core.rule_verify`,
  math-verify plus the last-number rule) first; its confident verdicts stand
  (a match; an explicit numeric final answer that differs; no answer at all), and
  the model judges only what the rules cannot read or reject unsure
  (``"three hundred twenty"``, a worked solution without a final-answer line).
* ``rule``: the rules alone (an unsure case gets the rules' guess, ``incorrect``).
* ``model``: the model alone, as before the hybrid existed.

Every judgment records the rules' reading in ``extra["rule"]`` and who decided in
``extra["decided_by"]`` (``rule`` or ``model``).

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
from dataclasses import replace
from typing import Any, ClassVar

from judgekit.core.errors import ConfigError
from judgekit.core.formats import VERIFY, Format
from judgekit.core.prompts import render
from judgekit.core.rule_verify import RuleVerdict, math_verify_version, rule_verify
from judgekit.core.runner import Runner
from judgekit.core.types import Judgment, Parsed, ParseFailure, Prompt, Sample, Turn
from judgekit.protocols.base import JudgeConfig, Protocol
from judgekit.protocols.defenses import answer_check_reason, config_defenses
from judgekit.protocols.single import instructions_for, run_turn, skipped, too_long_reasons

MODE_OPTION = "verify_mode"
VERIFY_MODES = ("hybrid", "rule", "model")
DEFAULT_VERIFY_MODE = "hybrid"


def verify_mode(config: JudgeConfig) -> str:
    """The verification mode of a configuration (an unknown one raises ConfigError)."""
    mode = str(config.option(MODE_OPTION, DEFAULT_VERIFY_MODE))
    if mode not in VERIFY_MODES:
        raise ConfigError(f"--verify-mode {mode!r}: choose from {', '.join(VERIFY_MODES)}")
    return mode


def rule_judgment(sample_id: str, rule: RuleVerdict, extra: dict[str, Any]) -> Judgment:
    """A judgment the rules decided (no model call); the trace shows what they read."""
    turn = Turn(name="rule", prompt="", output=rule.reason, parsed=rule.to_dict())
    return Judgment(sample_id=sample_id, verdict=rule.label, reward=1.0 if rule.label == "correct" else 0.0,
                    trace=(turn,), extra={**extra, "decided_by": "rule", "rule": rule.to_dict()})


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
    option_names: ClassVar[tuple[str, ...]] = ("defense", "verify_mode")
    description: ClassVar[str] = "reference-based verification: candidate vs reference -> correct/incorrect"
    task: ClassVar[str] = "verify"
    templates: ClassVar[tuple[str, ...]] = ("verify", "verify_hardened")
    methods: ClassVar[tuple[str, ...]] = ("generative", "logit")
    verdict_format: ClassVar[Format | None] = VERIFY
    defenses: ClassVar[tuple[str, ...]] = ("answer-check", "strict-prompt")

    def __post_init__(self) -> None:
        """Make the mode explicit in the configuration (so the manifest and fingerprint carry it)."""
        if self.config.option(MODE_OPTION) is None:
            self.config = replace(self.config, options=(*self.config.options, (MODE_OPTION, DEFAULT_VERIFY_MODE)))

    def check(self) -> None:
        """Validate the method, the mode and the ``defense`` option."""
        super().check()
        verify_mode(self.config)
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
        """Rules and model-free defences first (as the mode says), then one model call per remaining item."""
        defenses = config_defenses(self.config)
        mode = verify_mode(self.config)
        base: dict[str, Any] = {"verify_mode": mode, **({"defenses": list(defenses)} if defenses else {})}
        decided: dict[int, Judgment] = {}
        rules: dict[int, RuleVerdict] = {}
        for i, s in enumerate(samples):
            if "answer-check" in defenses:
                reason = answer_check_reason(s.responses[0], s.reference)
                if reason is not None:
                    decided[i] = Judgment(
                        sample_id=s.id, verdict="incorrect", reward=0.0,
                        trace=(Turn(name="defense", prompt="", output=reason, parsed={"defense": "answer-check"}),),
                        extra={**base, "defense": "answer-check", "defenses": list(defenses)},
                    )
                    continue
            if mode == "model":
                continue
            if s.reference is None:
                raise ConfigError(f"sample {s.id}: verification needs a reference answer")
            rule = rules[i] = rule_verify(s.responses[0], s.reference)
            if mode == "rule" or rule.confident:
                decided[i] = rule_judgment(s.id, rule, {**base, "rule_version": f"math-verify {math_verify_version()}"})
        todo = [s for i, s in enumerate(samples) if i not in decided]
        judged = iter(self._judge_with_model(todo, runner))
        out: list[Judgment] = []
        for i, _ in enumerate(samples):
            if i in decided:
                out.append(decided[i])
                continue
            j = next(judged)
            extra = {**j.extra, **base, "decided_by": "model"}
            if i in rules:
                extra["rule"] = rules[i].to_dict()
            out.append(replace(j, extra=extra))
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
