"""`judgekit eval` end to end on the fake backend: every benchmark, mixed protocols, resume, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgekit.backends.fake import FakeBackend
from judgekit.cli import app
from judgekit.core.cache import CallCache
from judgekit.core.errors import ConfigError
from judgekit.core.runner import Runner
from judgekit.core.types import GenerationParams, Prompt
from judgekit.evaluation.benchmarks import get_benchmark
from judgekit.evaluation.evaluate import companion_protocol, run_eval
from judgekit.protocols.base import JudgeConfig, get_protocol
from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "benchmarks"
SHARED = SHARED_DATA  # $JUDGEKIT_SHARED_DATA or ../shared/data

# benchmark -> (path, limit); every loader is exercised on its published schema.
CASES = {
    "rewardbench2": (FIX / "rewardbench2.jsonl", None),
    "rewardbench": (FIX / "rewardbench_filtered.parquet", None),
    "rmbench": (FIX / "rmbench_total_dataset.json", None),
    "judgebench": (FIX / "judgebench_gpt4o.jsonl", None),
    "llmbar": (FIX / "llmbar_Dataset", None),
    "pandalm": (FIX / "pandalm_testset-v1.json", None),
    "hhh": (SHARED / "hhh_alignment" / "hhh_alignment.jsonl", 12),
    "generic": (ROOT / "examples" / "pairs.jsonl", None),
    "rewardmath": (FIX / "rewardmath_direct_sample.json", None),
    "autoj": (FIX / "autoj_testdata_pairwise.jsonl", None),
    "contrast": (FIX / "contrast_instructions", None),
}


def _between(text: str, start: str, ends: tuple[str, ...]) -> str:
    body = text.split(start, 1)[1]
    cut = min((body.find(e) for e in ends if e in body), default=len(body))
    return body[:cut].strip()


class Oracle:
    """A judge that knows the truth (by prompt and candidate texts): perfect verdicts and ratings."""

    def __init__(self, bench: str, path: Path, limit: int | None) -> None:
        self.good: set[tuple[str, str]] = set()
        self.bad: set[tuple[str, str]] = set()
        self.pref: dict[tuple[str, str, str], str] = {}
        for it in get_benchmark(bench).load(path, limit).items:
            q = it.prompt.strip()
            for i, c in enumerate(it.candidates):
                (self.good if i in it.correct else self.bad).add((q, c.strip()))
            for comp in it.comparisons:
                x, y = it.candidates[comp.a].strip(), it.candidates[comp.b].strip()
                wx, wy = comp.a in it.correct, comp.b in it.correct
                verdict = "A" if wx and not wy else "B" if wy and not wx else "tie"
                self.pref[(q, x, y)] = verdict
                self.pref[(q, y, x)] = {"A": "B", "B": "A", "tie": "tie"}[verdict]

    def __call__(self, prompt: Prompt, index: int, params: GenerationParams) -> str:
        user = prompt.messages[-1].content
        if prompt.template == "pointwise":
            assert not self.good & self.bad, "a rating oracle needs each text to be good or bad, not both"
            q = _between(user, "## User prompt\n", ("\n## Response\n",))
            resp = _between(user, "## Response\n", ("\n## Rubric",))
            return f"Reasoning: checked.\nScore: {9 if (q, resp) in self.good else 2}"
        q = _between(user, "## User prompt\n", ("\n## Response A\n",))
        a = _between(user, "## Response A\n", ("\n## Response B",))
        b = _between(user, "## Response B\n", ("\n## Principles", "\n## Task"))
        return f"Reasoning: compared.\nVerdict: [[{self.pref[(q, a, b)]}]]"


def first_wins(prompt: Prompt, index: int, params: GenerationParams) -> str:
    """Position bias: always prefers what is shown first."""
    return "Reasoning: first.\nVerdict: [[A]]"


PERFECT = {  # metrics a perfect judge must reach on each fixture (upstream rules)
    "rewardbench2": ("subset/Factuality", "subset/Math", "subset/Safety"),
    "rewardbench": ("overall",),
    "rmbench": ("overall", "hard", "normal", "easy"),
    "judgebench": ("overall",),
    "llmbar": ("overall", "positional_agreement"),
    "pandalm": ("overall", "macro_f1"),
    "hhh": ("overall", "macro"),
    "generic": ("overall",),
    "rewardmath": ("overall", "mrr"),
    "autoj": ("overall", "consistency", "agreement_no_tie"),
    "contrast": ("overall", "mirror", "both"),
}


@pytest.mark.parametrize("bench", sorted(CASES))
def test_perfect_judge_scores_one_on_every_benchmark(bench: str, tmp_path: Path) -> None:
    path, limit = CASES[bench]
    backend = FakeBackend(Oracle(bench, path, limit))
    result = run_eval(bench, path, get_protocol("pairwise"), Runner(backend), tmp_path / bench, limit=limit,
                      n_boot=50)
    metrics = result.scores["metrics"]
    for key in PERFECT[bench]:
        assert metrics[key]["value"] == pytest.approx(1.0), key
    assert result.scores["items_missing"] == 0 and result.scores["judging"]["mode"] == "pairwise"
    for name in ("results.jsonl", "manifest.json", "summary.json", "scores.json", "report.html", "summary.md",
                 "report_summary.json"):
        assert (tmp_path / bench / name).exists(), name
    manifest = json.loads((tmp_path / bench / "manifest.json").read_text())
    assert manifest["eval"]["benchmark"] == bench and manifest["model_id"] == "fake-model"
    report = json.loads((tmp_path / bench / "report_summary.json").read_text())
    assert report["primary_value"] == metrics[result.scores["primary"]]["value"]


@pytest.mark.parametrize("bench", ["rmbench", "rewardbench2", "pandalm", "judgebench"])
def test_pointwise_protocol_scores_every_candidate(bench: str, tmp_path: Path) -> None:
    path, limit = CASES[bench]
    result = run_eval(bench, path, get_protocol("pointwise"), Runner(FakeBackend(Oracle(bench, path, limit))),
                      tmp_path, limit=limit, n_boot=50)
    assert len(result.groups) == 1 and result.groups[0].protocol == "pointwise"
    metrics = result.scores["metrics"]
    key = {"rewardbench2": "subset/Math", "pandalm": "overall", "rmbench": "overall", "judgebench": "overall"}[bench]
    assert metrics[key]["value"] == pytest.approx(1.0)
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    n_items = len(get_benchmark(bench).load(path, limit).items)
    assert len(rows) == n_items  # one pointwise unit per item, all candidates inside
    assert result.scores["judging"]["best_of_n"].startswith("pointwise")


def test_position_biased_judge_gets_exactly_chance_on_llmbar(tmp_path: Path) -> None:
    result = run_eval("llmbar", FIX / "llmbar_Dataset", get_protocol("pairwise"), Runner(FakeBackend(first_wins)),
                      tmp_path, n_boot=50)
    m = result.scores["metrics"]
    # both orders judged: one order always agrees with the label, the other never does
    assert m["overall"]["value"] == 0.5 and m["positional_agreement"]["value"] == 0.0
    assert result.scores["diagnostics"]["position_consistency"] == 0.0


def test_rewardbench2_ties_go_to_a_companion_pointwise_run(tmp_path: Path) -> None:
    path = CASES["rewardbench2"][0]
    proto = get_protocol("pairwise", JudgeConfig(method="logit"))
    backend = FakeBackend(Oracle("rewardbench2", path, None))
    result = run_eval("rewardbench2", path, proto, Runner(backend), tmp_path, n_boot=50)
    groups = {g.mode: g for g in result.groups}
    assert set(groups) == {"pairwise", "pointwise"}
    # pointwise has no logit mode: the Ties units were rated generatively, and the run says so
    assert groups["pointwise"].method == "generative" and groups["pairwise"].method == "logit"
    assert any("pointwise" in n and "generative" in n for n in result.scores["notes"])
    for mode in ("pairwise", "pointwise"):
        assert (tmp_path / mode / "results.jsonl").exists()
    top = [json.loads(line)["sample_id"] for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    units = get_benchmark("rewardbench2").load(path, None).units("pairwise")
    assert top == [u.id for u in units]  # merged in unit order
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest["groups"]) == {"pairwise", "pointwise"}
    assert {"pairwise", "pointwise"} <= set(manifest["templates"])
    assert result.scores["metrics"]["subset/Ties"]["value"] is not None
    # finished groups are reused on a re-run: no model call at all
    again = FakeBackend(Oracle("rewardbench2", path, None))
    rerun = run_eval("rewardbench2", path, proto, Runner(again), tmp_path, n_boot=50)
    assert again.calls == [] and all(g.reused for g in rerun.groups)
    assert rerun.scores["metrics"] == result.scores["metrics"]


def test_companion_and_task_checks() -> None:
    pair = get_protocol("pairwise")
    assert companion_protocol("pairwise", pair) is pair
    assert companion_protocol("pointwise", pair).name == "pointwise"
    # the default judge (pmi) scores forced-pointwise units with its own pointwise twin, on the same model
    pmi = get_protocol("pmi")
    twin = companion_protocol("pointwise", pmi)
    assert twin.name == "pmi-pointwise" and twin.norm == "none"  # type: ignore[attr-defined]
    assert companion_protocol("pointwise", get_protocol("scalar-rm")).name == "scalar-rm-pointwise"
    with pytest.raises(ConfigError, match="pairwise or pointwise"):
        run_eval("hhh", CASES["hhh"][0], get_protocol("verify"), Runner(FakeBackend()), Path("/nonexistent/x"))


class Crash(RuntimeError):
    pass


def test_killed_eval_resumes_and_matches_a_clean_run(tmp_path: Path) -> None:
    path = SHARED / "pandalm" / "pandalm_testset_v1.jsonl"

    def dying(prompt: Prompt, index: int, params: GenerationParams) -> str:
        if len(backend.calls) > 2:
            raise Crash("killed")
        return first_wins(prompt, index, params)

    backend = FakeBackend(dying)
    proto = get_protocol("pairwise")
    with pytest.raises(Crash):
        run_eval("pandalm", path, proto, Runner(backend), tmp_path / "run", limit=40, n_boot=50, chunk_size=8)
    partial = (tmp_path / "run" / "results.partial.jsonl").read_text().splitlines()
    assert len(partial) == 1 + 16  # header + two finished chunks
    assert not (tmp_path / "run" / "scores.json").exists()

    fresh = FakeBackend(first_wins)
    resumed = run_eval("pandalm", path, proto, Runner(fresh), tmp_path / "run", limit=40, n_boot=50, chunk_size=8)
    assert resumed.groups[0].resumed == 16
    assert sum(c["prompts"] for c in fresh.calls) == 2 * (40 - 16)  # only the rest, both orders
    clean = run_eval("pandalm", path, proto, Runner(FakeBackend(first_wins)), tmp_path / "clean", limit=40,
                     n_boot=50, chunk_size=8)
    assert resumed.scores["metrics"] == clean.scores["metrics"]
    assert (tmp_path / "run" / "results.jsonl").read_text() == (tmp_path / "clean" / "results.jsonl").read_text()


def test_rerun_uses_the_call_cache(tmp_path: Path) -> None:
    path, limit = CASES["hhh"]
    cache = CallCache(tmp_path / "calls.sqlite")
    first = Runner(FakeBackend(), cache=cache)
    run_eval("hhh", path, get_protocol("pairwise"), first, tmp_path / "a", limit=limit, n_boot=20)
    backend = FakeBackend()
    run_eval("hhh", path, get_protocol("pairwise"), Runner(backend, cache=cache), tmp_path / "b", limit=limit,
             n_boot=20, report=False)
    assert backend.calls == [] and not (tmp_path / "b" / "report.html").exists()


cli = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return cli.invoke(app, list(args), catch_exceptions=False)


def test_cli_eval_report_compare(tmp_path: Path) -> None:
    path = str(SHARED / "hhh_alignment" / "hhh_alignment.jsonl")
    a, b = tmp_path / "a", tmp_path / "b"
    result = invoke("eval", "hhh", path, "--backend", "fake", "--limit", "30", "-o", str(a), "--n-boot", "100")
    assert result.exit_code == 0, result.output
    scores = json.loads((a / "scores.json").read_text())
    assert f"{scores['metrics']['overall']['value']:.3f}" in result.output and "report.html" in result.output
    result = invoke("eval", "hhh", path, "--backend", "fake", "--limit", "30", "-o", str(b), "--n-boot", "100",
                    "--protocol", "pointwise", "--no-report")
    assert result.exit_code == 0, result.output and not (b / "report.html").exists()
    result = invoke("compare", str(a), str(b), "--n-boot", "200", "--json", str(tmp_path / "cmp.json"))
    assert result.exit_code == 0, result.output
    comp = json.loads((tmp_path / "cmp.json").read_text())
    overall = comp["benchmarks"]["hhh"]["metrics"]["overall"]
    assert overall["n"] == 30 and "overall" in result.output and "significant" in result.output
    result = invoke("report", str(a), "--compare", str(b), "--n-boot", "100")
    assert result.exit_code == 0, result.output
    assert "Comparison" in (a / "report.html").read_text()
    judge_summary = json.loads((a / "summary.json").read_text())
    assert "report_version" not in judge_summary and judge_summary["items"] == 30  # left alone by the report


def test_cli_errors_exit_2(tmp_path: Path) -> None:
    path = str(CASES["judgebench"][0])
    for args, needle in (
        (("eval", "nope", path), "unknown benchmark"),
        (("eval", "judgebench", str(tmp_path / "missing.jsonl")), "missing.jsonl"),
        (("eval", "judgebench", path, "--protocol", "verify"), "pairwise or pointwise"),
        (("eval", "judgebench", path, "--prompt-col", "q", "--response-cols", "a,b"), "eval generic"),
        (("eval", "pandalm", str(CASES["judgebench"][0])), "majority_label"),
        (("compare", str(tmp_path), str(tmp_path)), "scores.json"),
        (("report", str(tmp_path / "none")), "results.jsonl"),
    ):
        result = invoke(*args, "--backend", "fake", "-o", str(tmp_path / "o")) if args[0] == "eval" \
            else invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert needle in " ".join(result.output.split()), (args, result.output)


def test_generic_column_flags(tmp_path: Path) -> None:
    data = tmp_path / "prefs.csv"
    data.write_text("q,x,y,win\nWhich is 2+2?,4,5,A\nCapital of France?,Berlin,Paris,B\n")
    result = invoke("eval", "generic", str(data), "--backend", "fake", "--prompt-col", "q", "--response-cols",
                    "x,y", "--label-col", "win", "-o", str(tmp_path / "o"), "--n-boot", "20")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "o" / "scores.json").read_text())["items_judged"] == 2
