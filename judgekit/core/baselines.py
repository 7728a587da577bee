"""Trivial baselines beside every judge number, and length-stratified accuracy (pure functions).

A judge's accuracy means little alone: on some pairwise sets "the shorter response
wins" beats a small judge, and on GSM8K verification a five-line rule beats it.
This module scores, on exactly the labelled items a judge saw:

* pairwise (labels ``A``/``B``/``tie``): ``position-first`` (always A),
  ``position-second`` (always B), ``longer`` and ``shorter`` (by characters; equal
  lengths give ``tie``), ``random`` (seeded per item id);
* verification (labels ``correct``/``incorrect``): ``always-correct``,
  ``always-incorrect``, ``random``, and the rule verifiers of
  :mod:`judgekit.core.rule_verify`: ``last-number``, ``math-verify``,
  ``math-verify-or-last-number`` (the issue's rule baseline) and ``rules`` (the hybrid
  verifier's rule stage: both, plus final answers in number words).

Every score carries a Wilson 95% interval. :func:`length_strata` splits pairwise
accuracy by whether the preferred response is the longer or the shorter one; their
mean is the length-controlled accuracy (any pure length rule gets 0.5 on it).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from judgekit.core.rule_verify import last_number_rule, math_verify_rule, rule_verify
from judgekit.core.stats import Z95_ROUNDED, wilson_interval
from judgekit.core.types import Judgment, Sample

PAIR_LABELS = frozenset({"A", "B", "tie"})
VERIFY_LABELS = frozenset({"correct", "incorrect"})


@dataclass(frozen=True)
class Score:
    """``correct`` of ``n`` right, with the rate and its Wilson 95% interval."""

    name: str
    correct: int
    n: int

    @property
    def accuracy(self) -> float | None:
        """``correct / n`` (None over no items)."""
        return self.correct / self.n if self.n else None

    @property
    def ci95(self) -> tuple[float, float]:
        """Wilson interval (z = 1.96, as the run summary's)."""
        return wilson_interval(self.correct, self.n, z=Z95_ROUNDED)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return {"accuracy": self.accuracy, "ci95": list(self.ci95), "correct": self.correct, "n": self.n}


@dataclass(frozen=True)
class LengthStrata:
    """Accuracy where the preferred response is longer, where it is shorter, and their mean."""

    longer: Score
    shorter: Score

    @property
    def controlled(self) -> float | None:
        """Length-controlled accuracy: the mean of the two strata (None if either is empty)."""
        a, b = self.longer.accuracy, self.shorter.accuracy
        return None if a is None or b is None else (a + b) / 2

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return {"preferred_longer": self.longer.to_dict(), "preferred_shorter": self.shorter.to_dict(),
                "length_controlled": self.controlled}


def task_of(samples: Sequence[Sample]) -> str | None:
    """``pairwise`` or ``verify`` from the labels' vocabulary (None: no labels, or another task)."""
    labels = {s.label for s in samples if s.label is not None}
    if not labels:
        return None
    if labels <= PAIR_LABELS and all(len(s.responses) == 2 for s in samples if s.label is not None):
        return "pairwise"
    if labels <= VERIFY_LABELS:
        return "verify"
    return None


def _coin(seed: int, item_id: str) -> bool:
    return random.Random(f"{seed}:{item_id}").random() < 0.5


def _by_length(s: Sample, longer: bool) -> str:
    a, b = (len(r.strip()) for r in s.responses[:2])
    if a == b:
        return "tie"
    return "A" if (a > b) == longer else "B"


PAIR_RULES: dict[str, Callable[[Sample, int], str]] = {
    "position-first": lambda s, seed: "A",
    "position-second": lambda s, seed: "B",
    "longer": lambda s, seed: _by_length(s, True),
    "shorter": lambda s, seed: _by_length(s, False),
    "random": lambda s, seed: "A" if _coin(seed, s.id) else "B",
}


def _rule(fn: Callable[[str, str], bool]) -> Callable[[Sample, int], str]:
    def verdict(s: Sample, seed: int) -> str:
        return "correct" if s.reference is not None and fn(s.responses[0], s.reference) else "incorrect"

    return verdict


VERIFY_RULES: dict[str, Callable[[Sample, int], str]] = {
    "always-correct": lambda s, seed: "correct",
    "always-incorrect": lambda s, seed: "incorrect",
    "random": lambda s, seed: "correct" if _coin(seed, s.id) else "incorrect",
    "last-number": _rule(last_number_rule),
    "math-verify": _rule(lambda r, ref: math_verify_rule(r, ref)[0]),
    "math-verify-or-last-number": _rule(lambda r, ref: math_verify_rule(r, ref)[0] or last_number_rule(r, ref)),
    "rules": lambda s, seed: rule_verify(s.responses[0], s.reference).label if s.reference else "incorrect",
}


def baseline_verdicts(samples: Sequence[Sample], task: str, seed: int = 0) -> dict[str, list[str]]:
    """Each baseline's verdict per sample (all samples, labelled or not)."""
    rules = PAIR_RULES if task == "pairwise" else VERIFY_RULES if task == "verify" else {}
    return {name: [rule(s, seed) for s in samples] for name, rule in rules.items()}


def score(name: str, verdicts: Sequence[str | None], labels: Sequence[str | None]) -> Score:
    """Accuracy of ``verdicts`` over the items that have a label (no verdict counts as wrong)."""
    pairs = [(v, y) for v, y in zip(verdicts, labels, strict=True) if y is not None]
    return Score(name, sum(1 for v, y in pairs if v == y), len(pairs))


def baselines(samples: Sequence[Sample], task: str, seed: int = 0) -> list[Score]:
    """Every baseline of ``task`` scored on the labelled samples, best first (ties keep the listed order)."""
    labels = [s.label for s in samples]
    found = [score(name, v, labels) for name, v in baseline_verdicts(samples, task, seed).items()]
    return sorted(found, key=lambda b: -(b.accuracy or 0.0))


def length_strata(samples: Sequence[Sample], verdicts: Sequence[str | None]) -> LengthStrata:
    """Pairwise accuracy split by whether the preferred response is longer or shorter (equal lengths and ties out)."""
    longer: list[bool] = []
    shorter: list[bool] = []
    for s, v in zip(samples, verdicts, strict=True):
        if s.label not in ("A", "B") or len(s.responses) < 2:
            continue
        a, b = (len(r.strip()) for r in s.responses[:2])
        if a == b:
            continue
        preferred_longer = (a > b) == (s.label == "A")
        (longer if preferred_longer else shorter).append(v == s.label)
    return LengthStrata(Score("preferred-longer", sum(longer), len(longer)),
                        Score("preferred-shorter", sum(shorter), len(shorter)))


def best_baseline(found: Sequence[Score]) -> Score | None:
    """The best deterministic baseline (``random`` is left out: its draw on a small set is noise around 0.5)."""
    return max((b for b in found if b.name != "random"), key=lambda b: b.accuracy or 0.0, default=None)


def below_baseline(judge: Score, found: Sequence[Score]) -> Score | None:
    """The best baseline when the judge does not beat it (equal counts as not beating), else None."""
    best = best_baseline(found)
    if best is None or judge.accuracy is None or best.accuracy is None:
        return None
    return best if judge.accuracy <= best.accuracy else None


def verdict_list(samples: Sequence[Sample], judgments: Sequence[Judgment]) -> list[str | None]:
    """The judge's verdict per sample, in sample order (skipped and failed items: None)."""
    by_id: Mapping[str, Judgment] = {j.sample_id: j for j in judgments}
    out: list[str | None] = []
    for s in samples:
        j = by_id.get(s.id)
        out.append(None if j is None or j.parse_failure or "skipped" in j.extra else j.verdict)
    return out


def baseline_summary(samples: Sequence[Sample], judgments: Sequence[Judgment], seed: int = 0) -> dict[str, Any]:
    """Summary keys: ``judge``, ``baselines`` (name -> score), ``best_baseline``, ``below_baseline``, ``length_strata``.

    Empty when the samples carry no pairwise or verification labels. The judge is
    scored on the same items (skipped items excluded, as in the run summary).
    """
    task = task_of(samples)
    if task is None:
        return {}
    judged_ids = {j.sample_id for j in judgments if "skipped" not in j.extra}
    kept = [s for s in samples if s.id in judged_ids and s.label is not None]
    if not kept:
        return {}
    verdicts = verdict_list(kept, judgments)
    judge = score("judge", verdicts, [s.label for s in kept])
    found = baselines(kept, task, seed)
    below = below_baseline(judge, found)
    best = best_baseline(found)
    out: dict[str, Any] = {"judge": judge.to_dict(), "baselines": {b.name: b.to_dict() for b in found},
                           "best_baseline": None if best is None else best.name,
                           "below_baseline": None if below is None else below.name}
    if task == "pairwise":
        out["length_strata"] = length_strata(kept, verdicts).to_dict()
        out["baseline_length_strata"] = {b: length_strata(kept, v).to_dict()
                                         for b, v in baseline_verdicts(kept, task, seed).items()}
    return out
