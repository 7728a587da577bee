from pathlib import Path

from judgekit.core.types import Judgment
from judgekit.evaluation.benchmarks import PairOutcome, get_benchmark, outcomes_from_judgments, score_benchmark

FIX = Path(__file__).parents[1] / "fixtures" / "benchmarks" / "judgebench_gpt4o.jsonl"
BENCH = get_benchmark("judgebench")
# per-order decisions in original terms (the swapped order already flipped back)
ORDERS = {
    "p1": ("A", "A"),    # label A>B: +2 -> correct
    "p2": ("B", "tie"),  # label B>A: +1 -> correct (judgekit's combined verdict would be "tie")
    "p3": ("A", "B"),    # label A>B: 0 -> incorrect
    "p4": (None, "A"),   # label B>A: -1 -> incorrect
    "p5": ("tie", "tie"),  # 0 -> incorrect
}


def _judgment(pid, orders):
    per_order = [{"order": o, "ok": d is not None, **({"label": d} if d else {"reason": "x"})}
                 for o, d in zip(("AB", "BA"), orders, strict=True)]
    final = orders[0] if orders[0] == orders[1] else ("tie" if None not in orders else None)
    return Judgment(sample_id=f"{pid}::ab", verdict=final, reward=None, per_order=tuple(per_order),
                    parse_failure=final is None, consistent=None if None in orders else orders[0] == orders[1])


def test_two_order_aggregation_from_judgments():
    es = BENCH.load(FIX, None)
    assert [it.label for it in es.items] == ["A", "B", "A", "B", "A"]
    assert [it.subset for it in es.items] == ["mmlu-pro", "mmlu-pro", "livebench-math", "livecodebench",
                                              "livebench-reasoning"]
    units = es.units("pairwise")
    js = [_judgment(pid, o).to_dict() for pid, o in ORDERS.items()]  # dicts, as read from results.jsonl
    outs = outcomes_from_judgments(units, js)
    assert outs[1] == PairOutcome("p2", "ab", "tie", False, ("B", "tie"), None)
    s = score_benchmark(BENCH, es, outs, n_boot=100)
    m = {k: v["value"] for k, v in s["metrics"].items()}
    assert m["overall"] == 0.4
    assert m["subset/mmlu-pro"] == 1.0
    assert m["subset/livebench-math"] == 0.0 and m["subset/livecodebench"] == 0.0
    assert s["diagnostics"]["parse_failure_rate"] == 0.2
    assert s["unit_labels"]["p2::ab"] == "B"


def test_single_order_uses_the_one_decision():
    es = BENCH.load(FIX, None)
    outs = [PairOutcome("p1", "ab", "A", None, ("A",)), PairOutcome("p2", "ab", "A", None, ("A",))]
    s = score_benchmark(BENCH, es, outs, n_boot=20)
    assert s["metrics"]["overall"]["value"] == 0.5
