from pathlib import Path

import pytest

from judgekit.evaluation.benchmarks import PairOutcome, ScoreOutcome, benchmark_names, get_benchmark, score_benchmark
from judgekit.evaluation.benchmarks.base import seeded_swap
from judgekit.evaluation.benchmarks.rewardbench import EXAMPLE_COUNTS, section_scores

FIX = Path(__file__).parents[1] / "fixtures" / "benchmarks"


def test_registry():
    assert set(benchmark_names()) == {"rewardbench2", "rewardbench", "rmbench", "judgebench", "llmbar", "pandalm",
                                      "hhh", "rewardmath", "autoj", "mtbench_human", "contrast", "verifybench",
                                      "mrewardbench", "generic", "processbench", "ppe_human", "ppe_correctness",
                                      "librabench", "longrewardbench", "ragrewardbench"}
    assert get_benchmark("RB2").name == "rewardbench2"
    with pytest.raises(ValueError, match="unknown benchmark"):
        get_benchmark("nope")


def test_rewardbench_v1_sections_weighted_by_example_counts():
    bench = get_benchmark("rewardbench")
    es = bench.load(FIX / "rewardbench_filtered.parquet", None)
    assert len(es.items) == 7
    verdicts = {"a1": "win", "a2": "tie", "h1": "win", "h2": "lose", "x1": "win", "l1": None, "p1": "lose"}
    outs = []
    for it in es.items:
        v = verdicts[it.id]
        w = {"win": it.label, "lose": "B" if it.label == "A" else "A", "tie": "tie", None: None}[v]
        outs.append(PairOutcome(it.id, "ab", w))
    s = score_benchmark(bench, es, outs, n_boot=50)
    m = {k: v["value"] for k, v in s["metrics"].items()}
    assert m["subset/alpacaeval-easy"] == 0.75  # tie = 0.5 (upstream generative rule)
    assert m["subset/llmbar-natural"] == 0.5    # unreadable verdict = 0.5
    assert m["section/Chat"] == 0.75 and m["section/Safety"] == 1.0 and m["section/Chat Hard"] == 0.5
    reasoning = (0.5 * 164 + 0.0 * 984) / (164 + 984)  # math-prm up-weighted to 984
    assert m["section/Reasoning"] == pytest.approx(reasoning)
    assert m["overall"] == pytest.approx((0.75 + 0.5 + 1.0 + reasoning) / 4)
    assert EXAMPLE_COUNTS["math-prm"] == 984
    assert section_scores({"hep-go": 1.0}) == {"Reasoning": 1.0}


def test_llmbar_upstream_folder_and_order_average():
    bench = get_benchmark("llmbar")
    es = bench.load(FIX / "llmbar_Dataset", None)
    assert sorted({it.subset for it in es.items}) == ["LLMBar/Adversarial/Manual", "LLMBar/Adversarial/Neighbor",
                                                      "LLMBar/Natural"]
    outs = []
    for it in es.items:
        other = "B" if it.label == "A" else "A"
        orders = (it.label, other) if it.subset.endswith("Neighbor") else (it.label, it.label)
        outs.append(PairOutcome(it.id, "ab", it.label if orders[0] == orders[1] else "tie", orders[0] == orders[1],
                                orders))
    s = score_benchmark(bench, es, outs, n_boot=50)
    m = {k: v["value"] for k, v in s["metrics"].items()}
    assert m["subset/LLMBar/Adversarial/Neighbor"] == 0.5  # average over orders, not the combined "tie"
    assert m["natural"] == 1.0 and m["adversarial"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["overall"] == pytest.approx((1.0 + 0.5 + 1.0) / 3)
    assert m["positional_agreement"] == pytest.approx(3 / 5)


def test_shared_llmbar_and_hhh_load(shared_data: Path) -> None:
    SHARED = shared_data  # noqa: N806 - $JUDGEKIT_SHARED_DATA or ../shared/data; fails loudly when absent
    es = get_benchmark("llmbar").load(SHARED / "llmbar" / "llmbar.jsonl", None)
    assert len(es.items) == 881 and "LLMBar/Natural" in {it.subset for it in es.items}
    hhh = get_benchmark("hhh").load(SHARED / "hhh_alignment" / "hhh_alignment.jsonl", 40)
    assert len(hhh.items) == 40
    raw = [__import__("json").loads(line) for line in (SHARED / "hhh_alignment" / "hhh_alignment.jsonl").open()]
    for it, row in zip(hhh.items, raw, strict=False):  # chosen is where the label says
        assert it.candidates[it.correct[0]] == row["chosen"]
        assert it.label == "AB"[it.correct[0]]
    assert {it.label for it in hhh.items} == {"A", "B"}


def test_hhh_pointwise_scores_imply_verdicts(tmp_path):
    rows = [{"id": f"h{i}", "subset": s, "prompt": "p", "chosen": "good", "rejected": "bad"}
            for i, s in enumerate(["helpful", "helpful", "honest"])]
    path = tmp_path / "hhh.jsonl"
    path.write_text("\n".join(__import__("json").dumps(r) for r in rows))
    bench = get_benchmark("hhh")
    es = bench.load(path, None)
    outs = []
    for it, sc in zip(es.items, [(9, 2), (5, 5), (7, 1)], strict=True):
        ci = it.correct[0]
        outs += [ScoreOutcome(it.id, ci, float(sc[0])), ScoreOutcome(it.id, 1 - ci, float(sc[1]))]
    s = score_benchmark(bench, es, outs, n_boot=50)
    m = {k: v["value"] for k, v in s["metrics"].items()}
    assert m["overall"] == pytest.approx(2 / 3) and m["subset/helpful"] == 0.5 and m["subset/honest"] == 1.0
    assert m["macro"] == pytest.approx(0.75)


def test_generic_preference_file(tmp_path):
    path = tmp_path / "prefs.jsonl"
    rows = [{"prompt": "q", "response_a": "x", "response_b": "y", "label": lab, "category": "c"}
            for lab in ("A", "B", "tie")]
    path.write_text("\n".join(__import__("json").dumps(r) for r in rows))
    bench = get_benchmark("generic")
    es = bench.load(path, None)
    outs = [PairOutcome(it.id, "ab", w) for it, w in zip(es.items, ["A", "A", "tie"], strict=True)]
    s = score_benchmark(bench, es, outs, n_boot=20)
    assert s["metrics"]["overall"]["value"] == pytest.approx(2 / 3)
    assert "kappa" in s["metrics"] and s["metrics"]["subset/c"]["n"] == 3


def test_seeded_swap_is_stable_and_mixed():
    flips = [seeded_swap(f"item-{i}") for i in range(200)]
    assert flips == [seeded_swap(f"item-{i}") for i in range(200)]
    assert 70 < sum(flips) < 130
