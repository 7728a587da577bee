"""Trivial baselines beside every judge number: scores, length strata, 'below baseline', in summaries and tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgekit.cli import app
from judgekit.cli.common import baseline_rows
from judgekit.core.baselines import (
    baseline_summary,
    baseline_verdicts,
    baselines,
    below_baseline,
    length_strata,
    task_of,
)
from judgekit.core.types import Judgment, Sample

SHORT, LONG = "Paris.", "The capital of France is Paris, a city on the Seine."
PAIRS = [
    Sample(id="p1", prompt="Capital of France?", responses=(SHORT, LONG), label="A"),  # preferred shorter
    Sample(id="p2", prompt="Capital of France??", responses=(LONG, SHORT), label="B"),  # preferred shorter
    Sample(id="p3", prompt="Capital of France???", responses=(LONG, SHORT), label="A"),  # preferred longer
    Sample(id="p4", prompt="Capital?", responses=(SHORT, SHORT), label="tie"),
]


def judged(verdicts: list[str | None]) -> list[Judgment]:
    return [Judgment(sample_id=s.id, verdict=v, reward=None, parse_failure=v is None)
            for s, v in zip(PAIRS, verdicts, strict=True)]


def test_pair_baselines_score_the_shown_order_and_lengths() -> None:
    verdicts = baseline_verdicts(PAIRS, "pairwise")
    assert verdicts["position-first"] == ["A"] * 4
    assert verdicts["longer"] == ["B", "A", "A", "tie"]
    assert verdicts["shorter"] == ["A", "B", "B", "tie"]
    assert verdicts["random"] == baseline_verdicts(PAIRS, "pairwise")["random"]  # seeded: the same every time
    scores = {b.name: b for b in baselines(PAIRS, "pairwise")}
    assert (scores["shorter"].correct, scores["shorter"].n) == (3, 4)
    assert (scores["longer"].correct, scores["position-first"].correct, scores["position-second"].correct) == (2, 2, 1)
    lo, hi = scores["shorter"].ci95
    assert lo < 0.75 < hi
    assert baselines(PAIRS, "pairwise")[0].name == "shorter"  # best first


def test_length_strata_and_length_controlled_accuracy() -> None:
    strata = length_strata(PAIRS, ["A", "B", "B", "tie"])  # right where shorter is preferred, wrong where longer
    assert (strata.shorter.correct, strata.shorter.n, strata.longer.correct, strata.longer.n) == (2, 2, 0, 1)
    assert strata.controlled == pytest.approx(0.5)
    for rule in ("longer", "shorter"):  # any pure length rule is at 0.5 length-controlled
        assert length_strata(PAIRS, baseline_verdicts(PAIRS, "pairwise")[rule]).controlled == pytest.approx(0.5)


def test_a_judge_that_does_not_beat_the_best_baseline_is_flagged() -> None:
    summary = baseline_summary(PAIRS, judged(["A", "A", "A", None]))  # 2 of 4: shorter has 3 of 4
    assert summary["best_baseline"] == "shorter" and summary["below_baseline"] == "shorter"
    assert summary["judge"]["correct"] == 2
    rows = dict(baseline_rows({"accuracy": 0.5, **summary}))
    assert "shorter" in rows["[bold yellow]below baseline[/]"]
    assert rows["length-controlled accuracy"] == "0.750"  # 1/1 longer-preferred, 1/2 shorter-preferred
    better = baseline_summary(PAIRS, judged(["A", "B", "A", "tie"]))
    assert better["below_baseline"] is None
    best = baselines(PAIRS, "pairwise")
    assert below_baseline(best[0], best) is not None  # equal is not beating


def test_verification_baselines_include_the_rules() -> None:
    samples = [
        Sample(id="a", prompt="q", responses=("so 18\nA: 18",), reference="18", label="correct"),
        Sample(id="b", prompt="q", responses=("eighteen",), reference="18", label="correct"),
        Sample(id="c", prompt="q", responses=("A: 26",), reference="18", label="incorrect"),
    ]
    assert task_of(samples) == "verify"
    scores = {b.name: b.correct for b in baselines(samples, "verify")}
    assert scores["rules"] == 3 and scores["last-number"] == 2 and scores["math-verify"] == 2  # rules read words
    assert scores["math-verify-or-last-number"] == 2
    assert scores["always-correct"] == 2 and scores["always-incorrect"] == 1
    assert task_of([Sample(id="x", prompt="q", responses=("r",))]) is None
    assert baseline_summary([Sample(id="x", prompt="q", responses=("r",))], []) == {}


def test_judge_summary_and_table_show_baselines_on_the_fake_backend(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib
    import io

    from rich.console import Console

    app_module = importlib.import_module("judgekit.cli.app")  # the package's `app` attribute is the Typer app

    sink = io.StringIO()  # a wide terminal: the table's third column ("what it means") wraps names at 80
    monkeypatch.setattr(app_module, "out", Console(file=sink, width=240, force_terminal=False))
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps({"id": s.id, "prompt": s.prompt, "response_a": s.responses[0],
                                        "response_b": s.responses[1], "label": s.label}) + "\n" for s in PAIRS))
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["judge", str(data), "--backend", "fake", "--method", "logit", "--no-cache",
                                   "-o", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["baselines"]) == {"position-first", "position-second", "longer", "shorter", "random"}
    assert summary["baselines"]["shorter"]["accuracy"] == 0.75
    assert "length_controlled" in summary["length_strata"]
    table = sink.getvalue()
    assert "baseline: shorter" in table and "length-controlled accuracy" in table


def test_recipe_table_prints_baselines_and_flags_a_model_below_them(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training"))
    import recipe_table

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "heldout_llmbar.jsonl").write_text("".join(
        json.dumps({"id": s.id, "input": s.prompt, "output_1": s.responses[0], "output_2": s.responses[1],
                    "label": {"A": 1, "B": 2, "tie": 1}[s.label or "A"]}) + "\n" for s in PAIRS[:2]))
    res = tmp_path / "eval" / "base" / "llmbar-logit" / "results.jsonl"
    res.parent.mkdir(parents=True)
    res.write_text("".join(json.dumps({"sample_id": s.id, "verdict": "A", "consistent": True, "parse_failure": False})
                           + "\n" for s in PAIRS[:2]))
    recipe_table.main(str(tmp_path), ("base",))
    printed = capsys.readouterr().out
    assert "| base | llmbar | logit | 2 | 0.500 [" in printed and "(below baseline: shorter)" in printed
    assert "| shorter | llmbar | 2 | 1.000 [" in printed
    table = json.loads((tmp_path / "table.json").read_text())
    assert table["_baselines"]["llmbar"]["shorter"]["accuracy"] == 1.0
