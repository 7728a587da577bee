"""One-turn judging shared by the pairwise, pointwise and verify protocols.

Given rendered prompts and a format, get a parsed verdict per prompt either
generatively (k samples, constrained, reduced) or from the next-token distribution
(logit mode), and keep the raw outputs for the trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from judgekit.core.errors import ConfigError
from judgekit.core.formats import Format
from judgekit.core.runner import Runner
from judgekit.core.types import Judgment, Parsed, ParseFailure, Prompt, Turn, parsed_to_dict
from judgekit.protocols.base import JudgeConfig
from judgekit.scaling.reducers import Reducer, get_reducer

__all__ = ["Reducer", "TurnResult", "instructions_for", "reducer_for", "run_turn", "skipped", "too_long_reasons"]


@dataclass(frozen=True)
class TurnResult:
    """A prompt's reduced verdict, each sample's parse, and the trace turn."""

    parsed: Parsed
    samples: tuple[Parsed, ...]
    turn: Turn


def reducer_for(config: JudgeConfig) -> Reducer:
    """Return the reducer named by ``config.reduce`` (see :mod:`judgekit.scaling.reducers`).

    A reducer is called as ``reduce(parsed, texts=..., prompt=...)``; callers that
    pass only ``parsed`` still work for every reducer except ``meta``, which needs
    the sample texts and the prompt to score each sample.
    """
    return get_reducer(config.reduce, config)


def run_turn(
    prompts: Sequence[Prompt],
    runner: Runner,
    fmt: Format,
    config: JudgeConfig,
    name: str,
    max_new_tokens: int | None = None,
) -> list[TurnResult]:
    """Judge each prompt once (with ``config.samples`` samples in generative mode)."""
    if config.method == "logit":
        return _logit_turn(prompts, runner, fmt, name)
    params = config.params(fmt.constraint(), max_new_tokens)
    reduce = reducer_for(config)
    generated = runner.generate(prompts, params)
    prime = getattr(reduce, "prime", None)
    if prime is not None:  # score all samples of the turn in one batch (meta-RM)
        prime([(p.as_text(), g.text) for p, gens in zip(prompts, generated, strict=True) for g in gens])
    results = []
    for prompt, gens in zip(prompts, generated, strict=True):
        samples = tuple(fmt.parse(g.text) for g in gens)
        outputs = [g.text for g in gens]
        try:
            parsed = reduce(samples, texts=tuple(outputs), prompt=prompt)
        except ValueError as exc:
            raise ConfigError(f"reducer {reduce.name!r}: {exc}") from exc
        turn = Turn(
            name=name,
            prompt=prompt.as_text(),
            output=outputs[0] if len(outputs) == 1 else "\n\n".join(
                f"--- sample {i} ---\n{t}" for i, t in enumerate(outputs)
            ),
            parsed={
                "verdict": parsed_to_dict(parsed),
                "reducer": reduce.name,
                "samples": [parsed_to_dict(s) for s in samples],
                "finish_reasons": [g.finish_reason for g in gens],
                "raw": outputs,
                **_counts(samples),
            },
        )
        results.append(TurnResult(parsed=parsed, samples=samples, turn=turn))
    return results


def _counts(samples: Sequence[Parsed]) -> dict[str, int]:
    """How many of k > 1 samples were readable (recorded so a failed sample is never hidden)."""
    if len(samples) < 2:
        return {}
    return {"samples_parsed": sum(1 for s in samples if not isinstance(s, ParseFailure)),
            "samples_total": len(samples)}


def _logit_turn(prompts: Sequence[Prompt], runner: Runner, fmt: Format, name: str) -> list[TurnResult]:
    labels = list(fmt.logit_choices)
    choice_texts = [fmt.logit_choices[lab] for lab in labels]
    results = []
    for prompt, probs in zip(prompts, runner.score_choices(prompts, choice_texts), strict=True):
        by_label = {lab: probs[text] for lab, text in zip(labels, choice_texts, strict=True)}
        parsed = fmt.from_probs(by_label)
        turn = Turn(name=name, prompt=prompt.as_text(), output="", parsed={"verdict": parsed_to_dict(parsed)})
        results.append(TurnResult(parsed=parsed, samples=(parsed,), turn=turn))
    return results


def instructions_for(fmt: Format, config: JudgeConfig) -> tuple[str, str]:
    """``(instructions, assistant_prefix)`` for the chosen method."""
    if config.method == "logit":
        return fmt.logit_instructions, fmt.logit_prefix
    return fmt.instructions, ""


def too_long_reasons(
    prompt_groups: Sequence[Sequence[Prompt]], runner: Runner, max_new_tokens: int
) -> list[str | None]:
    """Per sample (a group of prompts), why it cannot fit the context, or None."""
    flat = [p for group in prompt_groups for p in group]
    reasons = iter(runner.too_long(flat, max_new_tokens))
    out: list[str | None] = []
    for group in prompt_groups:
        found = [r for r in (next(reasons) for _ in group) if r]
        out.append(found[0] if found else None)
    return out


def skipped(sample_id: str, reason: str) -> Judgment:
    """Record an item that was not judged (never a verdict)."""
    return Judgment(
        sample_id=sample_id, verdict=None, reward=None, parse_failure=False,
        failure_reason=None, extra={"skipped": reason},
    )
