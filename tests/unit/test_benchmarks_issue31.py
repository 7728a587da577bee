"""RewardMATH, Auto-J Eval-P, MT-Bench human judgments, contrast instructions: hand-computed upstream rules."""

import json
from pathlib import Path

import pytest

from judgekit.core.data import DataError
from judgekit.evaluation.benchmarks import PairOutcome, ScoreOutcome, get_benchmark, score_benchmark
from judgekit.evaluation.benchmarks.rewardmath import mrr_from_scores

FIX = Path(__file__).parents[1] / "fixtures" / "benchmarks"


def _metrics(bench, es, outs):
    return {k: v["value"] for k, v in score_benchmark(bench, es, outs, n_boot=20)["metrics"].items()}


def _lose(label):
    return "B" if label == "A" else "A"


# --- RewardMATH (real rows: the repository's two-problem sample, MIT) --------------------------------

def test_rewardmath_loads_the_published_sample():
    es = get_benchmark("rewardmath").load(FIX / "rewardmath_direct_sample.json", None)
    assert [it.id for it in es.items] == ["0", "399"]
    it = es.items[0]
    assert len(it.candidates) == 10 and it.correct == (0,) and len(it.comparisons) == 9
    assert it.candidates[0].startswith("I want to solve for x") and "\n" in it.candidates[0]
    assert {c.label for c in it.comparisons} == {"A", "B"}  # chosen shown first or second by a fixed coin
    for c in it.comparisons:
        assert (c.a if c.label == "A" else c.b) == 0


def test_rewardmath_pointwise_accuracy_tie_and_mrr():
    bench = get_benchmark("rewardmath")
    es = bench.load(FIX / "rewardmath_direct_sample.json", None)
    # problem 0: chosen 9, rejected max 8 -> accurate, MRR 1
    # problem 399: chosen 7, one rejected 7 and one 9 -> inaccurate, not accurate w/ tie, rank 3 -> MRR 1/3
    s0 = [9.0] + [8.0] * 9
    s1 = [7.0, 7.0, 9.0] + [1.0] * 7
    outs = [ScoreOutcome("0", i, v) for i, v in enumerate(s0)] + [ScoreOutcome("399", i, v) for i, v in enumerate(s1)]
    m = _metrics(bench, es, outs)
    assert m["overall"] == 0.5
    assert m["acc_with_tie"] == 0.5
    assert m["mrr"] == pytest.approx((1 + 1 / 3) / 2)
    assert mrr_from_scores(5.0, [5.0, 1.0]) == 0.5  # a rejected solution ranks above the chosen one at a tie
    assert mrr_from_scores(None, [1.0, 2.0]) == pytest.approx(1 / 3)  # a failed chosen score ranks last


def test_rewardmath_failed_score_is_never_accurate():
    bench = get_benchmark("rewardmath")
    es = bench.load(FIX / "rewardmath_direct_sample.json", 1)
    outs = [ScoreOutcome("0", i, (9.0 if i == 0 else None if i == 3 else 1.0)) for i in range(10)]
    s = score_benchmark(bench, es, outs, n_boot=20)
    assert s["metrics"]["overall"]["value"] == 0.0
    assert s["items"][0]["detail"]["failed"] == [3]


def test_rewardmath_pairwise_wins_all_and_mrr_is_one_over_losses_plus_one():
    bench = get_benchmark("rewardmath")
    es = bench.load(FIX / "rewardmath_direct_sample.json", None)
    first, second = es.items
    outs = [PairOutcome("0", c.id, c.label) for c in first.comparisons]
    # second item: two losses (one tie, one wrong), one failure -> three losses, MRR 1/4
    for k, c in enumerate(second.comparisons):
        w = {0: "tie", 1: _lose(c.label), 2: None}.get(k, c.label)
        outs.append(PairOutcome("399", c.id, w))
    m = _metrics(bench, es, outs)
    assert m["overall"] == 0.5
    assert m["mrr"] == pytest.approx((1 + 1 / 4) / 2)
    assert "acc_with_tie" not in m


def test_rewardmath_rejects_two_chosen(tmp_path):
    bad = tmp_path / "r.jsonl"
    bad.write_text('{"problem_id": 1, "problem": "p", "eval_solution": ["a"], "solution_type": "chosen"}\n'
                   '{"problem_id": 1, "problem": "p", "eval_solution": ["b"], "solution_type": "chosen"}\n')
    with pytest.raises(DataError, match="exactly one chosen"):
        get_benchmark("rewardmath").load(bad, None)


# --- Auto-J Eval-P (constructed rows in the published layout) ----------------------------------------

def test_autoj_both_orders_must_agree_with_the_label():
    bench = get_benchmark("auto-j")
    es = bench.load(FIX / "autoj_testdata_pairwise.jsonl", None)
    assert [it.label for it in es.items] == ["A", "B", "tie", "A"]
    assert [it.subset for it in es.items] == ["Exam Questions", "Functional Writing", "Rewriting", "Code"]
    outs = [
        PairOutcome("0", "ab", "A", True, ("A", "A")),      # agree, consistent
        PairOutcome("1", "ab", "B", False, ("B", "A")),     # one order right: not agreement, inconsistent
        PairOutcome("2", "ab", "tie", True, ("tie", "tie")),  # tie label, both tie: agree
        PairOutcome("3", "ab", None, None, ("A", None)),    # failed second order: disagrees
    ]
    m = _metrics(bench, es, outs)
    assert m["overall"] == 0.5
    assert m["consistency"] == 0.5
    assert m["agreement_no_tie"] == pytest.approx(1 / 3)
    assert m["subset/Exam Questions"] == 1.0 and m["subset/Code"] == 0.0


def test_autoj_single_order_is_upstream_single_type():
    bench = get_benchmark("autoj")
    es = bench.load(FIX / "autoj_testdata_pairwise.jsonl", None)
    outs = [PairOutcome(i, "ab", w, None, (w,)) for i, w in (("0", "A"), ("1", "A"), ("2", "tie"), ("3", "A"))]
    m = _metrics(bench, es, outs)
    assert m["overall"] == 0.75 and "consistency" not in m


def test_autoj_unknown_scenario_names_the_field(tmp_path):
    bad = tmp_path / "a.jsonl"
    bad.write_text('{"scenario": "nope", "label": 0, "prompt": "p", "response 1": "a", "response 2": "b"}\n')
    with pytest.raises(DataError, match="scenario"):
        get_benchmark("autoj").load(bad, None)


# --- MT-Bench human judgments (constructed rows in the published layout) ---------------------------

def test_mtbench_human_groups_votes_and_reverts_swapped_orders():
    es = get_benchmark("mtbench_human").load(FIX / "mtbench_human_judgments.jsonl", None)
    items = {it.id: it for it in es.items}
    t1 = items["t1:81:gpt-4:vicuna-13b-v1.2"]
    assert list(t1.metadata["votes"]) == ["A", "A", "tie"]  # expert_1 voted model_b with gpt-4 as model_b
    assert t1.candidates == ("11 is prime.", "12.")
    t2 = items["t2:81:gpt-4:vicuna-13b-v1.2"]
    assert list(t2.metadata["votes"]) == ["B"]
    assert "[Turn 2]" in t2.prompt and t2.candidates[0].endswith("101 is prime.")
    assert items["t1:82:alpaca-13b:gpt-4"].subset == "turn1"


def test_mtbench_human_agreement_with_and_without_ties():
    bench = get_benchmark("mtbench_human")
    es = bench.load(FIX / "mtbench_human_judgments.jsonl", None)
    outs = [PairOutcome("t1:81:gpt-4:vicuna-13b-v1.2", "ab", "A"),   # votes A, A, tie: 2/3 ; no tie 2/2
            PairOutcome("t2:81:gpt-4:vicuna-13b-v1.2", "ab", None),  # vote B, judge failed: 0/1 ; 0/1
            PairOutcome("t1:82:alpaca-13b:gpt-4", "ab", "tie")]      # vote tie: 1/1 ; judge tie skipped
    m = _metrics(bench, es, outs)
    assert m["overall"] == pytest.approx(3 / 5)
    assert m["no_tie"] == pytest.approx(2 / 3)
    assert m["subset/turn1"] == pytest.approx(3 / 4) and m["no_tie/turn1"] == 1.0
    assert m["subset/turn2"] == 0.0 and m["no_tie/turn2"] == 0.0


# --- Contrast instructions (constructed rows in the published layout) -----------------------------

def test_contrast_folder_query_side_is_the_upstream_rule():
    bench = get_benchmark("contrast-instructions")
    es = bench.load(FIX / "contrast_instructions", None)
    assert len(es.items) == 10  # 2 para + 3 wmt rows, two sides each
    q = es.item("wmt:0:q")
    assert q.prompt == "我今天去了北京。"
    assert q.candidates[q.correct[0]] == "I went to Beijing today."
    assert set(q.candidates) == {"I went to Beijing today.", "I am going to Beijing tomorrow."}
    r = es.item("wmt:0:r")
    assert r.candidates[r.correct[0]] == "I am going to Beijing tomorrow."
    right = {"wmt:0:q", "wmt:0:r", "wmt:1:q", "para:0:q", "para:1:r"}
    outs = []
    for it in es.items:
        w = it.label if it.id in right else "tie" if it.id == "wmt:2:q" else _lose(it.label)
        outs.append(PairOutcome(it.id, "ab", w))
    s = score_benchmark(bench, es, outs, n_boot=20)
    m = {k: v["value"] for k, v in s["metrics"].items()}
    assert m["overall"] == pytest.approx(3 / 5)  # query sides: wmt 0, wmt 1, para 0 right; wmt 2 tie is a miss
    assert m["subset/wmt"] == pytest.approx(2 / 3) and m["subset/para"] == 0.5
    assert m["mirror"] == pytest.approx(2 / 5)
    assert m["both"] == pytest.approx(1 / 5)
    assert s["metrics"]["subset/wmt"]["wilson"][0] < 2 / 3 < s["metrics"]["subset/wmt"]["wilson"][1]
    assert "wilson" not in s["metrics"]["overall"]  # overall is the query side only, not a share of all items


def test_contrast_limit_counts_rows_per_file():
    es = get_benchmark("contrast").load(FIX / "contrast_instructions" / "wmt_contrast.json", 1)
    assert [it.id for it in es.items] == ["wmt:0:q", "wmt:0:r"]


# --- VerifyBench (constructed rows in the published layout): the verify protocol end to end ----------

def test_verifybench_runs_the_verify_protocol_and_scores_upstream_accuracy(tmp_path):
    from judgekit.backends.fake import FakeBackend
    from judgekit.core.runner import Runner
    from judgekit.evaluation.evaluate import run_eval
    from judgekit.protocols.base import JudgeConfig, get_protocol

    def always_correct(prompt, index, params):
        return "Reasoning: matches.\nVerdict: correct"

    path = FIX / "verify_bench.jsonl"
    es = get_benchmark("verifybench-hard").load(path, None)
    units = es.units("pairwise")  # the items force verification whatever the run asks
    assert [u.metadata["protocol"] for u in units] == ["verify"] * 4
    assert units[0].reference == "12" and units[0].responses == ("7 + 5 = 12, so the answer is 12.",)
    model_only = get_protocol("verify", JudgeConfig(options=(("verify_mode", "model"),)))  # the model decides
    result = run_eval("verifybench", path, model_only, Runner(FakeBackend(always_correct)),
                      tmp_path / "v", n_boot=20, report=False)
    m = {k: v["value"] for k, v in result.scores["metrics"].items()}
    assert m["overall"] == 0.5 and m["false_positive_rate"] == 1.0
    assert m["subset/Numerical"] == 0.5 and m["subtype/Chemical"] == 1.0 and m["subtype/Single"] == 0.0
    assert result.scores["metrics"]["overall"]["wilson"][1] < 1.0


def test_verifybench_failed_verdict_is_never_right():
    bench = get_benchmark("verifybench")
    es = bench.load(FIX / "verify_bench.jsonl", None)
    outs = [ScoreOutcome("v0", 0, None), ScoreOutcome("v1", 0, 0.0)]
    s = score_benchmark(bench, es, outs, n_boot=20)
    assert s["metrics"]["overall"]["value"] == 0.5
    assert s["items"][0]["detail"]["pred"] is None


# --- M-RewardBench (constructed rows in the published layout) ------------------------------------

def test_mrewardbench_rewardbench_rule_per_language():
    bench = get_benchmark("m-rewardbench")
    es = bench.load(FIX / "mrewardbench", None)
    assert [it.id for it in es.items] == ["deu_Latn:1", "deu_Latn:2", "deu_Latn:3", "fra_Latn:1", "fra_Latn:2"]
    verdict = {"deu_Latn:1": "win", "deu_Latn:2": "tie", "deu_Latn:3": "win", "fra_Latn:1": "lose",
               "fra_Latn:2": None}
    outs = []
    for it in es.items:
        v = verdict[it.id]
        outs.append(PairOutcome(it.id, "ab", {"win": it.label, "lose": _lose(it.label), "tie": "tie", None: None}[v]))
    m = _metrics(bench, es, outs)
    # deu: Chat (alpacaeval-easy) 0.5, Safety 1.0, Reasoning (math-prm) 1.0 -> 2.5 / 3
    # fra: Chat 0.5 (failure = 0.5), Reasoning 0.0 -> 0.25
    assert m["lang/deu_Latn"] == pytest.approx(2.5 / 3)
    assert m["lang/fra_Latn"] == pytest.approx(0.25)
    assert m["overall"] == pytest.approx((2.5 / 3 + 0.25) / 2)
    assert m["subset/math-prm"] == 0.5


# --- eval/bench_baselines.py: the content-blind judges ---------------------------------------------

def test_baselines_first_is_never_consistent_and_longer_picks_length():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_baselines", FIX.parents[2] / "eval" / "bench_baselines.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    es = get_benchmark("autoj").load(FIX / "autoj_testdata_pairwise.jsonl", None)
    first = mod.baseline_outcomes(es, "first", "pairwise", both_orders=True)
    assert all(o.consistent is False and o.winner == "tie" for o in first)
    single = mod.baseline_outcomes(es, "first", "pairwise", both_orders=False)
    assert all(o.winner == "A" for o in single)
    longer = {o.item_id: o.winner for o in mod.baseline_outcomes(es, "longer", "pairwise")}
    assert longer["1"] == "B" and longer["3"] == "tie"  # "no" vs a full sentence; x * x vs x + x: equal length
    points = mod.baseline_outcomes(get_benchmark("rewardmath").load(FIX / "rewardmath_direct_sample.json", 1),
                                   "constant", "pointwise")
    assert {o.score for o in points} == {0.0} and len(points) == 10


# --- too-long inputs: skipped with counts, never truncated -----------------------------------------

def test_too_long_items_are_skipped_counted_and_scored_as_failures(tmp_path):
    from judgekit.backends.fake import FakeBackend
    from judgekit.core.runner import Runner
    from judgekit.evaluation.evaluate import run_eval
    from judgekit.protocols.base import get_protocol

    long_row = {"scenario": "math_reasoning", "label": 0, "prompt": "Sum these numbers: " + " ".join(["7"] * 3000),
                "response 1": "21000", "response 2": "0"}
    path = tmp_path / "autoj.jsonl"
    path.write_text((FIX / "autoj_testdata_pairwise.jsonl").read_text() + json.dumps(long_row) + "\n")
    backend = FakeBackend(lambda p, i, g: "Reasoning: x.\nVerdict: [[A]]", max_context=2000)
    result = run_eval("autoj", path, get_protocol("pairwise"), Runner(backend), tmp_path / "run", n_boot=20,
                      report=False)
    s = result.scores
    assert s["items_skipped"] == 1 and s["diagnostics"]["skipped"] == 1
    assert "context" in s["diagnostics"]["skipped_reason"]
    assert any("never truncated" in n for n in s["notes"])
    long_item = next(d for d in s["items"] if d["item_id"] == "4")
    assert long_item["credit"] == 0.0  # a skipped pair is a failure under the upstream rule, not a verdict
