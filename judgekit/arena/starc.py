"""STARC distance between two judges' rewards over the same items.

Skalse et al., "STARC: A General Framework For Quantifying Differences Between
Reward Functions" (ICLR 2024, arXiv 2309.15257), Definition 3: a STARC metric is
``d(R1, R2) = m(s(R1), s(R2))`` with the standardisation ``s(R) = c(R) / n(c(R))``
(``s(R) = c(R)`` where ``n(c(R)) = 0``), ``c`` a canonicalisation that removes
potential shaping (and ``S'``-redistribution), ``n`` a norm and ``m`` a metric. We
use the single-step (bandit) case: a state is a prompt, an action a response, and
potential shaping adds a function of the prompt only, so ``c`` subtracts each
prompt's mean reward over its responses; ``n`` and ``m`` are L2, and the distance
is halved so it lies in [0, 1] (0: the same preferences up to shaping and positive
scale; 1: exactly opposite). Responses whose reward is missing for either judge are
left out of both (an item then needs at least two shared responses).

A judge that gives no per-response scores but a pairwise reward ``P(A wins)``
(``P(A) + P(tie)/2`` for the A/B protocols) contributes the Bradley-Terry reward
difference ``logit P(A wins)`` (clipped at ``EPS``):
``r_A - r_B = logit P(A)``, which canonicalisation turns into ``(+d/2, -d/2)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

EPS = 1e-6
Rewards = Mapping[str, Sequence[float | None]]  # item id -> one reward per response


@dataclass(frozen=True)
class StarcResult:
    """The distance, what it was computed over, and the agreement of the preferred responses."""

    distance: float
    items: int
    responses: int
    skipped: int
    top_agreement: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return {"starc": self.distance, "items": self.items, "responses": self.responses,
                "skipped": self.skipped, "top_agreement": self.top_agreement}


def canonical(values: Sequence[float]) -> list[float]:
    """Single-step canonicalisation: subtract the prompt's mean reward."""
    mean = sum(values) / len(values)
    return [v - mean for v in values]


def standardise(vector: Sequence[float]) -> list[float]:
    """``c / ||c||_2``; the zero vector (a constant reward) stays zero, as in the paper."""
    norm = math.sqrt(sum(v * v for v in vector))
    return list(vector) if norm == 0 else [v / norm for v in vector]


def starc_distance(first: Rewards, second: Rewards) -> StarcResult:
    """STARC distance (bandit canonicalisation, L2 norm, L2 metric, halved) over the items both judged."""
    c1: list[float] = []
    c2: list[float] = []
    items = skipped = agree = ranked = 0
    for item in sorted(set(first) & set(second)):
        a, b = list(first[item]), list(second[item])
        if len(a) != len(b):
            raise ValueError(f"item {item}: {len(a)} rewards from the first judge, {len(b)} from the second")
        keep = [i for i in range(len(a)) if a[i] is not None and b[i] is not None]
        if len(keep) < 2:
            skipped += 1
            continue
        ra = [float(a[i]) for i in keep]  # type: ignore[arg-type]
        rb = [float(b[i]) for i in keep]  # type: ignore[arg-type]
        c1 += canonical(ra)
        c2 += canonical(rb)
        items += 1
        if len(set(ra)) > 1 and len(set(rb)) > 1:
            ranked += 1
            agree += int(ra.index(max(ra)) == rb.index(max(rb)))
    skipped += len(set(first) ^ set(second))
    s1, s2 = standardise(c1), standardise(c2)
    dist = 0.5 * math.sqrt(sum((x - y) ** 2 for x, y in zip(s1, s2, strict=True))) if items else float("nan")
    return StarcResult(distance=dist, items=items, responses=len(c1), skipped=skipped,
                       top_agreement=agree / ranked if ranked else None)


def rewards_of(row: Mapping[str, Any]) -> list[float | None] | None:
    """Per-response rewards from one ``results.jsonl`` row (scores, else BT logit of P(A)); None if unusable."""
    scores = row.get("scores")
    if scores and len(scores) >= 2 and all(isinstance(s, int | float) for s in scores):
        return [float(s) for s in scores]
    if row.get("reward") is None:
        return None
    p = float(row["reward"])
    p = min(max(float(p), EPS), 1 - EPS)
    d = math.log(p / (1 - p))
    return [d / 2, -d / 2]
