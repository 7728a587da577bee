"""A small, inspectable combination of per-pair signals: logistic regression on feature differences.

Each pair gives one difference per feature (response A's value minus B's: PMI, FLIP,
forward likelihood, endogenous reward, the logit judge's P(A) - 1/2, log length ratio,
refusal markers, a scalar RM's score ...). The model is ``P(A better) =
sigmoid(sum_k w_k * d_k)`` with no intercept, fitted on every pair in both orientations
(``d, y`` and ``-d, 1 - y``), so it is order-free: swapping A and B flips the verdict.
Features are scaled by their standard deviation for the fit (L2-penalised Newton steps)
and the weights are reported in raw units, so they can be read and printed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Refusal and apology phrases counted by the ``refusal`` feature.
REFUSAL = re.compile(r"\b(i'm sorry|i am sorry|i apologi[sz]e|i can(?:no|')t|i'm not able|i am not able|unable to|"
                     r"as an ai|i won't|not comfortable)\b", re.IGNORECASE)


def refusal_markers(text: str) -> int:
    """How many refusal / apology phrases a response contains."""
    return len(REFUSAL.findall(text))


def text_features(a: str, b: str) -> dict[str, float]:
    """The features read off the two texts: log length ratio and refusal-marker difference (A - B)."""
    return {"log-length": math.log1p(len(a)) - math.log1p(len(b)),
            "refusal": float(refusal_markers(a) - refusal_markers(b))}


@dataclass(frozen=True)
class Combination:
    """Weights per feature difference (raw units); ``l2`` is the penalty it was fitted with."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    l2: float

    def margin(self, diffs: Mapping[str, float | None]) -> float | None:
        """``sum_k w_k d_k``; None when a feature is missing for this pair."""
        values: list[float] = []
        for f in self.features:
            v = diffs.get(f)
            if v is None or not math.isfinite(v):
                return None
            values.append(float(v))
        return float(sum(w * v for w, v in zip(self.weights, values, strict=True)))

    def predict(self, diffs: Mapping[str, float | None]) -> str | None:
        """``A``/``B`` by the margin's sign, ``tie`` at exactly 0, None when a feature is missing."""
        m = self.margin(diffs)
        if m is None:
            return None
        return "tie" if m == 0 else ("A" if m > 0 else "B")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (what a run records and prints)."""
        return {"features": list(self.features), "weights": dict(zip(self.features, self.weights, strict=True)),
                "l2": self.l2}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Combination:
        """Inverse of :meth:`to_dict`."""
        feats = tuple(d["features"])
        return cls(features=feats, weights=tuple(float(d["weights"][f]) for f in feats), l2=float(d["l2"]))


def fit(
    rows: Sequence[Mapping[str, float | None]], labels: Sequence[str], features: Sequence[str], l2: float = 1.0,
    iterations: int = 50,
) -> Combination:
    """Fit the symmetric logistic regression on pairs with every feature present and an A/B label."""
    keep = [i for i, (r, y) in enumerate(zip(rows, labels, strict=True))
            if y in ("A", "B") and all(r.get(f) is not None and math.isfinite(float(r[f])) for f in features)]  # type: ignore[arg-type]
    if not keep:
        raise ValueError("no training pair has every feature")
    x = np.array([[float(rows[i][f]) for f in features] for i in keep])  # type: ignore[arg-type]
    y = np.array([1.0 if labels[i] == "A" else 0.0 for i in keep])
    scale = np.sqrt((x**2).mean(axis=0))
    scale[scale == 0] = 1.0
    xs = np.vstack([x / scale, -x / scale])
    ys = np.concatenate([y, 1.0 - y])
    w = np.zeros(len(features))
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(xs @ w, -50, 50)))
        grad = xs.T @ (p - ys) + l2 * w
        hess = (xs * (p * (1 - p))[:, None]).T @ xs + l2 * np.eye(len(features))
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-9:
            break
    return Combination(features=tuple(features), weights=tuple(float(v) for v in w / scale), l2=l2)
