"""`judgekit eval` on the real shared sets with the embedded model (small slices, logit mode).

Each benchmark gets its shortest few rows (same published schema) so the whole file
stays near a minute of CPU; the reports are checked for self-containment, for the
numbers of the JSON summary, for well-formed HTML, and (chromium, which CI installs) for rendering to a non-blank page.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judgekit.core.runner import Runner
from judgekit.evaluation.evaluate import run_eval
from judgekit.evaluation.formatting import fmt
from judgekit.protocols.base import JudgeConfig, get_protocol
from tests.screenshot import assert_renders, assert_well_formed, need_chromium

SETS = {  # benchmark -> (file under shared data, text fields that make a row long)
    "llmbar": ("llmbar/llmbar.jsonl", ("input", "output_1", "output_2")),
    "pandalm": ("pandalm/pandalm_testset_v1.jsonl", ("instruction", "input", "response1", "response2")),
    "hhh": ("hhh_alignment/hhh_alignment.jsonl", ("prompt", "chosen", "rejected")),
}
SLICE = 3
EXTERNAL = ("<script", "<link", "@import", 'src="http', "src='http", "url(http", 'href="http')


def shortest_rows(src: Path, fields: tuple[str, ...], k: int, dest: Path) -> Path:
    """Write the ``k`` shortest rows of a JSONL file, unchanged, to ``dest``."""
    rows = [json.loads(line) for line in src.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows.sort(key=lambda r: sum(len(str(r.get(f) or "")) for f in fields))
    dest.write_text("".join(json.dumps(r) + "\n" for r in rows[:k]), encoding="utf-8")
    return dest


@pytest.fixture(scope="module")
def eval_runs(embedded_backend, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Run the three evals once (logit mode, both orders) and hand back their run dirs."""
    from tests.conftest import SHARED_DATA

    base = tmp_path_factory.mktemp("evals")
    runner = Runner(embedded_backend)
    proto = get_protocol("pairwise", JudgeConfig(method="logit"))
    out = {}
    for name, (rel, fields) in SETS.items():
        data = shortest_rows(SHARED_DATA / rel, fields, SLICE, base / f"{name}.jsonl")
        out[name] = run_eval(name, data, proto, runner, base / name, n_boot=300)
    return out


@pytest.mark.parametrize("bench", sorted(SETS))
def test_reports_are_self_contained_and_show_the_json_numbers(bench: str, eval_runs) -> None:  # type: ignore[no-untyped-def]
    result = eval_runs[bench]
    run_dir = result.run_dir
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert "SmolLM2" in manifest["model_id"] and manifest["eval"]["benchmark"] == bench
    rows = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    assert len(rows) == SLICE
    for r in rows:  # real logit-mode judgments: a distribution over A/B/tie, both orders
        assert r["probs"] and sum(r["probs"].values()) == pytest.approx(1.0, abs=1e-4)
        assert len(r["per_order"]) == 2 and r["verdict"] in ("A", "B", "tie")

    page = result.report["html"].read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    for bad in EXTERNAL:
        assert bad not in page, bad
    summary = json.loads(result.report["json"].read_text())
    scores = json.loads((run_dir / "scores.json").read_text())
    assert summary["metrics"] == scores["metrics"] and summary["items_judged"] == SLICE
    shown = [k for k, m in summary["metrics"].items() if m["value"] is not None]
    assert summary["primary"] in shown
    for key in shown:
        assert fmt(summary["metrics"][key]["value"]) in page, key
    if summary["primary_ci"]:
        assert f"{summary['primary_ci'][0]:.3f}" in page and f"{summary['primary_ci'][1]:.3f}" in page
    assert summary["calibration"] and "Reliability diagram" in page  # logit mode adds calibration
    md = result.report["markdown"].read_text()
    assert f"# judgekit report: {bench}" in md and f"| {summary['primary']} | {fmt(summary['primary_value'])} |" in md


def test_report_renders_to_a_non_blank_page(eval_runs, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert_well_formed(eval_runs["pandalm"].report["html"])
    need_chromium()
    assert_renders(eval_runs["pandalm"].report["html"], tmp_path / "shot.png")
