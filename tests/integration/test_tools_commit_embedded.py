"""tool-verify and commit-first end to end on the embedded model, on a few shared GSM8K items.

Nothing asserts accuracy (the 135M model is a weak judge and does not use the tools):
every item comes back complete, the verdict turn is well-formed, every turn is recorded.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from judgekit.core.data import load_samples
from judgekit.core.formats import VERIFY
from judgekit.core.runner import Runner
from judgekit.judge import run_judge
from judgekit.protocols.base import JudgeConfig, get_protocol
from judgekit.protocols.tooluse import VERIFY_LINE

CASES = {
    # protocol: (options, turn names, verdict regex)
    "tool-verify": (
        (("tools", "calc,python"), ("max_tool_calls", 1)), ["tool-reasoning", "verdict"], VERIFY_LINE.regex),
    "commit-first": ((("answer_tokens", 48),), ["commit", "verdict"], VERIFY.regex),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_protocol_end_to_end(name: str, embedded_backend, shared_data: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                             request: pytest.FixtureRequest) -> None:
    if name == "tool-verify":
        request.getfixturevalue("python_sandbox")  # tools=calc,python needs the OS sandbox
    options, names, regex = CASES[name]
    samples = load_samples(shared_data / "gsm8k_verification" / "gsm8k_verification.jsonl", "verify", limit=2)
    config = JudgeConfig(max_new_tokens=48, options=options)
    result = run_judge(samples, get_protocol(name, config), Runner(embedded_backend), tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert [r["sample_id"] for r in rows] == [s.id for s in samples]
    for row, sample in zip(rows, samples, strict=True):
        assert "skipped" not in row["extra"], row["extra"]
        if row["parse_failure"]:
            assert row["verdict"] is None and row["failure_reason"]
        else:
            assert row["verdict"] in ("correct", "incorrect")
        assert [t["name"] for t in row["trace"]] == names
        first, verdict = row["trace"]
        if verdict["parsed"]["finish_reasons"] != ["length"]:
            assert re.fullmatch(regex, verdict["output"]), verdict["output"]
        if name == "tool-verify":
            assert first["output"] in verdict["prompt"]  # the verdict continues the reasoning
            calls = first["parsed"]["calls"]
            assert row["extra"]["tool_calls"] == sum(c["executed"] for c in calls) <= 1
            assert first["parsed"]["end"] in ("stopped", "length", "call budget")
        else:
            assert sample.responses[0] not in first["prompt"]  # the candidate comes only in turn 2
            assert first["output"] in verdict["prompt"] and sample.responses[0] in verdict["prompt"]
            assert row["extra"]["reference_shown"] is False
    assert result.summary["items"] == len(samples)
