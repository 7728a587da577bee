"""Reward functions for RL on judge traces, built on the formats ``judgekit judge`` uses.

One grading path for evaluation and training: a completion is read by the very
:class:`~judgekit.core.formats.Format` parser that reads judge outputs at evaluation time,
then turned into a reward:

* verdict matches the label -> ``correct`` (RM-R1 style, default ``+1``);
* verdict differs -> ``wrong`` (default ``-1``);
* no readable verdict (parse failure, truncation, both verdicts) -> ``violation``
  (BR-RM style: default ``-2``, worse than a wrong verdict, so the policy never
  learns that dodging the format is safer than committing to an answer);
* ``strict: true`` also counts output that parses but does not match the format's
  full regex (extra text, missing reasoning line) as a violation;
* optional terms: a length penalty beyond ``length_target`` words, and a
  consistency bonus for agreeing with the other completions of the same item
  (both presentation orders, after un-swapping).

:class:`JudgeReward` follows TRL's reward-function contract
``(completions, **kwargs) -> list[float | None]``: dataset columns arrive as
keyword lists (``label``, ``swapped``, ``item_id``), completions are strings or
chat message lists. ``None`` means "no label to grade against".
"""

from __future__ import annotations

import importlib
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any

from judgekit.core.data import normalise_label
from judgekit.core.errors import ConfigError
from judgekit.core.formats import FORMATS, Format, swap_pairwise
from judgekit.core.types import ParseFailure
from judgekit.protocols.base import protocol_class

# Formats owned by protocol modules (not registered in judgekit.core.formats.FORMATS).
_PROTOCOL_FORMATS = {"rm-r1": "judgekit.protocols.chain_rubrics:RMR1"}


@dataclass(frozen=True)
class RewardConfig:
    """How completions are graded; every field can be set from YAML."""

    name: str = "judgekit_verdict"
    format: str = "pairwise"
    correct: float = 1.0
    wrong: float = -1.0
    violation: float = -2.0
    strict: bool = False
    length_target: int | None = None
    length_penalty: float = 0.0
    consistency: float = 0.0
    label_key: str = "label"
    weight: float = 1.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RewardConfig:
        """Build from a YAML mapping; unknown keys are an error, not ignored."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown reward setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        config = cls(**dict(data))
        if config.violation > config.wrong:
            raise ConfigError(
                f"reward {config.name!r}: violation ({config.violation}) must not exceed wrong ({config.wrong}); "
                "a format violation would otherwise pay better than a wrong verdict"
            )
        resolve_format(config.format)
        return config


@dataclass(frozen=True)
class Outcome:
    """The grade of one completion: its reward, the verdict read, and why."""

    reward: float | None
    kind: str  # "correct" | "wrong" | "violation" | "unlabeled"
    verdict: str | None
    reason: str | None = None


@cache
def resolve_format(name: str) -> Format:
    """The Format named ``name``: a core format, or the verdict format of a protocol."""
    if name in FORMATS:
        return FORMATS[name]
    if name in _PROTOCOL_FORMATS:
        module, _, attr = _PROTOCOL_FORMATS[name].partition(":")
        found: Format = getattr(importlib.import_module(module), attr)
        return found

    try:
        fmt = protocol_class(name).verdict_format
    except ConfigError as exc:
        raise ConfigError(f"unknown reward format {name!r}; core formats: {', '.join(FORMATS)}") from exc
    if fmt is None:
        raise ConfigError(f"protocol {name!r} has no single verdict format to grade against")
    return fmt


def task_of(fmt: Format) -> str:
    """The label vocabulary of a format: ``verify``, ``pointwise`` or ``pairwise``."""
    if set(fmt.labels) <= {"correct", "incorrect"}:
        return "verify"
    if all(lab.isdigit() for lab in fmt.labels):
        return "pointwise"
    return "pairwise"


def completion_text(completion: Any) -> str:
    """The text of a completion: a string, or the assistant content of a message list."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return str(completion.get("content") or "")
    if isinstance(completion, Sequence):
        parts = [str(m.get("content") or "") for m in completion
                 if isinstance(m, Mapping) and m.get("role", "assistant") == "assistant"]
        return "".join(parts)
    return str(completion)


def grade(text: str, label: Any, config: RewardConfig, fmt: Format | None = None) -> Outcome:
    """Grade one completion against its label (label in the order shown to the model).

    Pure and total: never raises on model output. A label outside the format's
    vocabulary is a data error and raises :class:`ConfigError`.
    """
    fmt = fmt or resolve_format(config.format)
    gold = normalise(label, fmt)
    parsed = fmt.parse(text)
    if isinstance(parsed, ParseFailure):
        return Outcome(config.violation, "violation", None, parsed.reason)
    if config.strict and not re.fullmatch(fmt.regex, text.strip()):
        return Outcome(config.violation, "violation", parsed.label, "output does not match the strict format")
    if gold is None:
        return Outcome(None, "unlabeled", parsed.label)
    if parsed.label == gold:
        return Outcome(config.correct, "correct", parsed.label)
    return Outcome(config.wrong, "wrong", parsed.label)


def normalise(label: Any, fmt: Format) -> str | None:
    """Map a dataset label (``1``/``2``, ``A``, ``True``...) to the format's vocabulary."""
    try:
        value = normalise_label(label, task_of(fmt))  # type: ignore[arg-type]
    except ValueError as exc:
        raise ConfigError(f"reward label: {exc}") from exc
    if value is not None and value not in fmt.labels:
        raise ConfigError(f"reward label {label!r} is not a {fmt.name} verdict ({', '.join(fmt.labels)})")
    return value


def length_term(text: str, config: RewardConfig) -> float:
    """``-length_penalty`` times the fraction of words beyond ``length_target`` (capped at 1)."""
    if not config.length_target or not config.length_penalty:
        return 0.0
    excess = max(0, len(text.split()) - config.length_target) / config.length_target
    return -config.length_penalty * min(1.0, excess)


def consistency_terms(
    verdicts: Sequence[str | None], item_ids: Sequence[Any] | None, swapped: Sequence[Any] | None, weight: float
) -> list[float]:
    """Bonus per completion: ``weight`` times its agreement with the other completions of its item.

    Verdicts on swapped prompts are mapped back to the original order first, so a
    judge that says A on AB and B on BA agrees with itself. Completions without a
    verdict, or alone in their item, get 0.
    """
    if not weight or item_ids is None:
        return [0.0] * len(verdicts)
    flips = list(swapped) if swapped is not None else [False] * len(verdicts)
    canon = [swap_pairwise(v) if flip and v else v for v, flip in zip(verdicts, flips, strict=True)]
    groups: dict[Any, Counter[str]] = {}
    for key, v in zip(item_ids, canon, strict=True):
        if v is not None:
            groups.setdefault(key, Counter())[v] += 1
    out = []
    for key, v in zip(item_ids, canon, strict=True):
        counts = groups.get(key, Counter())
        others = sum(counts.values()) - (1 if v is not None else 0)
        if v is None or others == 0:
            out.append(0.0)
        else:
            out.append(weight * (counts[v] - 1) / others)
    return out


class JudgeReward:
    """A TRL reward function: ``(completions, **kwargs) -> list[float | None]``.

    Reads labels from ``kwargs[config.label_key]``; ``swapped`` and ``item_id``
    columns feed the consistency term when it is enabled.
    """

    def __init__(self, config: RewardConfig | None = None) -> None:
        """Resolve the format once."""
        self.config = config or RewardConfig()
        self.fmt = resolve_format(self.config.format)
        self.__name__ = self.config.name

    def outcomes(self, completions: Sequence[Any], labels: Sequence[Any]) -> list[Outcome]:
        """The verdict grade of each completion (before length and consistency terms)."""
        if len(labels) != len(completions):
            raise ConfigError(f"{len(completions)} completions but {len(labels)} labels")
        return [grade(completion_text(c), lab, self.config, self.fmt)
                for c, lab in zip(completions, labels, strict=True)]

    def __call__(self, completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        """Reward of each completion, in order."""
        labels = kwargs.get(self.config.label_key)
        if labels is None:
            raise ConfigError(f"reward {self.config.name!r} needs a {self.config.label_key!r} column")
        graded = self.outcomes(completions, labels)
        bonus = consistency_terms([o.verdict if o.kind != "violation" else None for o in graded],
                                  kwargs.get("item_id"), kwargs.get("swapped"), self.config.consistency)
        out: list[float | None] = []
        for completion, outcome, extra in zip(completions, graded, bonus, strict=True):
            if outcome.reward is None:
                out.append(None)
                continue
            out.append(outcome.reward + length_term(completion_text(completion), self.config) + extra)
        return out


def load_reward_configs(source: Path | str | Mapping[str, Any] | None) -> list[RewardConfig]:
    """Reward configs from a YAML file or mapping: a ``rewards:`` list or one ``reward:`` mapping."""
    if source is None:
        return [RewardConfig()]
    if isinstance(source, (str, Path)):
        import yaml

        data = yaml.safe_load(Path(source).read_text(encoding="utf-8")) or {}
    else:
        data = dict(source)
    if "rewards" in data:
        items = data["rewards"]
        if not isinstance(items, list) or not items:
            raise ConfigError("'rewards' must be a non-empty list of reward settings")
        configs = [RewardConfig.from_dict(item) for item in items]
    elif "reward" in data:
        configs = [RewardConfig.from_dict(data["reward"] or {})]
    else:
        configs = [RewardConfig()]
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise ConfigError(f"reward names must be unique, got {names}")
    return configs


def reward_functions(configs: Sequence[RewardConfig]) -> list[JudgeReward]:
    """One TRL reward function per config (weights go to ``GRPOConfig.reward_weights``)."""
    return [JudgeReward(c) for c in configs]
