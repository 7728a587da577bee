import json
from pathlib import Path

import pytest

from judgekit.core.types import Judgment, Turn
from judgekit.evaluation.benchmarks import get_benchmark, outcomes_from_judgments, score_benchmark, write_scores
from judgekit.evaluation.report import ReportError, build_summary, compare_runs, fmt, load_run, write_report
from tests.screenshot import assert_renders, assert_well_formed, need_chromium

FIX = Path(__file__).parents[1] / "fixtures" / "benchmarks" / "judgebench_gpt4o.jsonl"
EVIL = '<script>alert("x")</script><img src="http://evil.example/a.png">'


def make_run(run_dir: Path, correct: set[str], with_probs: bool = True) -> dict:
    """An eval run directory as `judgekit eval` writes it, judged by a scripted judge."""
    bench = get_benchmark("judgebench")
    es = bench.load(FIX, None)
    units = es.units("pairwise")
    judgments = []
    for u in units:
        item = u.metadata["item_id"]
        win = u.label if item in correct else ("B" if u.label == "A" else "A")
        probs = {win: 0.8, ("B" if win == "A" else "A"): 0.15, "tie": 0.05} if with_probs else None
        per_order = ({"order": "AB", "ok": True, "label": win}, {"order": "BA", "ok": True, "label": win})
        trace = (Turn("verdict", f"[user]\n{u.prompt}", f"Reasoning for {item}: {EVIL}\nVerdict: [[{win}]]"),)
        judgments.append(Judgment(sample_id=u.id, verdict=win, reward=0.5, per_order=per_order, probs=probs,
                                  consistent=True, trace=trace))
    run_dir.mkdir(parents=True)
    with (run_dir / "results.jsonl").open("w") as fh:
        for j in judgments:
            fh.write(json.dumps(j.to_dict()) + "\n")
    manifest = {"judgekit_run": 1, "model_id": "fake <b>model</b>", "protocol": "pairwise",
                "templates": {"pairwise": "abc123"}, "decoding": {"max_new_tokens": 64, "temperature": 0.0},
                "versions": {"judgekit": "0.1.0"}}
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    (run_dir / "summary.json").write_text(json.dumps({"items": len(units), "parse_failure_rate": 0.0}))
    scores = score_benchmark(bench, es, outcomes_from_judgments(units, [j.to_dict() for j in judgments]), n_boot=200)
    write_scores(run_dir, scores)
    return scores


def test_report_is_self_contained_escaped_and_has_the_numbers(tmp_path):
    scores = make_run(tmp_path / "run", {"p1", "p2", "p3"})
    paths = write_report(tmp_path / "run", n_boot=200)
    page = paths["html"].read_text()
    assert page.startswith("<!DOCTYPE html>")
    # no external assets, no live markup from model output or the manifest
    for bad in ("<script", "<link", "@import", 'src="http', "url(http", "<b>model</b>", '<img src="http'):
        assert bad not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<svg" in page and "<details>" in page
    summary = json.loads(paths["json"].read_text())
    assert summary["primary_value"] == scores["metrics"]["overall"]["value"] == 0.6
    for key in ("overall", "subset/mmlu-pro", "subset/livecodebench"):
        assert fmt(summary["metrics"][key]["value"]) in page
    assert f"{summary['primary_ci'][0]:.3f}" in page
    assert paths["json"].name == "report_summary.json"
    assert summary["judge_summary"]["items"] == 5  # the judging run's summary is copied in ...
    assert json.loads((tmp_path / "run" / "summary.json").read_text()) == {"items": 5, "parse_failure_rate": 0.0}
    assert summary["calibration"]["n"] == 5
    assert summary["calibration"]["ece"] == pytest.approx(abs(0.8 - 0.6))
    assert "Reliability diagram" in page or "Calibration" in page
    md = paths["markdown"].read_text()
    assert "| overall | 0.600 |" in md and "# judgekit report: judgebench" in md
    assert "Incorrect (2)" in page and "Correct (3)" in page
    # ... and left untouched: a second report sees the same judging summary
    write_report(tmp_path / "run", n_boot=50)
    assert json.loads(paths["json"].read_text())["judge_summary"]["items"] == 5


def test_compare_runs_pairs_items_and_flags_significance(tmp_path):
    make_run(tmp_path / "a", {"p1", "p2", "p3", "p4", "p5"}, with_probs=False)
    make_run(tmp_path / "b", set(), with_probs=False)
    make_run(tmp_path / "c", {"p1", "p2", "p3", "p4", "p5"}, with_probs=False)
    comp = compare_runs(tmp_path / "a", tmp_path / "b", n_boot=500, min_n=5)
    m = comp["benchmarks"]["judgebench"]["metrics"]["overall"]
    assert m["diff"] == 1.0 and m["significant"] and m["ci"] == [1.0, 1.0]
    # the default minimum-n rule: 5 paired items are too few to call anything significant
    tiny = compare_runs(tmp_path / "a", tmp_path / "b", n_boot=500)["benchmarks"]["judgebench"]["metrics"]
    assert not tiny["overall"]["significant"] and tiny["overall"]["underpowered"] and tiny["overall"]["n"] == 5
    assert tiny["subset/mmlu-pro"]["n"] < 5  # a subset's number rests on that subset's items only
    same = compare_runs(tmp_path / "a", tmp_path / "c", n_boot=200)["benchmarks"]["judgebench"]["metrics"]["overall"]
    assert same["diff"] == 0.0 and not same["significant"]
    paths = write_report(tmp_path / "a", compare_with=tmp_path / "b", n_boot=200, min_n=5)
    page = paths["html"].read_text()
    assert "Comparison" in page and '<span class="sig">yes</span>' in page
    assert "| judgebench | overall | 1.000 | 0.000 | 1.000 |" in paths["markdown"].read_text()
    page = write_report(tmp_path / "a", compare_with=tmp_path / "b", n_boot=200)["html"].read_text()
    assert "no (n&lt;10)" in page and '<span class="sig">yes</span>' not in page


def test_report_for_a_plain_judge_run_and_errors(tmp_path):
    run = tmp_path / "judge"
    run.mkdir()
    j = Judgment(sample_id="s1", verdict="A", reward=1.0, trace=(Turn("verdict", "p", "out <i>x</i>"),))
    (run / "results.jsonl").write_text(json.dumps(j.to_dict()) + "\n")
    (run / "summary.json").write_text(json.dumps({"accuracy": 1.0, "accuracy_ci95": [0.2, 1.0], "labeled": 1}))
    summary = build_summary(load_run(run))
    assert summary["kind"] == "judge" and summary["primary_value"] == 1.0
    page = write_report(run)["html"].read_text()
    assert "out &lt;i&gt;x&lt;/i&gt;" in page
    with pytest.raises(ReportError, match="no results.jsonl"):
        load_run(tmp_path / "missing")
    with pytest.raises(ReportError, match="scores.json"):
        compare_runs(run, run)


def test_report_html_is_well_formed(tmp_path):
    make_run(tmp_path / "run", {"p1", "p3"})
    counts = assert_well_formed(write_report(tmp_path / "run", n_boot=100)["html"])
    assert counts.get("table", 0) >= 1 and counts.get("svg", 0) + counts.get("img", 0) >= 1


def test_report_renders_in_headless_chromium(tmp_path):
    need_chromium()
    make_run(tmp_path / "run", {"p1", "p3"})
    html_path = write_report(tmp_path / "run", n_boot=100)["html"]
    assert_renders(html_path, tmp_path / "shot.png", timeout=120)
