"""The judging spine end to end on the real embedded model (small slices)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from judgekit.data import load_samples
from judgekit.formats import PAIRWISE, POINTWISE, VERIFY
from judgekit.judge import run_judge
from judgekit.protocols.base import JudgeConfig, get_protocol
from judgekit.runner import Runner

ROOT = Path(__file__).resolve().parents[2]


def llmbar(shared_data: Path, n: int = 3):  # type: ignore[no-untyped-def]
    rows = load_samples(shared_data / "llmbar" / "llmbar.jsonl", "pairwise")
    return sorted(rows, key=lambda s: len(s.prompt) + sum(map(len, s.responses)))[:n]


def gsm8k(shared_data: Path, n: int = 3):  # type: ignore[no-untyped-def]
    return load_samples(shared_data / "gsm8k_verification" / "gsm8k_verification.jsonl", "verify", limit=n)


def raw_outputs(judgment) -> list[str]:  # type: ignore[no-untyped-def]
    return [text for turn in judgment.trace for text in turn.parsed["raw"]]


def test_pairwise_constrained_never_fails(embedded_backend, shared_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    proto = get_protocol("pairwise", JudgeConfig(max_new_tokens=72))
    result = run_judge(llmbar(shared_data), proto, Runner(embedded_backend), tmp_path)
    for j in result.judgments:
        assert not j.parse_failure and j.verdict in ("A", "B", "tie") and j.consistent is not None
        for text in raw_outputs(j):
            assert re.fullmatch(PAIRWISE.regex, text), text
    assert result.summary["parse_failure_rate"] == 0.0


def test_pairwise_logit_probabilities(embedded_backend, shared_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    proto = get_protocol("pairwise", JudgeConfig(method="logit"))
    result = run_judge(llmbar(shared_data), proto, Runner(embedded_backend), tmp_path)
    for j in result.judgments:
        assert j.probs is not None and sum(j.probs.values()) == pytest.approx(1.0, abs=1e-4)
        assert 0.0 <= (j.reward or 0.0) <= 1.0 and j.verdict in ("A", "B", "tie")


def test_verify_generative_and_logit(embedded_backend, shared_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    samples = gsm8k(shared_data)
    gen = run_judge(samples, get_protocol("verify", JudgeConfig(max_new_tokens=72)), Runner(embedded_backend),
                    tmp_path / "g")
    for j in gen.judgments:
        assert j.verdict in ("correct", "incorrect") and j.reward in (0.0, 1.0)
        assert all(re.fullmatch(VERIFY.regex, t) for t in raw_outputs(j))
    logit = run_judge(samples, get_protocol("verify", JudgeConfig(method="logit")), Runner(embedded_backend),
                      tmp_path / "l")
    for j in logit.judgments:
        assert j.probs and j.probs["correct"] + j.probs["incorrect"] == pytest.approx(1.0, abs=1e-4)
        assert j.reward == pytest.approx(j.probs["correct"])


def test_pointwise_scores_in_range(embedded_backend, shared_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = JudgeConfig(max_new_tokens=72, rubric="Correct and follows the instruction.")
    result = run_judge(llmbar(shared_data, 2), get_protocol("pointwise", cfg), Runner(embedded_backend), tmp_path)
    for j in result.judgments:
        assert j.scores is not None and all(1 <= s <= 10 for s in j.scores)
        assert all(re.fullmatch(POINTWISE.regex, t) for t in raw_outputs(j))


def test_free_decoding_counts_failures_honestly(embedded_backend, shared_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    proto = get_protocol("pairwise", JudgeConfig(max_new_tokens=48, constrain=False))
    result = run_judge(llmbar(shared_data), proto, Runner(embedded_backend), tmp_path)
    for j in result.judgments:
        assert j.parse_failure == (j.verdict is None)
        if j.parse_failure:
            assert j.failure_reason and j.reward is None
    assert result.summary["parse_failures"] == sum(j.parse_failure for j in result.judgments)


def test_cli_default_model_on_bundled_example(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`judgekit judge examples/pairs.jsonl` with the embedded default model (2 items for time)."""
    from typer.testing import CliRunner

    from judgekit.cli import app

    out = tmp_path / "run"
    args = ["judge", str(ROOT / "examples" / "pairs.jsonl"), "--limit", "2", "--max-new-tokens", "48", "-o", str(out)]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["backend"]["model_id"] and manifest["versions"]["torch"]
    assert len((out / "results.jsonl").read_text().splitlines()) == 2
