"""Rubric schema validation, YAML round trips, and generate -> filter -> save -> load -> judge."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from judgekit.backends.fake import FakeBackend
from judgekit.cli import app
from judgekit.core.runner import Runner
from judgekit.core.types import GenerationParams, Prompt, Sample
from judgekit.protocols import JudgeConfig, get_protocol
from judgekit.protocols.rethink import load_dimensions
from judgekit.protocols.rubric.consistency import generate_rubrics
from judgekit.protocols.rubric.generate import rubric_filename, save_rubrics
from judgekit.protocols.rubric.schema import (
    Rubric,
    RubricError,
    RubricItem,
    load_principles,
    load_rubric,
    parse_rubric_text,
    resolve_rubric_text,
    save_rubric,
)

GOOD = {
    "name": "sum",
    "hard_rules": [{"text": "The response ends with \\boxed{result}.", "weight": 5}],
    "principles": [{"text": "The response adds correctly.", "weight": 4}, "The response is brief."],
}

BAD_FILES = [
    ("- just\n- a list\n", "expected a mapping"),
    ("name: x\n", "needs 'text', 'hard_rules' or 'principles'"),
    ("name: x\nhard_rule: [a]\n", "unknown field(s) hard_rule"),
    ("name: x\nprinciples: The response is good.\n", "field 'principles' must be a list"),
    ("name: x\nprinciples:\n  - {text: The response is good., weight: 0}\n", "principles[0]: weight must be > 0"),
    ("name: x\nprinciples:\n  - {text: The response is good., weight: high}\n", "weight must be a number"),
    ("name: x\nprinciples:\n  - {text: The response is good., wieght: 2}\n", "unknown field(s) wieght"),
    ("name: x\nhard_rules:\n  - 3\n", "hard_rules[0] must be non-empty text"),
    ("name: ''\ntext: be nice\n", "field 'name' must be non-empty text"),
    ("name: x\ntext: [1, 2]\n", "field 'text' must be text"),
    ("name: x\n  bad: : indentation\n", "invalid YAML"),
]


@pytest.mark.parametrize(("body", "message"), BAD_FILES)
def test_invalid_rubric_files_name_the_problem(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(body)
    with pytest.raises(RubricError) as err:
        load_rubric(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_rubric_yaml_round_trip_and_text_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sum.yaml"
    path.write_text(yaml.safe_dump(GOOD))
    rubric = load_rubric(path)
    assert rubric.hard_rules == (RubricItem("The response ends with \\boxed{result}.", 5.0),)
    assert rubric.principles[1] == RubricItem("The response is brief.", 1.0)
    again = load_rubric(save_rubric(rubric, tmp_path / "copy.yaml"))
    assert again == rubric
    text = resolve_rubric_text(str(path))
    assert "Hard rules (a response that breaks one loses):\n- The response ends with" in text
    back = parse_rubric_text(text, name="sum")
    assert back.hard_rules == rubric.hard_rules and back.principles == rubric.principles


def test_free_text_rubrics_and_principles_files_still_work(tmp_path: Path) -> None:
    assert resolve_rubric_text("helpfulness").startswith("10: fully correct")
    assert resolve_rubric_text("Be correct.") == "Be correct."
    free = parse_rubric_text("Be correct.\n- and brief")
    assert free.text == "Be correct.\n- and brief" and not free.structured
    plist = tmp_path / "p.yaml"
    plist.write_text("principles:\n  - Be honest.\n  - {text: Be brief., weight: 2}\n")
    assert load_principles(plist) == ["Be honest.", "Be brief. (weight 2)"]
    lines = tmp_path / "p.txt"
    lines.write_text("Be honest.\n\nBe brief.\n")
    assert load_principles(lines) == ["Be honest.", "Be brief."]


def test_dimension_file_validation(tmp_path: Path) -> None:
    dims = load_dimensions()
    assert {"correctness", "instruction following", "safety", "factuality"} <= set(dims.names())
    assert dict(dims.query_types).keys() == {"Reasoning", "Chat", "Safety"}
    bad = tmp_path / "d.yaml"
    bad.write_text("dimensions:\n  - {name: Correctness!, description: x}\nquery_types: {Chat: y}\n")
    with pytest.raises(RubricError, match="must be lowercase words"):
        load_dimensions(bad)
    bad.write_text("dimensions: []\n")
    with pytest.raises(RubricError, match="non-empty 'dimensions'"):
        load_dimensions(bad)


# ------------------------------------------------------------------ generate -> filter -> save -> load -> judge
RIGHT, WRONG = "75+48 = 123.", "75+48 = 134."
PAIRS = [
    Sample(id="LLMBar/x#1", prompt="What is 75+48?", responses=(RIGHT, WRONG), label="A"),
    Sample(id="LLMBar/x#2", prompt="Compute 75+48.", responses=(WRONG, RIGHT), label="B"),
    Sample(id="LLMBar/x#3", prompt="Tie?", responses=(RIGHT, RIGHT), label="tie"),
]
USEFUL = "Principle: The response computes 75+48 as 123. (weight 5)\nEnd of rubric"
VAGUE = "Principle: The response is nice. (weight 1)\nEnd of rubric"


def scripted(prompt: Prompt, index: int, params: GenerationParams) -> str:
    """First try writes a vague rubric (judge then always says A: rejected); retries write a useful one."""
    text = prompt.as_text()
    if prompt.template == "rubric_generate":
        assert "## Preferred response" in text and "## Rejected response" in text
        return VAGUE if params.seed == 0 else USEFUL
    if "computes 75+48 as 123" in text:
        user = prompt.messages[-1].content
        letter = "A" if user.index(RIGHT) < user.index(WRONG) else "B"
        return f"P1: {letter}\nReasoning: one sum is right.\nVerdict: [[{letter}]]"
    return "P1: A\nReasoning: both nice.\nVerdict: [[A]]"


def test_rubric_round_trip_generate_filter_save_load_judge(tmp_path: Path) -> None:
    runner = Runner(FakeBackend(responder=scripted))
    report = generate_rubrics(PAIRS, runner, JudgeConfig(), tries=3)
    assert report.counts() == {"prompts": 3, "kept": 2, "rejected": 2, "prompts_without_rubric": 0,
                               "skipped": 1, "tries": 4}
    first = report.outcomes[0]
    assert first.tries == 2 and "attempt 1: verdict tie (consistent=False), label A" in first.rejected[0]
    assert report.outcomes[2].skipped == "no A/B preference label"
    paths = save_rubrics(report, tmp_path / "rubrics")
    assert [p.name for p in paths] == [rubric_filename(s.id) for s in PAIRS[:2]]
    loaded = load_rubric(paths[0])
    assert loaded.principles == (RubricItem("The response computes 75+48 as 123.", 5.0),)
    assert loaded.source["sample_id"] == "LLMBar/x#1" and loaded.source["attempt"] == 2
    # reuse: one file for the whole run, and the folder per sample
    whole = get_protocol("rubric", JudgeConfig(rubric=resolve_rubric_text(str(paths[0]))))
    per_sample = get_protocol("rubric", JudgeConfig(options=(("rubric_dir", str(tmp_path / "rubrics")),
                                                             ("allow_label_rubrics", "true"))))
    for proto in (whole, per_sample):
        judgments = proto.judge(PAIRS[:2], Runner(FakeBackend(responder=scripted)))
        assert [j.verdict for j in judgments] == ["A", "B"] and all(j.consistent for j in judgments)
        assert judgments[0].extra["rubric"]["principles"][0]["text"] == "The response computes 75+48 as 123."
    missing = per_sample.judge(PAIRS[2:], Runner(FakeBackend(responder=scripted)))[0]
    assert not missing.parse_failure and "no rubric file" in missing.extra["skipped"]


def test_rubrics_generate_cli_reports_counts(tmp_path: Path) -> None:
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps({"id": s.id, "prompt": s.prompt, "response_a": s.responses[0],
                                        "response_b": s.responses[1], "label": s.label}) + "\n" for s in PAIRS))
    result = CliRunner().invoke(app, ["rubrics", "generate", str(data), "--backend", "fake", "--tries", "2",
                                      "--out", str(tmp_path / "out"), "--no-cache"])
    assert result.exit_code == 0, result.output
    # the fake default responder writes no rubric items: every try is rejected, nothing is saved
    assert re.search(r"kept\s+\S\s+0\b", result.output) and re.search(r"rejected\s+\S\s+4\b", result.output)
    assert re.search(r"skipped\s+\S\s+1\b", result.output)
    assert not list((tmp_path / "out").glob("*.yaml"))
    bad = CliRunner().invoke(app, ["rubrics", "generate", str(data), "--backend", "fake", "--tries", "0"])
    assert bad.exit_code == 2


def test_rubric_dataclass_to_text_free_form() -> None:
    assert Rubric(name="x", text="Be correct.").to_text() == "Be correct."
