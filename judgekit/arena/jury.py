"""Juries: several judges' verdicts on the same item combined into one panel verdict.

Each judge casts a :class:`Vote`; a judge whose answer failed to parse (or was
skipped) abstains, and abstentions never count for any label. A vote split evenly
between the top labels is *not* broken by the order judges were listed in: it is
recorded as a split (``label=None`` with the tally as reason) or, with
``split="tie"``, as a pairwise tie. Pure functions; no I/O.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from judgekit.arena.agreement import fleiss_kappa
from judgekit.core.stats import cohen_kappa, wilson_interval

METHODS = ("majority", "weighted", "mean-prob")
SPLITS = ("abstain", "tie")


@dataclass(frozen=True)
class Vote:
    """One judge's verdict on one item (``label=None``: abstains, with ``reason``)."""

    judge: str
    label: str | None
    probs: Mapping[str, float] | None = None
    reason: str | None = None


@dataclass(frozen=True)
class PanelVerdict:
    """The panel's verdict, the tally it came from and who abstained."""

    label: str | None
    tally: Mapping[str, float] = field(default_factory=dict)
    abstained: tuple[str, ...] = ()
    reason: str | None = None


def combine_votes(
    votes: Sequence[Vote], method: str = "majority", weights: Mapping[str, float] | None = None,
    split: str = "abstain",
) -> PanelVerdict:
    """Combine one item's votes (see module docstring).

    ``majority``: one vote per judge; ``weighted``: each judge's vote counts its
    weight; ``mean-prob``: the (weighted) mean of the judges' label probabilities,
    a judge without probabilities contributing its label as a one-hot.
    """
    if method not in METHODS:
        raise ValueError(f"jury method {method!r}: choose {', '.join(METHODS)}")
    if split not in SPLITS:
        raise ValueError(f"jury split {split!r}: choose {', '.join(SPLITS)}")
    cast = [v for v in votes if v.label is not None]
    abstained = tuple(v.judge for v in votes if v.label is None)
    if not cast:
        return PanelVerdict(None, {}, abstained, "every judge abstained")
    tally: dict[str, float] = {}
    for v in cast:
        w = 1.0 if method == "majority" else float((weights or {}).get(v.judge, 1.0))
        if method == "mean-prob" and v.probs:
            total = sum(v.probs.values()) or 1.0
            for k, p in v.probs.items():
                tally[k] = tally.get(k, 0.0) + w * p / total
        else:
            assert v.label is not None
            tally[v.label] = tally.get(v.label, 0.0) + w
    if method == "mean-prob":
        weight_sum = sum(float((weights or {}).get(v.judge, 1.0)) for v in cast)
        tally = {k: x / weight_sum for k, x in tally.items()}
    best = max(tally.values())
    top = sorted(k for k, x in tally.items() if math.isclose(x, best, rel_tol=1e-9, abs_tol=1e-12))
    if len(top) == 1:
        return PanelVerdict(top[0], tally, abstained)
    shown = ", ".join(f"{k}={tally[k]:g}" for k in sorted(tally))
    if split == "tie":
        return PanelVerdict("tie", tally, abstained, f"split vote ({shown}) recorded as tie")
    return PanelVerdict(None, tally, abstained, f"split vote ({shown})")


def _accuracy(pred: Sequence[str | None], gold: Sequence[str | None]) -> dict[str, Any]:
    """Accuracy on items with a label and a verdict, plus coverage and a Wilson interval."""
    pairs = [(p, g) for p, g in zip(pred, gold, strict=True) if g is not None]
    decided = [(p, g) for p, g in pairs if p is not None]
    hits = sum(1 for p, g in decided if p == g)
    n = len(decided)
    return {
        "accuracy": hits / n if n else None, "ci95": list(wilson_interval(hits, n)) if n else None,
        "n": n, "coverage": n / len(pairs) if pairs else None,
        "accuracy_counting_abstain_wrong": hits / len(pairs) if pairs else None,
    }


def _kappa_on_decided(x: Sequence[str | None], y: Sequence[str | None]) -> dict[str, Any]:
    both = [(a, b) for a, b in zip(x, y, strict=True) if a is not None and b is not None]
    if not both:
        return {"kappa": None, "n": 0}
    return {"kappa": cohen_kappa([a for a, _ in both], [b for _, b in both]), "n": len(both)}


def jury_report(
    judges: Mapping[str, Sequence[str | None]],
    panel: Sequence[str | None],
    labels: Sequence[str | None],
    human_votes: Sequence[Sequence[str]] | None = None,
) -> dict[str, Any]:
    """Per-judge and panel accuracy, Cohen's kappa between judges, agreement with humans.

    ``judges`` maps each judge to its verdicts (None = abstained) in item order.
    With ``human_votes`` (several annotators per item, as in PandaLM), reports Fleiss'
    kappa among the humans and with each judge (and the panel) added as one more
    rater, on the items that judge decided, plus Cohen's kappa with the human majority.
    """
    out: dict[str, Any] = {
        "judges": {name: _accuracy(v, labels) for name, v in judges.items()},
        "panel": _accuracy(panel, labels),
        "cohen_kappa_between_judges": {
            f"{a} vs {b}": _kappa_on_decided(judges[a], judges[b]) for a, b in itertools.combinations(judges, 2)
        },
    }
    if human_votes:
        full = [(i, list(v)) for i, v in enumerate(human_votes) if v]
        sizes = {len(v) for _, v in full}
        if len(sizes) == 1 and sizes.pop() >= 2:
            humans: dict[str, Any] = {"fleiss_kappa_humans": fleiss_kappa([v for _, v in full]), "n": len(full)}
            for name, verdicts in {**judges, "panel": panel}.items():
                rated = [[*v, verdicts[i]] for i, v in full if verdicts[i] is not None]
                humans[name] = {
                    "fleiss_kappa_with_humans": fleiss_kappa(rated) if rated else None, "n": len(rated),
                    "cohen_kappa_vs_majority": _kappa_on_decided(verdicts, labels)["kappa"],
                }
            out["human_agreement"] = humans
    return out
