"""PPE (human preference, correctness best-of-K) and Libra Bench: loaders and hand-computed rules."""

import itertools
import json
import math
from pathlib import Path

import pytest

from judgekit.core.data import DataError
from judgekit.evaluation.benchmarks import PairOutcome, ScoreOutcome, get_benchmark, score_benchmark
from judgekit.evaluation.benchmarks.librabench import macro_f1
from judgekit.evaluation.benchmarks.ppe_correctness import best_of_k_curve, roc_auc, subset_name

FIX = Path(__file__).parents[1] / "fixtures" / "benchmarks"


def _metrics(bench, es, outs):
    return {k: v["value"] for k, v in score_benchmark(bench, es, outs, n_boot=20)["metrics"].items()}


def _other(label):
    return "B" if label == "A" else "A"


# --- Libra Bench --------------------------------------------------------------------------------------

def test_libra_loads_verification_items_with_reference_and_label():
    es = get_benchmark("libra-bench").load(FIX / "librabench.jsonl", None)
    assert [it.id for it in es.items] == ["0", "1", "2", "3", "4", "5"]
    first = es.items[0]
    assert first.mode == "verify" and first.reference == "56" and first.label == "correct"
    assert first.candidates[0].startswith("Multiplying")  # the response without its chain of thought
    assert [it.subset for it in es.items] == ["MATH500", "MATH500", "AIME2024", "AIME2024", "AIME2025", "AIME2025"]
    units = es.units("pairwise")  # forced into verify whatever the run asks
    assert {u.metadata["protocol"] for u in units} == {"verify"}


def test_libra_accuracy_is_the_mean_of_subset_accuracies():
    bench = get_benchmark("librabench")
    es = bench.load(FIX / "librabench.jsonl", None)
    # MATH500: both right (1.0); AIME2024: one right, one failed (0.5); AIME2025: one right of two (0.5)
    verdicts = {"0": 1.0, "1": 0.0, "2": 1.0, "3": None, "4": 1.0, "5": 1.0}
    m = _metrics(bench, es, [ScoreOutcome(k, 0, v) for k, v in verdicts.items()])
    assert m["subset/MATH500"] == 1.0 and m["subset/AIME2024"] == 0.5 and m["subset/AIME2025"] == 0.5
    assert m["overall"] == pytest.approx(2 / 3)
    assert m["micro"] == pytest.approx(4 / 6)
    # correct class: tp 3 (0, 2, 4), fp 1 (5), fn 0 -> F1 6/7; incorrect: tp 1 (1), fp 0, fn 2 (3 failed, 5) -> 1/2
    assert m["macro_f1"] == pytest.approx((6 / 7 + 1 / 2) / 2)
    assert m["model/QwQ-32B"] == 0.5  # rows 1 (right) and 5 (wrong)


def test_libra_macro_f1_counts_a_failure_against_its_class():
    # correct: tp 0, fn 1 -> F1 0; incorrect: tp 1 -> F1 1
    assert macro_f1([("correct", None), ("incorrect", "incorrect")]) == 0.5
    assert macro_f1([("correct", None), ("incorrect", "correct")]) == 0.0


def test_libra_bad_label_names_the_field(tmp_path):
    bad = tmp_path / "l.jsonl"
    bad.write_text('{"index": 1, "question": "q", "response": "r", "label": 2, "subset": "s"}\n')
    with pytest.raises(DataError, match="label must be 0 or 1"):
        get_benchmark("librabench").load(bad, None)


# --- PPE human preference ---------------------------------------------------------------------------

def test_ppe_human_drops_ties_and_keeps_published_order():
    es = get_benchmark("ppe-human").load(FIX / "ppe_human_preference_v1.jsonl", None)
    assert [(it.id, it.label) for it in es.items] == [("h1", "A"), ("h2", "B"), ("h4", "A"), ("h5", "B")]
    assert es.items[1].candidates == ("Lyon.", "The capital of France is Paris.")
    assert es.notes and "1 voted tie" in es.notes[0]


def test_ppe_human_accuracy_tie_verdict_and_failure_are_wrong():
    bench = get_benchmark("ppe_human")
    es = bench.load(FIX / "ppe_human_preference_v1.jsonl", None)
    outs = [PairOutcome("h1", "ab", "A"), PairOutcome("h2", "ab", "tie"), PairOutcome("h4", "ab", None),
            PairOutcome("h5", "ab", "B")]
    s = score_benchmark(bench, es, outs, n_boot=20)
    m = {k: v["value"] for k, v in s["metrics"].items()}
    assert m["overall"] == 0.5
    assert m["subset/English"] == pytest.approx(1 / 3) and m["subset/Chinese"] == 1.0
    assert m["macro_language"] == pytest.approx((1 / 3 + 1) / 2)
    assert "wilson" in s["metrics"]["overall"]  # a proportion of items
    assert any("voted tie" in n for n in s["notes"])
    # the hub's top-level flags: h1, h5 easy (right); h2 hard + if, h4 hard + math (wrong); is_code never true
    assert m["category/easy_prompt"] == 1.0 and m["category/hard_prompt"] == 0.0
    assert m["category/if_prompt"] == 0.0 and m["category/math_prompt"] == 0.0 and "category/is_code" not in m


def test_ppe_human_category_flags(tmp_path):
    rows = [{"question_id": 1, "winner": "model_a", "prompt": "p", "response_1": "a", "response_2": "b",
             "language": "English", "hard": True, "code": False},
            {"question_id": 2, "winner": "model_b", "prompt": "p", "response_1": "a", "response_2": "b",
             "language": "English", "hard": True, "code": True}]
    f = tmp_path / "h.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    bench = get_benchmark("ppe_human")
    es = bench.load(f, None)
    m = _metrics(bench, es, [PairOutcome("1", "ab", "A"), PairOutcome("2", "ab", "A")])
    assert m["category/hard"] == 0.5 and m["category/code"] == 0.0


def test_ppe_human_bad_winner(tmp_path):
    f = tmp_path / "h.jsonl"
    f.write_text('{"question_id": 1, "winner": "tie (bothbad)", "prompt": "p", "response_1": "a", "response_2": "b"}\n'
                 '{"question_id": 2, "winner": "both_bad", "prompt": "p", "response_1": "a", "response_2": "b"}\n')
    es = get_benchmark("ppe_human").load(f, None)
    assert es.items == () and "2 voted tie" in es.notes[0]
    f.write_text('{"question_id": 1, "winner": "both", "prompt": "p", "response_1": "a", "response_2": "b"}\n')
    with pytest.raises(DataError, match="winner must be"):
        get_benchmark("ppe_human").load(f, None)


# --- PPE correctness: the pure rules ---------------------------------------------------------------

def _brute_force_bok(rm, gt, k):
    """Average over every K-subset of the picked ground truth, tied top scores averaged."""
    vals = []
    for sub in itertools.combinations(range(len(rm)), k):
        top = max(rm[i] for i in sub)
        vals.append(sum(gt[i] for i in sub if rm[i] == top) / sum(1 for i in sub if rm[i] == top))
    return sum(vals) / len(vals)


def test_best_of_k_curve_by_hand_and_by_enumeration():
    rm, gt = [3, 1, 2, 2], [0, 1, 1, 0]
    assert best_of_k_curve(rm, gt) == pytest.approx([0.5, 0.25, 0.125, 0.0])
    assert best_of_k_curve(gt, gt) == pytest.approx([0.5, 5 / 6, 1.0, 1.0])  # the oracle
    rm2 = [5, -math.inf, 5, 2, 7, 2, -math.inf]
    gt2 = [1, 1, 0, 0.5, 0, 1, 0]
    assert best_of_k_curve(rm2, gt2) == pytest.approx([_brute_force_bok(rm2, gt2, k) for k in range(1, 8)])


def test_roc_auc_ties_count_half():
    assert roc_auc([9, 5, 1, 2, 2, 5, 3, 2], [True, True, True, True, False, False, False, False]) == 8.5 / 16
    assert math.isnan(roc_auc([1, 2], [True, True]))


def test_subset_names_from_files(tmp_path):
    assert subset_name(Path("x/mmlu_pro_best_of_k.jsonl")) == "mmlu_pro"
    shard = tmp_path / "PPE-MBPP-Plus-Best-of-K" / "data" / "train-00000-of-00001.parquet"
    shard.parent.mkdir(parents=True)
    shard.write_bytes(b"")
    assert subset_name(shard) == "mbpp_plus"


# --- PPE correctness: loader and the whole score ---------------------------------------------------

def test_ppe_correctness_loads_conflict_pairs_with_the_right_response_labelled():
    es = get_benchmark("ppe-correctness").load(FIX / "ppe_correctness", None)
    assert [it.id for it in es.items] == ["math:q7:gen-b", "mmlu_pro:q1:gen-a", "mmlu_pro:q2:gen-a"]
    q7 = es.item("math:q7:gen-b")
    assert len(q7.candidates) == 4 and q7.metadata["pairs"] == [(0, 1), (2, 1), (0, 3)]  # (right, wrong)
    for it in es.items:
        for c in it.comparisons:
            right = c.a if c.label == "A" else c.b
            assert it.metadata["gt"][right] == 1


def test_ppe_correctness_pointwise_accuracy_best_of_k_and_auc():
    bench = get_benchmark("ppe_correctness")
    es = bench.load(FIX / "ppe_correctness", None)
    scores = {"mmlu_pro:q1:gen-a": [9, 2, 5, 5], "mmlu_pro:q2:gen-a": [3, 1, 2, 2], "math:q7:gen-b": [None, 4, 6, 1]}
    outs = [ScoreOutcome(k, i, s) for k, v in scores.items() for i, s in enumerate(v)]
    m = _metrics(bench, es, outs)
    # q1: (0,1) right, (3,2) tie -> wrong, (0,2) right; q2: both wrong -> mmlu 2/5
    # q7: the failed right response (-inf) loses both its pairs, 6 > 4 wins -> 1/3
    assert m["subset/mmlu_pro"] == pytest.approx(0.4) and m["subset/math"] == pytest.approx(1 / 3)
    assert m["overall"] == pytest.approx((0.4 + 1 / 3) / 2)
    # q1 curve [.5, .75, .875, 1], q2 [.5, .25, .125, 0] -> flat 0.5; oracle [.5, 5/6, 1, 1]
    assert m["bok_end/mmlu_pro"] == pytest.approx(0.5) and m["bok_max/mmlu_pro"] == pytest.approx(0.5)
    assert m["bok_loss/mmlu_pro"] == pytest.approx(((1 / 3) ** 2 + 0.25 + 0.25) / 4)
    # q7: rm [-inf, 4, 6, 1] -> curve [.5, .5, .75, 1]
    assert m["bok_end/math"] == 1.0 and m["bok_max/math"] == 1.0
    assert m["bok_loss/math"] == pytest.approx(((1 / 3) ** 2 + 0.25 ** 2) / 4)
    assert m["auc/mmlu_pro"] == pytest.approx(8.5 / 16) and m["auc/math"] == 0.5
    assert m["bok_end"] == pytest.approx(0.75) and m["auc"] == pytest.approx((8.5 / 16 + 0.5) / 2)


def test_ppe_correctness_pairwise_counts_verdicts_and_has_no_best_of_k():
    bench = get_benchmark("ppe_correctness")
    es = bench.load(FIX / "ppe_correctness", None)
    outs = []
    for it in es.items:
        for k, c in enumerate(it.comparisons):
            # every first comparison right; later ones: a tie, then a failure
            outs.append(PairOutcome(it.id, c.id, c.label if k == 0 else "tie" if k == 1 else None))
    m = _metrics(bench, es, outs)
    assert m["subset/mmlu_pro"] == pytest.approx(2 / 5) and m["subset/math"] == pytest.approx(1 / 3)
    assert not any(k.startswith(("bok", "auc")) for k in m)
    assert {u.metadata["protocol"] for u in es.units("pairwise")} == {"pairwise"}
    assert len(es.units("pairwise")) == 8 and len(es.units("pointwise")) == 3


def test_ppe_correctness_scores_must_match_the_responses(tmp_path):
    f = tmp_path / "gpqa_best_of_k.jsonl"
    f.write_text('{"question_id": 1, "prompt": "p", "response_1": "a", "response_2": "b", "scores": [1]}\n')
    with pytest.raises(DataError, match="scores must hold 2 numbers"):
        get_benchmark("ppe_correctness").load(f, None)
    f.write_text('{"question_id": 1, "prompt": "p", "response_1": "a", "response_2": "b", "scores": [1, 0], '
                 '"sampled_conflict_pairs": [[0, 5]]}\n')
    with pytest.raises(DataError, match="sampled_conflict_pairs"):
        get_benchmark("ppe_correctness").load(f, None)


def test_ppe_correctness_drops_pairs_with_equal_ground_truth(tmp_path):
    f = tmp_path / "gpqa_best_of_k.jsonl"
    f.write_text('{"question_id": 1, "prompt": "p", "response_1": "a", "response_2": "b", "response_3": "c", '
                 '"scores": [true, false, false], "sampled_conflict_pairs": [[1, 2], [1, 0]]}\n')
    it = get_benchmark("ppe_correctness").load(f, None).items[0]
    assert it.subset == "gpqa" and it.metadata["pairs"] == [(0, 1)] and it.correct == (0,)


# --- end to end on the scripted backend: a judge that knows the truth scores perfectly -----------

@pytest.mark.parametrize("proto", ["pairwise", "pointwise"])
def test_ppe_correctness_perfect_judge_through_run_eval(proto, tmp_path):
    from judgekit.backends.fake import FakeBackend
    from judgekit.core.runner import Runner
    from judgekit.evaluation.evaluate import run_eval
    from judgekit.protocols.base import get_protocol
    from tests.unit.test_evaluate import Oracle

    path = FIX / "ppe_correctness"
    res = run_eval("ppe_correctness", path, get_protocol(proto), Runner(FakeBackend(Oracle("ppe_correctness", path,
                   None))), tmp_path, n_boot=50, report=False)
    m = {k: v["value"] for k, v in res.scores["metrics"].items()}
    assert m["overall"] == 1.0 and m["subset/math"] == 1.0 and m["subset/mmlu_pro"] == 1.0
    if proto == "pointwise":  # the oracle's ranking: best-of-K equals the oracle curve
        assert m["bok_end"] == 1.0 and m["bok_loss"] == 0.0 and m["auc"] == 1.0
    else:
        assert res.scores["diagnostics"]["comparisons"] == 8


def test_ppe_human_perfect_and_position_biased_judges(tmp_path):
    from judgekit.backends.fake import FakeBackend
    from judgekit.core.runner import Runner
    from judgekit.evaluation.evaluate import run_eval
    from judgekit.protocols.base import get_protocol
    from tests.unit.test_evaluate import Oracle, first_wins

    path = FIX / "ppe_human_preference_v1.jsonl"
    perfect = run_eval("ppe_human", path, get_protocol("pairwise"), Runner(FakeBackend(Oracle("ppe_human", path,
                       None))), tmp_path / "p", n_boot=50, report=False)
    assert perfect.scores["metrics"]["overall"]["value"] == 1.0
    biased = run_eval("ppe_human", path, get_protocol("pairwise"), Runner(FakeBackend(first_wins)), tmp_path / "b",
                      n_boot=50, report=False)
    # both orders: an always-first judge is never consistent -> a tie -> wrong on every vote
    assert biased.scores["metrics"]["overall"]["value"] == 0.0


def test_hub_parquet_shards_load_like_the_jsonl(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(line) for line in (FIX / "ppe_correctness" / "math_best_of_k.jsonl").read_text().splitlines()]
    shard = tmp_path / "PPE-MATH-Best-of-K" / "data" / "train-00000-of-00001.parquet"
    shard.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), shard)
    es = get_benchmark("ppe_correctness").load(tmp_path, None)
    assert [it.id for it in es.items] == ["math:q7:gen-b"] and es.items[0].metadata["gt"] == [1.0, 0.0, 1.0, 0.0]
    votes = [json.loads(line) for line in (FIX / "ppe_human_preference_v1.jsonl").read_text().splitlines()]
    human = tmp_path / "PPE-Human-Preference-V1" / "data" / "test-00000-of-00001.parquet"
    human.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(votes), human)
    items = get_benchmark("ppe_human").load(human.parent.parent, None).items
    assert [it.id for it in items] == ["h1", "h2", "h4", "h5"]
    assert items[1].metadata["categories"] == ["hard_prompt", "if_prompt"]
