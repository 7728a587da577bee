"""Helpers shared by the literature protocols (rubric, br-rm, spct, rm-r1).

* :func:`generate_step` runs one free-form (non-verdict) turn over a whole batch,
  grouping prompts by decoding constraint so each group is one runner call;
* :func:`run_turn_grouped` runs a verdict turn (k samples + reducer, via
  :func:`~judgekit.protocols.single.run_turn`) when prompts need different formats;
* :func:`continue_chat` builds a second-turn prompt as a chat continuation;
* :func:`combine_pair` folds the two order results of a pairwise judgment.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from judgekit.core.aggregate import combine_orders, pairwise_reward, unswap
from judgekit.core.errors import ConfigError
from judgekit.core.formats import Format
from judgekit.core.runner import Runner
from judgekit.core.types import Constraint, Message, Parsed, Prompt, Sample, Turn, parsed_to_dict
from judgekit.protocols.base import JudgeConfig
from judgekit.protocols.single import TurnResult, run_turn


@dataclass(frozen=True)
class Step:
    """One free-form turn's output, its parse (any pure data) and the trace turn."""

    output: str
    parsed: Any
    turn: Turn


def orders(config: JudgeConfig) -> tuple[bool, ...]:
    """Return ``(False, True)`` when both orders are judged, else ``(False,)`` (``True`` = swapped)."""
    return (False, True) if config.both_orders else (False,)


def shown_pair(sample: Sample, swapped: bool, protocol: str) -> tuple[str, str]:
    """Return the two responses in display order; raise a clear error for non-pairs."""
    if len(sample.responses) != 2:
        raise ConfigError(f"sample {sample.id}: {protocol} needs 2 responses, got {len(sample.responses)}")
    a, b = sample.responses
    return (b, a) if swapped else (a, b)


def generate_step(
    prompts: Sequence[Prompt],
    constraints: Sequence[Constraint | None],
    runner: Runner,
    config: JudgeConfig,
    parse: Callable[[str], Any],
    name: str,
    to_dict: Callable[[Any], dict[str, Any]],
    max_new_tokens: int | None = None,
    seed: int | None = None,
    temperature: float | None = None,
) -> list[Step]:
    """One continuation per prompt (intermediate turns are not sampled k times).

    Prompts sharing a constraint go to the runner in one call; the results come back
    in prompt order. ``parse`` must never raise.
    """
    base = replace(config.params(None, max_new_tokens), n=1)
    if seed is not None:
        base = replace(base, seed=seed)
    if temperature is not None:
        base = replace(base, temperature=temperature)
    groups: dict[Constraint | None, list[int]] = {}
    for i, c in enumerate(constraints):
        groups.setdefault(c if config.constrain else None, []).append(i)
    out: dict[int, Step] = {}
    for constraint, idx in groups.items():
        gens = runner.generate([prompts[i] for i in idx], replace(base, constraint=constraint))
        for i, g in zip(idx, gens, strict=True):
            text = g[0].text
            parsed = parse(text)
            info = {**to_dict(parsed), "finish_reason": g[0].finish_reason}
            out[i] = Step(output=text, parsed=parsed,
                          turn=Turn(name=name, prompt=prompts[i].as_text(), output=text, parsed=info))
    return [out[i] for i in range(len(prompts))]


def run_turn_grouped(
    prompts: Sequence[Prompt],
    formats: Sequence[Format],
    runner: Runner,
    config: JudgeConfig,
    name: str,
    budget: Callable[[Format], int | None] | None = None,
) -> list[TurnResult]:
    """:func:`run_turn` for prompts whose formats differ (one call per distinct format).

    ``budget`` gives a format's token budget (default: the config's ``max_new_tokens``).
    """
    groups: dict[str, list[int]] = {}
    by_key: dict[str, Format] = {}
    for i, fmt in enumerate(formats):
        key = fmt.name + "\x00" + fmt.regex
        groups.setdefault(key, []).append(i)
        by_key[key] = fmt
    out: dict[int, TurnResult] = {}
    for key, idx in groups.items():
        fmt = by_key[key]
        tokens = budget(fmt) if budget else None
        results = run_turn([prompts[i] for i in idx], runner, fmt, config, name, max_new_tokens=tokens)
        for i, res in zip(idx, results, strict=True):
            out[i] = res
    return [out[i] for i in range(len(prompts))]


def continue_chat(first: Prompt, first_output: str, second: Prompt) -> Prompt:
    """Turn-1 messages + the assistant's turn-1 output + turn-2's user message(s).

    ``second`` is rendered from its own template; its system message, if any, is
    dropped (the conversation keeps turn 1's). The template hash combines both.
    """
    follow = tuple(m for m in second.messages if m.role != "system")
    combined = hashlib.sha256(f"{first.template_hash}+{second.template_hash}".encode()).hexdigest()[:16]
    return Prompt(
        messages=(*first.messages, Message(role="assistant", content=first_output), *follow),
        template=f"{first.template}+{second.template}",
        template_hash=combined,
        assistant_prefix=second.assistant_prefix,
    )


@dataclass(frozen=True)
class PairOutcome:
    """Both orders of a pairwise verdict folded into one result."""

    label: str | None
    reward: float | None
    probs: dict[str, float] | None
    consistent: bool | None
    failure: str | None
    per_order: tuple[dict[str, Any], ...]


def combine_pair(parsed_by_order: Sequence[Parsed], swapped: Sequence[bool], policy: str) -> PairOutcome:
    """Unswap the swapped order and combine with :func:`~judgekit.core.aggregate.combine_orders`."""
    plain = [unswap(p) if sw else p for p, sw in zip(parsed_by_order, swapped, strict=True)]
    label, probs, consistent, failure = combine_orders(plain[0], plain[1] if len(plain) > 1 else None, policy)
    per_order = tuple(
        {"order": "BA" if sw else "AB", **parsed_to_dict(p)} for sw, p in zip(swapped, plain, strict=True)
    )
    return PairOutcome(
        label=label, reward=pairwise_reward(label, probs, consistent) if failure is None else None, probs=probs,
        consistent=consistent, failure=failure, per_order=per_order,
    )


def principles_extra(config: JudgeConfig) -> dict[str, Any]:
    """``{"principles": [...]}`` when the run has user principles (recorded in every judgment)."""
    return {"principles": list(config.principles)} if config.principles else {}
