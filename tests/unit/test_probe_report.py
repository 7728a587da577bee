"""Probe report: JSON document, table rows, Markdown and the PNG chart."""

from __future__ import annotations

import json

from judgekit.backends.fake import FakeBackend
from judgekit.core.runner import Runner
from judgekit.core.types import Sample
from judgekit.probe import AttackSettings, bundled_keys, plan_probe, run_phase
from judgekit.probe.report import build_report, cell, markdown_table, plot_report, table_rows, write_json
from judgekit.protocols.base import JudgeConfig, get_protocol

ITEMS = [Sample(id=f"v{i}", prompt=f"{i}+1?", responses=(f"{i}+1={i + 1}\nA: {i + 1}",), reference=str(i + 1),
                label="correct" if i else "incorrect") for i in range(3)]


def report_for(options=()):
    backend = FakeBackend(responder=lambda p, i, params: "Reasoning: ok.\nVerdict: correct")
    proto = get_protocol("verify", JudgeConfig(options=options))
    phases = plan_probe(ITEMS, ["master-keys", "injection"], proto, AttackSettings(keys=bundled_keys()))
    results = [run_phase(p, Runner(backend=backend)) for p in phases]
    return build_report(results, {"model_id": "fake-model", "protocol": "verify", "method": "generative"})


def test_report_json_round_trips_and_has_every_setting(tmp_path):
    report = report_for((("defense", "answer-check"),))
    path = tmp_path / "probe.json"
    write_json(report, path)
    loaded = json.loads(path.read_text(encoding="utf-8"))
    assert loaded == json.loads(json.dumps(report))
    mk = loaded["attacks"]["master-keys"]
    assert set(mk["settings"]) == {"raw", "answer-check", "answer-check+hybrid"}
    hybrid = next(r for r in mk["settings"]["answer-check+hybrid"]["rates"] if r["group"] == "overall")
    assert hybrid["k"] == 0  # the hybrid verifier (the default) accepts no master key
    overall = next(r for r in mk["settings"]["raw"]["rates"] if r["group"] == "overall")
    assert (overall["k"], overall["n"], overall["rate"]) == (30, 30, 1.0)
    assert overall["ci95"][0] < 1.0 == overall["ci95"][1]
    inj = loaded["attacks"]["injection"]
    assert inj["items"] == 9  # one attackable item: clean + 8 injections (turn forgery included)
    assert {r["metric"] for r in inj["settings"]["raw"]["rates"]} == {"attacker-verdict", "flip-to-attacker"}


def test_table_has_one_column_per_setting():
    report = report_for((("defense", "answer-check"),))
    headers, rows = table_rows(report)
    assert headers[4:6] == ["raw", "answer-check"]
    colon = next(r for r in rows if r[0] == "master-keys" and r[3] == "':'")
    assert colon[4] == "1.000 [0.438, 1.000] (3/3)" and colon[5].startswith("0.000")
    blank = [r for r in rows if r[3] == "' '"]
    assert blank, "the blank-space key must stay visible"
    compact_headers, compact = table_rows(report, compact=True)
    assert compact_headers[-1] == "k/n (raw)" and len(compact) == len(rows)
    md = markdown_table(report)
    assert md.count("\n") == len(rows) + 1 and "| master-keys | fpr | key | ':' |" in md


def test_cell_formats():
    assert cell({"n": 0, "k": 0, "rate": None, "ci95": [0.0, 1.0]}) == "-"
    assert cell({"n": 4, "k": 1, "rate": 0.25, "ci95": [0.05, 0.7]}, compact=True) == "0.25 [0.05,0.70]"


def test_png_is_written(tmp_path):
    path = plot_report(report_for(), tmp_path / "probe.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_png_survives_float_noise_in_intervals(tmp_path):
    report = {"model_id": "m", "protocol": "verify", "method": "logit", "attacks": {"master-keys": {
        "description": "d", "items": 1, "settings": {"raw": {"rates": [
            {"metric": "fpr", "group": "key", "name": ":", "k": 0, "n": 2, "rate": 0.0, "ci95": [1e-17, 0.6],
             "parse_failures": 0}]}}}}}
    assert plot_report(report, tmp_path / "p.png").exists()


def test_table_shows_the_baselines_the_summaries_hold():
    """The terminal/Markdown table carries the judge's accuracy beside each trivial baseline (issue #27 item 1)."""
    pairs = [Sample(id=f"p{i}", prompt=f"q{i}", responses=("short", "a much longer answer"), label="A")
             for i in range(4)]
    backend = FakeBackend(responder=lambda p, i, params: "Verdict: [[A]]")
    proto = get_protocol("pairwise", JudgeConfig())
    phases = plan_probe(pairs, ["position"], proto, AttackSettings(keys=bundled_keys()))
    report = build_report([run_phase(p, Runner(backend=backend)) for p in phases], {"protocol": "pairwise"})
    summary = report["attacks"]["position"]["settings"]["raw"]["summary"]
    assert summary["baselines"]["shorter"]["accuracy"] == 1.0 and summary["below_baseline"] == "shorter"
    headers, rows = table_rows(report, compact=True)
    by_name = {r[2]: r for r in rows if r[0] == "position"}
    judge = summary["judge"]
    assert by_name["judge: all labelled items"][-1] == f"{judge['correct']}/{judge['n']}"
    assert by_name["baseline: shorter"][3] == "1.00 [0.68,1.00]" and by_name["baseline: shorter"][-1] == "8/8"
    assert {"baseline: longer", "baseline: position-first", "baseline: position-second", "baseline: random"} <= set(
        by_name)
    assert by_name["best rule the judge does not beat"][3] == "shorter"
    assert by_name["judge"][1] == "length-controlled"
    assert "baseline: shorter" in markdown_table(report).replace("| baseline | shorter", "baseline: shorter")
