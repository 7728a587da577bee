"""Process verification: step splitting, strict first-error parsing, per-step judging, ProcessBench scoring,
GSM8K process labels by construction and the rule baseline."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from judgekit.backends.fake import FakeBackend
from judgekit.core.data import DataError, load_samples
from judgekit.core.runner import Runner
from judgekit.core.steps import first_error_format, split_steps, step_reward
from judgekit.core.types import GenerationParams, ParseFailure, Prompt, Sample, Verdict
from judgekit.evaluation.benchmarks import get_benchmark, score_benchmark
from judgekit.evaluation.benchmarks.base import ScoreOutcome
from judgekit.evaluation.benchmarks.processbench import f1_of
from judgekit.protocols import ConfigError, JudgeConfig, get_protocol
from judgekit.train.process_labels import annotation_errors, perturb, process_rows, rule_first_error

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "benchmarks" / "processbench"


@pytest.mark.parametrize(("text", "steps", "rule"), [
    ("Step 1: a = 2.\nStep 2: b = 3.\nstep 3) a+b = 5", ("Step 1: a = 2.", "Step 2: b = 3.", "step 3) a+b = 5"),
     "markers"),
    ("Intro.\nStep 1: x\nStep 2: y", ("Intro.", "Step 1: x", "Step 2: y"), "markers"),
    ("First part\nstill first.\n\nSecond part.", ("First part\nstill first.", "Second part."), "paragraphs"),
    ("16 - 3 = 13\n13 * 2 = 26", ("16 - 3 = 13", "13 * 2 = 26"), "lines"),
    ("It is 4. So 8! Done?", ("It is 4.", "So 8!", "Done?"), "sentences"),
    ("42", ("42",), "single"),
])
def test_split_rule(text: str, steps: tuple[str, ...], rule: str) -> None:
    assert split_steps(text) == (steps, rule)


def test_first_error_constraint_and_parser() -> None:
    fmt = first_error_format(3)
    pattern = re.compile(fmt.regex)
    for k in ("-1", "0", "1", "2"):
        assert pattern.fullmatch(f"Reasoning: ok\nFirst error: [[{k}]]")
    assert not pattern.fullmatch("Reasoning: ok\nFirst error: [[3]]")
    assert fmt.parse("Reasoning: x\nFirst error: [[2]]") == Verdict(label="2")
    for bad, why in (("First error: [[3]]", "not -1 or a step index"), ("Verdict: 2", "no 'First error:'"),
                     ("First error: 2", "no [[k]]")):
        parsed = fmt.parse(bad)
        assert isinstance(parsed, ParseFailure) and why in parsed.reason


def test_step_rewards() -> None:
    assert step_reward([1.0, 0.9, 0.2], "min", 2) == 0.2
    assert step_reward([1.0, 0.5, 0.5], "product", -1) == 0.25
    assert step_reward([1.0, 1.0, 0.0, None], "first-error", 2) == 0.5
    assert step_reward([1.0, 1.0], "first-error", -1) == 1.0


SOLUTION = Sample(id="s", prompt="Janet has 16 eggs, eats 3 and bakes 4. She sells the rest at $2.",
                  responses=("16 - 3 - 4 = 9 eggs left.\n9 * 2 = 19 dollars.\nThe answer is 19.",), label="1")


def test_first_error_mode_one_call() -> None:
    backend = FakeBackend(script={"[Step 2]": "Reasoning: step 1 is wrong, 9*2=18.\nFirst error: [[1]]"})
    proto = get_protocol("prm", JudgeConfig(options=(("step_reward", "first-error"),)))
    (j,) = proto.judge([SOLUTION], Runner(backend))
    assert [c["prompts"] for c in backend.calls] == [1]
    assert j.verdict == "1" and j.reward == pytest.approx(1 / 3)
    assert j.extra["prm"]["labels"] == ["correct", "incorrect", None] and j.extra["prm"]["split"] == "lines"


def step_judge(prompt: Prompt, index: int, params: GenerationParams) -> str:
    user = next(m.content for m in prompt.messages if m.role == "user")
    new = user.split("## New step to check", 1)[1]
    return "Critique: checked.\nStep: " + ("incorrect" if "= 19" in new else "correct")


def test_per_step_mode_batches_every_step() -> None:
    backend = FakeBackend(responder=step_judge)
    proto = get_protocol("prm", JudgeConfig(options=(("prm_mode", "per-step"), ("step_reward", "product"))))
    (j,) = proto.judge([SOLUTION], Runner(backend))
    assert [c["prompts"] for c in backend.calls] == [3]
    assert j.verdict == "1" and j.reward == 0.0
    assert j.extra["prm"]["labels"] == ["correct", "incorrect", "correct"]  # step 2 restates 19 without "= 19"


def test_per_step_logit_and_failures() -> None:
    def choices(prompt: Prompt, options):  # type: ignore[no-untyped-def]
        bad = "= 19" in next(m.content for m in prompt.messages if m.role == "user").split("New step", 1)[1]
        return {" correct": 0.2 if bad else 0.9, " incorrect": 0.8 if bad else 0.1}

    proto = get_protocol("prm", JudgeConfig(method="logit", options=(("prm_mode", "per-step"),)))
    (j,) = proto.judge([SOLUTION], Runner(FakeBackend(choice_responder=choices)))
    assert j.verdict == "1" and j.reward == pytest.approx(0.2)
    broken = get_protocol("prm", JudgeConfig(options=(("prm_mode", "per-step"),)))
    (f,) = broken.judge([SOLUTION], Runner(FakeBackend(script={"[Step 1]": "Critique: hm.\nStep: maybe"})))
    assert f.parse_failure and f.verdict is None
    assert str(f.failure_reason).startswith("step 1: all 1 samples failed: no step verdict")


def test_prm_options_are_checked() -> None:
    for opts, method in (((("prm_mode", "x"),), "generative"), ((("step_reward", "mean"),), "generative"),
                         ((("prm_modes", "per-step"),), "generative"), ((), "logit")):
        with pytest.raises(ConfigError):
            get_protocol("prm", JudgeConfig(method=method, options=opts))  # type: ignore[arg-type]


def test_prm_rows_and_given_steps(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    rows = [{"id": "a", "problem": "q", "steps": ["x", "y"], "label": 1},
            {"id": "b", "question": "q", "response": "x\ny", "first_error": -1}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    a, b = load_samples(path, task="prm")
    assert a.metadata["steps"] == ["x", "y"] and a.label == "1" and b.label == "-1"
    path.write_text(json.dumps({"id": "c", "problem": "q", "steps": ["x"], "label": 1}) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_samples(path, task="prm")
    assert err.value.line == 1 and err.value.field == "label"


def test_processbench_metric_matches_upstream() -> None:
    bench = get_benchmark("processbench")
    evalset = bench.load(FIXTURE, None)
    assert {it.subset for it in evalset.items} == {"gsm8k"} and len(evalset.items) == 6
    # predict -1 everywhere: correct solutions all right, erroneous all wrong -> F1 0
    outs = [ScoreOutcome(it.id, 0, -1.0) for it in evalset.items]
    assert score_benchmark(bench, evalset, outs, n_boot=50)["metrics"]["overall"]["value"] == 0.0
    exact = [ScoreOutcome(it.id, 0, float(str(it.label))) for it in evalset.items]
    assert score_benchmark(bench, evalset, exact, n_boot=50)["metrics"]["overall"]["value"] == 1.0
    # one miss among 3 erroneous, failures count as misses: acc1 = 1/3, acc2 = 1 -> F1 = 0.5
    errs = [it for it in evalset.items if it.label != "-1"]
    mixed = [ScoreOutcome(it.id, 0, None if it in errs[:2] else float(str(it.label))) for it in evalset.items]
    assert score_benchmark(bench, evalset, mixed, n_boot=50)["metrics"]["overall"]["value"] == pytest.approx(0.5)
    assert f1_of(0.0, 0.0) == 0.0


def test_processbench_refuses_other_protocols(tmp_path: Path) -> None:
    from judgekit.evaluation.evaluate import run_eval

    proto = get_protocol("pairwise", JudgeConfig())
    with pytest.raises(ConfigError):
        run_eval("processbench", FIXTURE, proto, Runner(FakeBackend()), tmp_path / "run", report=False)


def test_gsm8k_labels_by_construction_and_rule() -> None:
    solution = ("Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\n"
                "She makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18")
    good, bad = process_rows("q0", "Janet...", solution)
    assert good["label"] == -1 and good["final_answer_correct"] and rule_first_error(good["steps"]) == -1
    assert bad["label"] in (0, 1) and rule_first_error(bad["steps"]) == bad["label"]
    assert annotation_errors("x <<2*3=7>>7") == ["<<2*3=7>>"]
    steps, at = perturb(["a <<1+1=2>>2 b"], random.Random(0))  # type: ignore[misc]
    assert at == 0 and "<<1+1=2>>" not in steps[0] and annotation_errors(steps[0])
    assert perturb(["no computation"], random.Random(0)) is None
    assert process_rows("q", "p", "2 <<1+1=3>>3\n#### 3") == []  # a reference failing the check is dropped


def test_rule_written_trace_stops_at_the_first_wrong_computation_and_fits_the_constraint() -> None:
    from judgekit.train.process_labels import first_error_trace

    steps = ["a 16 - 3 = <<16-3=13>>13 eggs", "no computation here", "b 13 * 2 = <<13*2=27>>27", "c <<27+1=28>>28"]
    trace = first_error_trace(steps)
    assert trace == ("Reasoning: step 0: 16-3 = 13, right. step 1: no computation. step 2: 13*2 = 26, stated 27, "
                     "wrong.\nFirst error: [[2]]")
    assert re.fullmatch(first_error_format(4).regex, trace) and first_error_format(4).parse(trace).label == "2"
    clean = first_error_trace(["x <<1,000+1=1001>>1,001", "y <<10/4=2.5>>2.5"])
    assert clean.endswith("First error: [[-1]]") and "1000+1 = 1001, right" in clean and "10/4 = 2.5, right" in clean
    assert re.fullmatch(first_error_format(2).regex, clean)


def test_prm_sft_rows_are_training_side_balanced_and_rendered_like_the_judge(shared_data: Path, tmp_path: Path) -> None:
    import sys

    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "training"))
    import prm_sft  # type: ignore[import-not-found]

    from judgekit.train.recipe.split import read_never_train

    out = tmp_path / "rows.jsonl"
    assert prm_sft.main(["--data", str(shared_data), "--out", str(out), "--limit", "20"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 20 and sum(r["label"] == -1 for r in rows) == 10
    never = read_never_train(root / "training" / "split.json")["gsm8k"]
    dev_test_questions = {i.split("-")[2] for i in never}
    assert not any(r["item_id"].split("-")[2] in dev_test_questions for r in rows)
    assert all(r["template"] == "prm_first_error" and r["prompt"][1]["content"].startswith("## Problem\n")
               for r in rows)
    for r in rows:
        n = r["prompt"][1]["content"].count("[Step ")
        target = r["completion"][0]["content"]
        assert re.fullmatch(first_error_format(n).regex, target) and target.endswith(f"[[{r['label']}]]")


def test_prm_table_compares_raw_trained_and_rule_on_the_same_solutions(tmp_path: Path) -> None:
    import shutil
    import sys

    from judgekit.evaluation.evaluate import run_eval

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "eval"))
    import prm_gsm8k  # type: ignore[import-not-found]

    (tmp_path / "sets" / "heldout").mkdir(parents=True)
    shutil.copy(FIXTURE / "gsm8k.json", tmp_path / "sets" / "heldout" / "gsm8k.json")
    rows = json.loads((FIXTURE / "gsm8k.json").read_text())

    def step0(prompt: Prompt, index: int, params: GenerationParams) -> str:
        return "Reasoning: the first step.\nFirst error: [[0]]"

    def oracle(prompt: Prompt, index: int, params: GenerationParams) -> str:
        text = prompt.as_text()
        steps = re.findall(r"^\[Step \d+\] (.*)$", text, re.MULTILINE)
        return f"Reasoning: checked.\nFirst error: [[{rule_first_error(steps)}]]"

    for name, responder in (("raw", step0), ("trained", oracle)):
        run_eval("processbench", tmp_path / "sets" / "heldout", get_protocol("prm", JudgeConfig()),
                 Runner(FakeBackend(responder=responder)), tmp_path / "eval" / name, report=False)
    table = prm_gsm8k.table(tmp_path)
    lines = table.splitlines()
    assert lines[2].startswith("| rule") and "| 1.000 [" in lines[2] and lines[2].endswith(f"| {len(rows)} | – |")
    assert lines[4].startswith("| judgekit-135m + PRM LoRA") and "| 1.000 [" in lines[4]
    erroneous_at_0 = sum(1 for r in rows if r["label"] == 0)
    assert lines[3].split("|")[2].strip().startswith(f"{erroneous_at_0 / len(rows):.3f}")
    assert "Trained minus raw" in table


def test_processbench_slice_is_balanced_seeded_and_in_file_order() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "eval"))
    import prm_gsm8k  # type: ignore[import-not-found]

    rows = [{"id": f"r{i}", "label": -1 if i % 3 == 0 else i % 4} for i in range(30)]
    got = prm_gsm8k.balanced_slice(rows, 8)
    assert len(got) == 8 and sum(r["label"] == -1 for r in got) == 4
    assert [r["id"] for r in got] == sorted((r["id"] for r in got), key=lambda x: int(x[1:]))
    assert got == prm_gsm8k.balanced_slice(rows, 8) and got != prm_gsm8k.balanced_slice(rows, 8, seed=1)


def test_published_processbench_rows_load_and_score_like_upstream(tmp_path: Path) -> None:
    """Four real ProcessBench GSM8K rows (tests/fixtures/benchmarks/processbench_LICENSE) through -p prm."""
    from judgekit.evaluation.evaluate import run_eval

    published = FIXTURE.parent / "processbench_published"
    items = get_benchmark("processbench").load(published, None).items
    assert [it.id for it in items] == ["gsm8k-0", "gsm8k-2", "gsm8k-202", "gsm8k-203"]
    assert [str(it.label) for it in items] == ["1", "1", "-1", "-1"]
    backend = FakeBackend(script={"Sue lives in a fun neighborhood": "Reasoning: 2.\nFirst error: [[1]]"},
                          responder=lambda p, i, params: "Reasoning: fine.\nFirst error: [[-1]]")
    result = run_eval("processbench", published, get_protocol("prm", JudgeConfig()), Runner(backend),
                      tmp_path / "run", report=False, n_boot=50)
    metrics = result.scores["metrics"]
    assert metrics["error_acc/gsm8k"]["value"] == 0.5 and metrics["correct_acc/gsm8k"]["value"] == 1.0
    assert metrics["overall"]["value"] == pytest.approx(f1_of(0.5, 1.0))
