"""Trivial pairwise baselines, length-stratified accuracy and the logistic combination, hand-computed."""

from __future__ import annotations

import random

import pytest

from judgekit.core.combination import fit
from judgekit.evaluation.pair_baselines import BASELINES, baseline_predictions, best_baseline, credit, score_pairs

LABELS = ["A", "B", "A", "B"]
LEN_A = [10, 10, 5, 7]
LEN_B = [5, 20, 9, 7]  # preferred longer: item 0, 1; shorter: item 2; equal: item 3


def test_credit_counts_a_tie_half_and_a_missing_verdict_wrong() -> None:
    assert [credit("A", "A"), credit("B", "A"), credit("tie", "A"), credit(None, "A")] == [1.0, 0.0, 0.5, 0.0]


def test_length_strata_and_length_controlled_accuracy() -> None:
    sc = score_pairs(["A", "B", "B", None], LABELS, LEN_A, LEN_B)
    assert sc.accuracy == pytest.approx(2 / 4) and sc.missing == 1
    assert (sc.longer_preferred, sc.n_longer, sc.shorter_preferred, sc.n_shorter) == (1.0, 2, 0.0, 1)
    assert sc.length_controlled == pytest.approx(0.5)
    longer = score_pairs(baseline_predictions("longer", LEN_A, LEN_B), LABELS, LEN_A, LEN_B)
    shorter = score_pairs(baseline_predictions("shorter", LEN_A, LEN_B), LABELS, LEN_A, LEN_B)
    assert longer.length_controlled == shorter.length_controlled == 0.5  # any pure length rule
    assert baseline_predictions("longer", LEN_A, LEN_B) == ["A", "B", "B", "tie"]


def test_baselines_and_the_best_one() -> None:
    assert baseline_predictions("position-first", LEN_A, LEN_B) == ["A"] * 4
    assert baseline_predictions("random", LEN_A, LEN_B, seed=3) == baseline_predictions("random", LEN_A, LEN_B, seed=3)
    longer = score_pairs(baseline_predictions("longer", LEN_A, LEN_B), LABELS, LEN_A, LEN_B)
    assert longer.accuracy == pytest.approx((1 + 1 + 0 + 0.5) / 4)
    name, sc = best_baseline(LABELS, LEN_A, LEN_B, seed=0)
    every = [score_pairs(baseline_predictions(b, LEN_A, LEN_B, 0), LABELS, LEN_A, LEN_B).accuracy for b in BASELINES]
    assert sc.accuracy == max(every) and name in BASELINES
    with pytest.raises(ValueError, match="unknown baseline"):
        baseline_predictions("longest", LEN_A, LEN_B)


def test_combination_learns_the_informative_feature_and_is_order_free() -> None:
    rng = random.Random(0)
    rows, labels = [], []
    for _ in range(200):
        signal, noise = rng.gauss(0, 1), rng.gauss(0, 1)
        rows.append({"pmi": signal, "length": noise})
        labels.append("A" if signal + 0.3 * rng.gauss(0, 1) > 0 else "B")
    combo = fit(rows, labels, ("pmi", "length"), l2=1.0)
    w = dict(zip(combo.features, combo.weights, strict=True))
    assert w["pmi"] > 5 * abs(w["length"])
    d = {"pmi": 0.4, "length": -1.0}
    flipped = {k: -v for k, v in d.items()}
    assert {combo.predict(d), combo.predict(flipped)} == {"A", "B"}
    assert combo.predict({"pmi": None, "length": 1.0}) is None  # a missing feature: no verdict
    assert combo.to_dict()["weights"]["pmi"] == w["pmi"]
