"""Held-out accuracy of a pairwise scorer beside the trivial baselines, length-stratified.

Pure functions: given held-out :class:`~judgekit.train.rm_data.PreferencePair` s and
one score per response, the accuracy with its Wilson interval, the same for the
position / longer / shorter baselines, and accuracy on the pairs where the preferred
response is the longer vs the shorter one, with their mean (length-controlled
accuracy, where every pure length rule gets 0.5). An exact score tie counts as
wrong and is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from judgekit.core.stats import wilson_interval
from judgekit.train.rm_data import PreferencePair

Decide = Callable[[PreferencePair, int], float]  # 1 right, 0 wrong, 0.5 a coin flip


def _row(hits: Sequence[float]) -> dict[str, Any]:
    n = len(hits)
    k = sum(hits)
    lo, hi = wilson_interval(round(k), n) if n else (None, None)
    return {"accuracy": k / n if n else None, "ci95": [lo, hi], "n": n}


def scored_row(pairs: Sequence[PreferencePair], decide: Decide) -> dict[str, Any]:
    """Accuracy overall and on chosen-longer / chosen-shorter pairs, plus their mean."""
    hits = [decide(p, i) for i, p in enumerate(pairs)]
    longer = [h for h, p in zip(hits, pairs, strict=True) if len(p.chosen) > len(p.rejected)]
    shorter = [h for h, p in zip(hits, pairs, strict=True) if len(p.chosen) < len(p.rejected)]
    row = _row(hits)
    row["chosen_longer"] = _row(longer)
    row["chosen_shorter"] = _row(shorter)
    a, b = row["chosen_longer"]["accuracy"], row["chosen_shorter"]["accuracy"]
    row["length_controlled"] = (a + b) / 2 if a is not None and b is not None else None
    return row


def _length(p: PreferencePair, prefer_longer: bool) -> float:
    if len(p.chosen) == len(p.rejected):
        return 0.5
    return float((len(p.chosen) > len(p.rejected)) == prefer_longer)


def evaluate_scores(pairs: Sequence[PreferencePair], chosen: Sequence[float], rejected: Sequence[float]
                    ) -> dict[str, Any]:
    """The scorer's row, the baselines' rows, ties and whether it beats the best baseline."""
    rows = {
        "rm": scored_row(pairs, lambda p, i: float(chosen[i] > rejected[i])),
        "always_first": scored_row(pairs, lambda p, i: float(p.chosen_first)),
        "longer": scored_row(pairs, lambda p, i: _length(p, True)),
        "shorter": scored_row(pairs, lambda p, i: _length(p, False)),
    }
    best = max((k for k in rows if k != "rm"), key=lambda k: rows[k]["accuracy"] or 0.0)
    rm, base = rows["rm"], rows[best]
    return {"rows": rows, "ties": sum(1 for c, r in zip(chosen, rejected, strict=True) if c == r),
            "best_baseline": best,
            "beats_best_baseline": bool(rm["ci95"][0] is not None and base["accuracy"] is not None
                                        and rm["ci95"][0] > base["accuracy"])}
