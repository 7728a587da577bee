from pathlib import Path

import pytest

from judgekit.evaluation.benchmarks import PairOutcome, get_benchmark, score_benchmark

FIX = Path(__file__).parents[1] / "fixtures" / "benchmarks" / "pandalm_testset-v1.json"
BENCH = get_benchmark("pandalm")


def test_majority_labels_and_prompt():
    es = BENCH.load(FIX, None)
    assert [it.label for it in es.items] == ["A", "A", "B", "B", "tie", "tie"]
    assert es.items[0].prompt == "Task 0\n\ncontext 0" and es.items[1].prompt == "Task 1"
    assert es.items[5].candidates[1] == "True"  # a JSON boolean response, as in the published file


def test_ties_kappa_and_macro_f1_match_hand_computation():
    es = BENCH.load(FIX, None)
    preds = ["A", "B", "B", "tie", "tie", None]
    outs = [PairOutcome(it.id, "ab", p) for it, p in zip(es.items, preds, strict=True)]
    s = score_benchmark(BENCH, es, outs, n_boot=200)
    m = {k: v["value"] for k, v in s["metrics"].items()}
    assert m["overall"] == 0.5
    assert m["macro_precision"] == pytest.approx(2 / 3)
    assert m["macro_recall"] == pytest.approx(0.5)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.5 + 0.5) / 3)
    assert m["kappa"] == pytest.approx(4 / 13)
    assert m["human_tie_rate"] == pytest.approx(1 / 3) and m["pred_tie_rate"] == pytest.approx(2 / 6)


def test_shared_copy_loads(shared_data: Path) -> None:
    es = BENCH.load(shared_data / "pandalm" / "pandalm_testset_v1.jsonl", None)
    assert len(es.items) == 999
    assert sum(it.label == "tie" for it in es.items) == 105
