"""PPE (human, correctness) and Libra Bench end to end on the embedded model, a few fixture items each.

Logit mode where the protocol has it: the pipeline judges every unit, reads the verdicts
back and scores them with the benchmark's rule; no accuracy is asserted.
"""

from __future__ import annotations

from pathlib import Path

from judgekit.core.runner import Runner
from judgekit.evaluation.evaluate import run_eval
from judgekit.protocols.base import JudgeConfig, get_protocol

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "benchmarks"


def test_ppe_and_libra_on_the_embedded_model(embedded_backend, tmp_path):  # type: ignore[no-untyped-def]
    runner = Runner(embedded_backend)
    human = run_eval("ppe_human", FIX / "ppe_human_preference_v1.jsonl",
                     get_protocol("pairwise", JudgeConfig(method="logit")), runner, tmp_path / "h", limit=2,
                     n_boot=50, report=False)
    s = human.scores
    assert s["items_judged"] == 2 and s["diagnostics"]["parse_failure_rate"] == 0.0
    assert any("voted tie" in n for n in s["notes"]) and "wilson" in s["metrics"]["overall"]

    pairs = run_eval("ppe_correctness", FIX / "ppe_correctness" / "math_best_of_k.jsonl",
                     get_protocol("pairwise", JudgeConfig(method="logit")), runner, tmp_path / "c", n_boot=50,
                     report=False)
    c = pairs.scores
    assert c["items_judged"] == 1 and c["diagnostics"]["comparisons"] == 3
    item = c["items"][0]["detail"]
    assert c["metrics"]["subset/math"]["value"] == item["pairs_right"] / 3

    libra = run_eval("librabench", FIX / "librabench.jsonl",
                     get_protocol("verify", JudgeConfig(method="logit", options=(("verify_mode", "model"),))),
                     runner, tmp_path / "l", limit=2, n_boot=50, report=False)
    v = libra.scores
    assert v["items_judged"] == 2 and v["judging"]["mode"] == "verify"
    preds = [d["detail"]["pred"] for d in v["items"]]
    assert set(preds) <= {"correct", "incorrect"}
    assert v["metrics"]["subset/MATH500"]["value"] == sum(
        p == d["detail"]["label"] for p, d in zip(preds, v["items"], strict=True)) / 2
