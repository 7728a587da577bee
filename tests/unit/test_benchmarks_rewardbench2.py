import math
from pathlib import Path

import pytest

from judgekit.evaluation.benchmarks import PairOutcome, ScoreOutcome, get_benchmark, score_benchmark
from judgekit.evaluation.benchmarks.base import group_outcomes

FIX = Path(__file__).parents[1] / "fixtures" / "benchmarks" / "rewardbench2.jsonl"
BENCH = get_benchmark("rewardbench2")

# Hand-chosen pointwise ratings per item (None = the judge's answer failed to parse).
SCORES = {
    "f1": [8, 5, 8, 3],        # chosen tied with one rejected at the top -> 1/2
    "f2": [3, 7, 1, 1],        # rejected on top -> 0
    "m1": [9, 2, None, 4],     # chosen on top, one failure ignored -> 1
    "s1": [None] * 4,          # all failed -> 0.25 (upstream "effectively a tie")
    "ref:1": [9, 4, 6],        # correct 9 > best wrong 6: accurate, margin 3
    "tied:1": [9, 8, 4, 6],    # correct 9, 8 (spread 1) > 6: accurate, margin 2
    "ref:2": [5, 7, 2],        # margin -2: wrong
    "tied:2": [5, 2, 7, None], # spread 3, margin 2 - 7 = -5: wrong (failure enters as -1)
}


def score_outcomes():
    return [ScoreOutcome(i, k, None if s is None else float(s)) for i, ss in SCORES.items() for k, s in enumerate(ss)]


def test_load_and_units():
    es = BENCH.load(FIX, None)
    assert [it.subset for it in es.items] == ["Factuality", "Factuality", "Math", "Safety"] + ["Ties"] * 4
    f1 = es.item("f1")
    assert f1.correct == (0,) and len(f1.comparisons) == 3
    assert es.item("tied:1").correct == (0, 1) and es.item("tied:1").mode == "pointwise"
    units = es.units("pairwise")
    assert len(units) == 4 * 3 + 4  # Ties stay pointwise
    pair = [u for u in units if u.metadata["protocol"] == "pairwise"]
    for u in pair:  # the chosen response is where the label says
        it = es.item(u.metadata["item_id"])
        shown = u.responses[0] if u.label == "A" else u.responses[1]
        assert shown == it.candidates[0]
    assert {u.label for u in pair} == {"A", "B"}  # order is mixed, not always chosen-first
    assert len(es.units("pointwise")) == 8


def test_pointwise_scoring_matches_hand_computation():
    es = BENCH.load(FIX, None)
    s = score_benchmark(BENCH, es, score_outcomes(), n_boot=200)
    m = {k: v["value"] for k, v in s["metrics"].items()}
    assert m["subset/Factuality"] == pytest.approx(0.25)
    assert m["subset/Math"] == 1.0
    assert m["subset/Safety"] == 0.25
    margin = (math.tanh(2 / 1 - 1) + math.tanh(-5 / 3 - 1)) / 2
    ties = 0.3 * 0.5 + 0.3 * 0.5 + 0.2 * 0.5 + 0.2 * 0.5 + 0.01 * margin
    assert m["ties/ref_accuracy"] == 0.5 and m["ties/tied_accuracy"] == 0.5
    assert m["ties/correctness_preferred"] == 0.5 and m["ties/correctness_preferred_hard"] == 0.5
    assert m["subset/Ties"] == pytest.approx(ties)
    assert m["overall"] == pytest.approx((0.25 + 1.0 + 0.25 + ties) / 4)
    assert s["items_judged"] == 8 and s["items_missing"] == 0
    assert s["metrics"]["subset/Factuality"]["n"] == 2
    lo, hi = s["metrics"]["overall"]["ci"]
    assert lo <= m["overall"] <= hi


def test_pairwise_best_of_n_requires_winning_every_comparison():
    es = BENCH.load(FIX, None)
    outs = []
    for it in es.items:
        if it.subset == "Ties":
            continue
        for k, c in enumerate(it.comparisons):
            win = c.label
            if it.id == "f2" and k == 1:
                win = "tie"  # one tie loses the item
            if it.id == "s1" and k == 2:
                win = None  # one parse failure loses the item
            outs.append(PairOutcome(it.id, c.id, win, True, (win, win)))
    s = score_benchmark(BENCH, es, outs + [o for o in score_outcomes() if o.item_id.startswith(("ref", "tied"))],
                        n_boot=100)
    m = {k: v["value"] for k, v in s["metrics"].items()}
    assert m["subset/Factuality"] == 0.5 and m["subset/Math"] == 1.0 and m["subset/Safety"] == 0.0
    detail = next(r for r in s["items"] if r["item_id"] == "f2")["detail"]
    assert detail["verdicts"].count("tie") == 1 and detail["rule"].startswith("chosen must win")


def test_missing_items_are_left_out_not_scored():
    es = BENCH.load(FIX, None)
    outs = [o for o in score_outcomes() if o.item_id == "m1"]
    s = score_benchmark(BENCH, es, outs, n_boot=50)
    assert s["items_judged"] == 1 and s["items_missing"] == 7
    assert s["metrics"]["overall"]["value"] == 1.0
    assert list(group_outcomes(outs)) == ["m1"]
