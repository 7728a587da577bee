"""Trivial pairwise baselines and length-stratified accuracy, as pure functions.

A pairwise judge number means little without what content-free rules get on the same
items: always the first position, always the second, the longer response, the shorter
one, a seeded coin, and "tie". Accuracy counts a tie as half right and a missing verdict
(parse failure, skipped item) as wrong, so a judge cannot gain by abstaining.

Length-stratified accuracy splits the pairs by whether the preferred response is the
longer or the shorter one (equal lengths are in neither stratum); their mean is the
length-controlled accuracy, on which every pure length rule scores 0.5.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from judgekit.core.stats import wilson_interval

BASELINES = ("position-first", "position-second", "longer", "shorter", "random", "tie")


def credit(pred: str | None, label: str) -> float:
    """1 right, 0.5 for a tie, 0 wrong or missing."""
    if pred is None:
        return 0.0
    if pred == "tie":
        return 0.5
    return 1.0 if pred == label else 0.0


@dataclass(frozen=True)
class PairScore:
    """Accuracy of one judge on one set of pairs, with its 95% Wilson interval and the length strata."""

    n: int
    accuracy: float
    low: float
    high: float
    longer_preferred: float | None
    n_longer: int
    shorter_preferred: float | None
    n_shorter: int
    missing: int

    @property
    def length_controlled(self) -> float | None:
        """Mean of the two strata (None if one is empty)."""
        if self.longer_preferred is None or self.shorter_preferred is None:
            return None
        return (self.longer_preferred + self.shorter_preferred) / 2

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return {"n": self.n, "accuracy": self.accuracy, "ci95": [self.low, self.high],
                "longer_preferred": self.longer_preferred, "n_longer": self.n_longer,
                "shorter_preferred": self.shorter_preferred, "n_shorter": self.n_shorter,
                "length_controlled": self.length_controlled, "missing": self.missing}


def score_pairs(
    preds: Sequence[str | None], labels: Sequence[str], len_a: Sequence[int], len_b: Sequence[int]
) -> PairScore:
    """Accuracy (ties half, missing wrong), Wilson interval (on rounded credit), and length strata."""
    n = len(labels)
    credits = [credit(p, y) for p, y in zip(preds, labels, strict=True)]
    longer: list[float] = []
    shorter: list[float] = []
    for c, y, a, b in zip(credits, labels, len_a, len_b, strict=True):
        if a == b:
            continue
        chosen_longer = (a > b) if y == "A" else (b > a)
        (longer if chosen_longer else shorter).append(c)
    total = sum(credits)
    low, high = wilson_interval(round(total), n) if n else (0.0, 0.0)
    return PairScore(
        n=n, accuracy=total / n if n else 0.0, low=low, high=high,
        longer_preferred=sum(longer) / len(longer) if longer else None, n_longer=len(longer),
        shorter_preferred=sum(shorter) / len(shorter) if shorter else None, n_shorter=len(shorter),
        missing=sum(p is None for p in preds),
    )


def baseline_predictions(name: str, len_a: Sequence[int], len_b: Sequence[int], seed: int = 0) -> list[str]:
    """Predictions of one content-free rule (see :data:`BASELINES`); length ties give ``tie``."""
    if name == "position-first":
        return ["A"] * len(len_a)
    if name == "position-second":
        return ["B"] * len(len_a)
    if name == "tie":
        return ["tie"] * len(len_a)
    if name == "random":
        rng = random.Random(seed)
        return [rng.choice("AB") for _ in len_a]
    if name in ("longer", "shorter"):
        sign = 1 if name == "longer" else -1
        return ["tie" if a == b else ("A" if sign * (a - b) > 0 else "B") for a, b in zip(len_a, len_b, strict=True)]
    raise ValueError(f"unknown baseline {name!r}; choose {', '.join(BASELINES)}")


def best_baseline(
    labels: Sequence[str], len_a: Sequence[int], len_b: Sequence[int], seed: int = 0
) -> tuple[str, PairScore]:
    """The baseline with the highest accuracy on these pairs."""
    scored = {b: score_pairs(baseline_predictions(b, len_a, len_b, seed), labels, len_a, len_b) for b in BASELINES}
    name = max(scored, key=lambda b: scored[b].accuracy)
    return name, scored[name]
