"""The one test read: eval scripts record it in training/test_reads.jsonl and refuse a silent second read."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _likelihood_module():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "eval"))
    import likelihood_judges

    return likelihood_judges


def _test_read_module():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT / "eval"))
    import likelihood_test_read

    return likelihood_test_read


def _records(n: int) -> list[dict[str, object]]:
    """Pairs where pmi-none is always right and logit always says A; lengths alternate which side is longer."""
    recs = []
    for source in ("llmbar", "pandalm", "adv-neighbor"):
        for k in range(n):
            label = "A" if k % 2 else "B"
            lens = [100, 50] if k % 4 < 2 else [50, 100]
            recs.append({"id": f"{source}:{k}", "source": source, "label": label, "len": lens,
                         "refusal": [0, 0], "scores": {}, "seconds": {},
                         "verdicts": {"pmi-none": label, "logit": "A"}})
    return recs


def test_pairwise_test_read_is_recorded_and_not_repeated_silently(tmp_path: Path) -> None:
    tr = _test_read_module()
    feats = tmp_path / "test.jsonl"
    feats.write_text("".join(json.dumps(r) + "\n" for r in _records(40)), encoding="utf-8")
    reads = tmp_path / "reads.jsonl"
    ns = argparse.Namespace(test=[feats], report=tmp_path / "report.json", reads=reads, again=None, seed=0)
    tr.cmd_test_read(ns)
    (record,) = [json.loads(x) for x in reads.read_text(encoding="utf-8").splitlines()]
    assert record["kind"] == "pairwise" and record["shipped_default"] == "pmi-none"
    assert record["test_pairs"] == 120 and record["per_source"] == {"llmbar": 40, "pandalm": 40, "adv-neighbor": 40}
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    # pmi-none is right on every pair: above every baseline on both shared sources with test pairs, LC 1.0
    assert "beats the best baseline by more than its interval on 2 of the 2 shared sources" in text
    assert "(target: at least three of the four shared sources): not met" in text
    assert "length-controlled accuracy on instruction following (llmbar) 1.000 (target >= 0.60): met" in text
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["mean_length_controlled"]["logit"] == pytest.approx(0.5)
    with pytest.raises(SystemExit, match="read already"):
        tr.cmd_test_read(ns)
    tr.cmd_test_read(argparse.Namespace(**{**vars(ns), "again": "a stated reason"}))
    assert json.loads(reads.read_text(encoding="utf-8").splitlines()[1])["reason_for_another_read"] == "a stated reason"


def test_signal_subsets_and_source_caps_are_checked() -> None:
    lj = _likelihood_module()
    assert lj.parse_signals("pmi-none,logit") == ("pmi-none", "logit")
    assert lj.parse_signals(None) == lj.ALL_SIGNALS
    with pytest.raises(SystemExit, match="unknown pmi-nnoe"):
        lj.parse_signals("pmi-nnoe")
    assert lj.parse_source_caps(["hhh=7000"]) == {"hhh": 7000}
    with pytest.raises(SystemExit, match="not SOURCE=CHARS"):
        lj.parse_source_caps(["hhx=7000"])


def test_verify_test_read_is_recorded_before_judging_and_not_repeated(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(ROOT / "eval"))
    import verify_hybrid

    from judgekit.options import JudgeOptions

    reads = tmp_path / "reads.jsonl"
    monkeypatch.setattr(verify_hybrid, "TEST_READS", reads)
    monkeypatch.setattr(sys, "argv", ["verify_hybrid.py", "--side", "test"])
    args = argparse.Namespace(again=None)
    opts = JudgeOptions(protocol="verify", method="generative")
    plan = [("gsm8k-test", "hybrid", None), ("gsm8k-test", "model", 40)]
    verify_hybrid.record_read(args, opts, plan)
    (record,) = [json.loads(x) for x in reads.read_text(encoding="utf-8").splitlines()]
    assert record["kind"] == "verify"
    assert record["config"] == {"model": "judgekit-135m", "method": "generative",
                                "cells": ["gsm8k-test:hybrid", "gsm8k-test:model:sample40"]}
    with pytest.raises(SystemExit, match="read the test side already"):
        verify_hybrid.record_read(args, opts, plan)
    verify_hybrid.record_read(args, JudgeOptions(protocol="verify", method="logit"), plan)  # another configuration
    assert len(reads.read_text(encoding="utf-8").splitlines()) == 2
