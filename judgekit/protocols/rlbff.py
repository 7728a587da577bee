"""RLBFF: principle-conditioned binary judgments aggregated into a reward (``-p rlbff``).

Seed: "RLBFF: Binary Flexible Feedback to bridge between Human Feedback &
Verifiable Rewards" (Wang et al., 2025, arXiv 2509.21319). Each response is asked,
once per principle, "does the response satisfy the principle? Yes or No"; logit mode
reads P(Yes) from the next-token distribution renormalised over " Yes"/" No" (one
forward pass per (response, principle), cached like every logit call). The reward
of a response is the weighted mean P(Yes) over the principles (``--reduce`` is not
used; weights come from a principles YAML's ``weight`` fields, default 1). A
principle whose choices got no probability mass is recorded as missing and left out
of the mean; a response with no usable principle gets no reward (never 0.5).

Principles: ``--principle TEXT`` (repeatable) or ``--principles FILE`` (YAML list
of text or {text, weight}, or one per line); without them the bundled
``rubrics/rlbff_principles.yaml``. ``rlbff`` compares two responses by their
rewards (exact tie recorded as tie); ``rlbff-pointwise`` gives each response's reward.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

from judgekit.core.errors import ConfigError
from judgekit.core.prompts import data_dir, render
from judgekit.core.runner import Runner
from judgekit.core.types import Judgment, Prompt, Sample
from judgekit.protocols.base import Protocol
from judgekit.protocols.rubric.schema import load_principles
from judgekit.protocols.single import skipped, too_long_reasons

TEMPLATE = "rlbff"
PREFIX = "Answer:"
CHOICES = {"yes": " Yes", "no": " No"}
_WEIGHT = re.compile(r"\s*\(weight ([0-9]*\.?[0-9]+)\)$")


def split_weight(principle: str) -> tuple[str, float]:
    """``"text (weight 2)"`` (how :func:`load_principles` writes a weight) -> ``("text", 2.0)``."""
    m = _WEIGHT.search(principle)
    return (principle[: m.start()], float(m.group(1))) if m else (principle, 1.0)


def default_principles() -> tuple[str, ...]:
    """The bundled principle list (``rubrics/rlbff_principles.yaml``)."""
    return tuple(load_principles(data_dir("rubrics") / "rlbff_principles.yaml"))


def aggregate(p_yes: Sequence[float | None], weights: Sequence[float]) -> float | None:
    """Weighted mean of the usable P(Yes) values; None when none is usable."""
    pairs = [(p, w) for p, w in zip(p_yes, weights, strict=True) if p is not None]
    total = sum(w for _, w in pairs)
    return sum(p * w for p, w in pairs) / total if total > 0 else None


class RLBFFPointwiseProtocol(Protocol):
    """Each response: P(Yes) per principle, weighted mean as its reward."""

    name: ClassVar[str] = "rlbff-pointwise"
    flag_options: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = "RLBFF: yes/no per principle (logit), weighted mean P(yes) as the reward"
    task: ClassVar[str] = "pointwise"
    templates: ClassVar[tuple[str, ...]] = (TEMPLATE,)
    methods: ClassVar[tuple[str, ...]] = ("logit",)
    scored: ClassVar[bool] = True

    def principles(self) -> list[tuple[str, float]]:
        """(text, weight) of every principle in use."""
        return [split_weight(p) for p in (self.config.principles or default_principles())]

    def check(self) -> None:
        """Logit mode only; every weight positive."""
        super().check()
        if any(w <= 0 for _, w in self.principles()):
            raise ConfigError("rlbff: every principle weight must be > 0")

    def decoding(self) -> dict[str, Any]:
        """Logit mode over Yes/No after the prefix, with the principles used."""
        return {"method": "logit", "prefix": PREFIX, "choices": dict(CHOICES),
                "principles": [{"text": t, "weight": w} for t, w in self.principles()]}

    def prompt(self, sample: Sample, response: str, principle: str) -> Prompt:
        """One yes/no question."""
        return render(TEMPLATE, assistant_prefix=PREFIX, question=sample.prompt, response=response,
                      principle=principle)

    def response_rewards(self, samples: Sequence[Sample], runner: Runner
                         ) -> tuple[dict[int, list[dict[str, Any]]], dict[int, str]]:
        """Per kept sample, one record per response (reward and per-principle P(yes)); skipped reasons."""
        principles = self.principles()
        groups = [[self.prompt(s, r, t) for r in s.responses for t, _ in principles] for s in samples]
        reasons = too_long_reasons(groups, runner, 1)
        keep = [i for i, r in enumerate(reasons) if r is None]
        texts = list(CHOICES.values())
        probs = iter(runner.score_choices([p for i in keep for p in groups[i]], texts))
        out: dict[int, list[dict[str, Any]]] = {}
        for i in keep:
            records = []
            for _ in samples[i].responses:
                per: list[dict[str, Any]] = []
                for text, weight in principles:
                    dist = next(probs)
                    mass = dist[CHOICES["yes"]] + dist[CHOICES["no"]]
                    p = dist[CHOICES["yes"]] / mass if mass > 0 else None
                    per.append({"principle": text, "weight": weight, "p_yes": p})
                reward = aggregate([r["p_yes"] for r in per], [w for _, w in principles])
                records.append({"reward": reward, "principles": per,
                                "missing": sum(1 for r in per if r["p_yes"] is None)})
            out[i] = records
        return out, {i: r for i, r in enumerate(reasons) if r is not None}

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """The reward of each response (several responses: the best one wins, exact tie a tie)."""
        records, bad = self.response_rewards(samples, runner)
        return [skipped(s.id, bad[i]) if i in bad else self._judgment(s, records[i]) for i, s in enumerate(samples)]

    def _judgment(self, sample: Sample, records: list[dict[str, Any]]) -> Judgment:
        rewards = [r["reward"] for r in records]
        extra: dict[str, Any] = {"rlbff": records}
        if any(r is None for r in rewards):
            return Judgment(sample_id=sample.id, verdict=None, reward=None, parse_failure=True,
                            failure_reason="no probability mass on Yes/No for any principle", extra=extra)
        scores = tuple(float(r) for r in rewards)
        if len(scores) == 1:
            return Judgment(sample_id=sample.id, verdict=f"{scores[0]:.4f}", reward=scores[0], scores=scores,
                            extra={**extra, "reward_is_score": True})
        best = [k for k, v in enumerate(scores) if v == max(scores)]
        verdict = "tie" if len(best) > 1 else chr(65 + best[0])
        if verdict == "tie":
            extra["tie"] = "exact"
        reward = None
        probs = None
        if len(scores) == 2:
            reward = 0.5 + (scores[0] - scores[1]) / 2  # in [0, 1]: 1 when A satisfies all and B none
            probs = {"A": reward, "B": 1.0 - reward}
        return Judgment(sample_id=sample.id, verdict=verdict, reward=reward, scores=scores, probs=probs,
                        consistent=True, extra=extra)


class RLBFFProtocol(RLBFFPointwiseProtocol):
    """A vs B by their RLBFF rewards (each response judged alone: order-free)."""

    name: ClassVar[str] = "rlbff"
    description: ClassVar[str] = "RLBFF pairwise: A vs B by weighted mean P(yes) over principles (logit)"
    task: ClassVar[str] = "pairwise"

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """Two responses per sample."""
        for s in samples:
            if len(s.responses) != 2:
                raise ConfigError(f"sample {s.id}: rlbff needs 2 responses, got {len(s.responses)}")
        return super().judge(samples, runner)
