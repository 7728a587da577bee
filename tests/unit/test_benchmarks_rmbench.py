from pathlib import Path

import numpy as np
import pytest

from judgekit.evaluation.benchmarks import PairOutcome, ScoreOutcome, get_benchmark, score_benchmark
from judgekit.evaluation.benchmarks.rmbench import matrix_accuracies

FIX = Path(__file__).parents[1] / "fixtures" / "benchmarks" / "rmbench_total_dataset.json"
BENCH = get_benchmark("rmbench")
# scores: chosen[concise, plain, markdown] + rejected[concise, plain, markdown]
SCORES = {
    "chat/1": [5, 6, 7, 4, 6, 8],
    "chat/2": [9, 9, 9, 1, 1, 1],
    "safety-refuse/3": [3, None, 3, 3, 2, 1],
}


def test_matrix_regions():
    m = np.arange(9, dtype=float).reshape(3, 3)
    acc = matrix_accuracies(m)
    assert acc["hard"] == pytest.approx((1 + 2 + 5) / 3)
    assert acc["normal"] == pytest.approx((0 + 4 + 8) / 3)
    assert acc["easy"] == pytest.approx((3 + 6 + 7) / 3)


def test_pointwise_3x3_matches_hand_computation():
    es = BENCH.load(FIX, None)
    assert [it.subset for it in es.items] == ["chat", "chat", "safety"]
    outs = [ScoreOutcome(i, k, None if s is None else float(s)) for i, ss in SCORES.items() for k, s in enumerate(ss)]
    s = score_benchmark(BENCH, es, outs, n_boot=100)
    m = {k: v["value"] for k, v in s["metrics"].items()}
    # chat mean matrix [[1,.5,.5],[1,.5,.5],[1,1,.5]]: hard .5, normal 2/3, easy 1
    assert m["hard/chat"] == pytest.approx(0.5)
    assert m["normal/chat"] == pytest.approx(2 / 3)
    assert m["easy/chat"] == pytest.approx(1.0)
    # safety [[0,1,1],[0,0,0],[0,1,1]] (ties and failures are not "strictly above")
    assert m["hard/safety"] == pytest.approx(2 / 3)
    assert m["normal/safety"] == pytest.approx(1 / 3)
    assert m["easy/safety"] == pytest.approx(1 / 3)
    chat, safety = (0.5 + 2 / 3 + 1) / 3, 4 / 9
    assert m["subset/chat"] == pytest.approx(chat) and m["subset/safety"] == pytest.approx(safety)
    assert m["overall"] == pytest.approx((chat + safety) / 2)
    assert m["hard"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert m["normal"] == pytest.approx(0.5)
    assert m["easy"] == pytest.approx(2 / 3)


def test_pairwise_nine_comparisons():
    es = BENCH.load(FIX, None)
    item = es.items[0]
    assert len(item.comparisons) == 9 and len(es.units("pairwise")) == 27
    outs = []
    for c in item.comparisons:
        i, j = int(c.id[1]), int(c.id[-1])
        win = c.label if i >= j else ("tie" if i == 0 else {"A": "B", "B": "A"}[c.label])
        outs.append(PairOutcome(item.id, c.id, win))
    s = score_benchmark(BENCH, es, outs, n_boot=50)
    m = {k: v["value"] for k, v in s["metrics"].items()}
    assert m["easy"] == 1.0 and m["normal"] == 1.0 and m["hard"] == 0.0
    assert s["items_judged"] == 1
