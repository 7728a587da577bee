"""Issue #31 benchmarks end to end on the embedded model: contrast instructions (pairwise) and VerifyBench (verify).

A few short fixture rows each, logit mode: the pipeline judges every unit, reads the
verdicts back and scores them with the upstream rule; no accuracy is asserted.
"""

from __future__ import annotations

import json
from pathlib import Path

from judgekit.core.runner import Runner
from judgekit.evaluation.evaluate import run_eval
from judgekit.protocols.base import JudgeConfig, get_protocol

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "benchmarks"


def test_contrast_and_verifybench_on_the_embedded_model(embedded_backend, tmp_path):  # type: ignore[no-untyped-def]
    runner = Runner(embedded_backend)
    contrast = run_eval("contrast", FIX / "contrast_instructions" / "wmt_contrast.json",
                        get_protocol("pairwise", JudgeConfig(method="logit")), runner, tmp_path / "c", limit=1,
                        n_boot=50, report=False)
    s = contrast.scores
    assert s["items_judged"] == 2 and s["items_missing"] == 0 and s["items_skipped"] == 0
    assert s["diagnostics"]["parse_failure_rate"] == 0.0  # logit mode always yields a verdict
    assert {"overall", "mirror", "both", "subset/wmt"} <= set(s["metrics"])
    assert "wilson" in s["metrics"]["subset/wmt"]

    verify = run_eval("verifybench", FIX / "verify_bench.jsonl", get_protocol("verify", JudgeConfig(method="logit")),
                      runner, tmp_path / "v", n_boot=50, report=False)
    v = verify.scores
    assert v["items_judged"] == 4 and v["judging"]["mode"] == "verify"
    rows = [json.loads(line) for line in (tmp_path / "v" / "results.jsonl").read_text().splitlines()]
    assert {r["verdict"] for r in rows} <= {"correct", "incorrect"}
    preds = [d["detail"]["pred"] for d in v["items"]]
    assert v["metrics"]["overall"]["value"] == sum(
        p == d["detail"]["label"] for p, d in zip(preds, v["items"], strict=True)) / 4
