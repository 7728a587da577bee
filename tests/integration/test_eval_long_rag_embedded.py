"""Long-RewardBench and RAG-RewardBench end to end on the embedded model (logit mode, a few fixture rows).

Long-RewardBench's 14k-word Cite context does not fit SmolLM2-135M's context: it must be
skipped and counted (never truncated) while the short rows are judged; no accuracy is asserted.
"""

from __future__ import annotations

from pathlib import Path

from judgekit.core.runner import Runner
from judgekit.evaluation.evaluate import run_eval
from judgekit.protocols.base import JudgeConfig, get_protocol

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "benchmarks"


def test_long_and_rag_rewardbench_on_the_embedded_model(embedded_backend, tmp_path):  # type: ignore[no-untyped-def]
    runner = Runner(embedded_backend)
    logit = get_protocol("pairwise", JudgeConfig(method="logit"))
    long = run_eval("longrewardbench", FIX / "longrewardbench", logit, runner, tmp_path / "long", limit=1,
                    n_boot=50, report=False)
    s = long.scores
    assert [d["item_id"] for d in s["items"]] == ["LongQA:0", "Safety:0", "Cite:0"]
    assert s["items_skipped"] == 1 and "context" in s["diagnostics"]["skipped_reason"]
    cite = next(d for d in s["items"] if d["item_id"] == "Cite:0")
    assert cite["credit"] == 0.0 and cite["detail"]["pred"] is None
    judged = [d for d in s["items"] if d["item_id"] != "Cite:0"]
    assert all(d["detail"]["pred"] in ("A", "B", "tie") for d in judged)  # logit mode always reads a verdict
    assert {"overall", "pairwise", "same", "diff", "length/16k"} <= set(s["metrics"])

    rag = run_eval("ragrewardbench", FIX / "ragrewardbench" / "Dataset" / "reason.jsonl", logit, runner,
                   tmp_path / "rag", n_boot=50, report=False)
    r = rag.scores
    assert r["items_judged"] == 2 and r["items_skipped"] == 0
    assert r["diagnostics"]["parse_failure_rate"] == 0.0
    assert set(r["metrics"]) >= {"overall", "macro", "subset/reason"}
