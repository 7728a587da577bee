"""Every literature protocol end to end on the real embedded model, on a few LLMBar items.

The 135M model is a weak judge, so nothing here asserts accuracy: it asserts that
every item comes back complete (a verdict or a recorded failure with its reason),
that constrained turns are well-formed, and that every turn is recorded.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from judgekit.core.data import load_samples
from judgekit.core.runner import Runner
from judgekit.judge import run_judge
from judgekit.protocols.base import JudgeConfig, get_protocol
from judgekit.protocols.chain_rubrics import RMR1
from judgekit.protocols.rethink import BOXED, branch_regex, load_dimensions
from judgekit.protocols.rubric.generate import GENERATE_REGEX
from judgekit.protocols.rubric.protocol import rubric_format
from judgekit.protocols.spct import spct_format

PRINCIPLE = "Prefer the response whose final answer is arithmetically correct."


def llmbar(shared_data: Path, n: int = 2):  # type: ignore[no-untyped-def]
    rows = load_samples(shared_data / "llmbar" / "llmbar.jsonl", "pairwise")
    return sorted(rows, key=lambda s: len(s.prompt) + sum(map(len, s.responses)))[:n]


def rubric_regex(row: dict[str, Any]) -> str:
    rubric = row["extra"]["rubric"]
    return rubric_format(len(rubric.get("hard_rules", [])), len(rubric.get("principles", []))).regex


EXPECTED = {
    # protocol: (config overrides, turn name -> regex (or a function of the result row))
    "br-rm": ({}, {"branch": branch_regex(load_dimensions()), "rethink": BOXED.regex}),
    "spct": ({}, {"critique": spct_format(2).regex}),
    "rm-r1": ({}, {"chain-of-rubrics": RMR1.regex}),
    "rubric": ({"options": (("rubric", "generate"),)}, {"rubric-generate": GENERATE_REGEX,
                                                         "rubric-judge": rubric_regex}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_protocol_end_to_end(name: str, embedded_backend, shared_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    overrides, regexes = EXPECTED[name]
    config = JudgeConfig(max_new_tokens=160, principles=(PRINCIPLE,), **overrides)  # type: ignore[arg-type]
    samples = llmbar(shared_data)
    result = run_judge(samples, get_protocol(name, config), Runner(embedded_backend), tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert [r["sample_id"] for r in rows] == [s.id for s in samples]
    assert json.loads((tmp_path / "manifest.json").read_text())["protocol"]
    for row in rows:
        assert "skipped" not in row["extra"], row["extra"]
        assert row["extra"]["principles"] == [PRINCIPLE]
        # complete: a verdict, or a recorded failure with its reason
        if row["parse_failure"]:
            assert row["verdict"] is None and row["failure_reason"]
        else:
            assert row["verdict"] in ("A", "B", "tie") and row["consistent"] is not None
        # recorded: every turn of both orders, with its prompt (principle included) and output
        names = [t["name"] for t in row["trace"]]
        assert set(names) == set(regexes) and len(names) >= 2
        for turn in row["trace"]:
            assert PRINCIPLE in turn["prompt"] and turn["output"].strip()
            regex = regexes[turn["name"]]
            pattern = regex(row) if callable(regex) else regex
            finish = turn["parsed"].get("finish_reason") or turn["parsed"].get("finish_reasons", ["stop"])[0]
            # well-formed: constrained decoding gives exactly the format unless the budget ran out
            if finish != "length":
                assert re.fullmatch(pattern, turn["output"]), (name, turn["name"], turn["output"])
    summary = result.summary
    assert summary["items"] == len(samples)
    assert summary["parse_failure_rate"] is not None


def test_spct_scores_and_brrm_reward_on_real_outputs(embedded_backend, shared_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    samples = llmbar(shared_data)
    spct = get_protocol("spct", JudgeConfig(max_new_tokens=160)).judge(samples, Runner(embedded_backend))
    for j in spct:
        if not j.parse_failure:
            assert j.scores is not None and len(j.scores) == 2 and all(1 <= s <= 10 for s in j.scores)
            assert all(len(p["principles"]) >= 1 and p["critique"] for p in j.per_order)
    brrm = get_protocol("br-rm", JudgeConfig(max_new_tokens=160, options=(("format_reward", "-100"),)))
    for j in brrm.judge(samples, Runner(embedded_backend)):
        assert j.reward == -100.0 if j.extra["format_violation"] else j.reward in (0.0, 0.5, 1.0)
