"""Hybrid verification: rules first (math-verify + last number), the model only where they are unsure."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgekit.backends.fake import FakeBackend
from judgekit.cli import app
from judgekit.core.errors import ConfigError
from judgekit.core.formats import VERIFY
from judgekit.core.rule_verify import explicit_answer, last_number, rule_verify, words_to_number
from judgekit.core.runner import Runner
from judgekit.core.types import GenerationParams, Prompt, Sample
from judgekit.options import JudgeOptions, judge_config
from judgekit.protocols import JudgeConfig, get_protocol
from judgekit.reward.policy import PolicyReward, RewardItem, judge_protocol
from tests.policy_fakes import verifier_choices

Q = "Janet sells 16 - 3 - 4 eggs a day at $2 each. How much does she make?"
SOLUTION = "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 eggs.\nShe makes 9 * 2 = $<<9*2=18>>18.\nA: 18"
WRONG = "She has 16 - 3 = <<16-3=13>>13 eggs.\nShe makes 13 * 2 = $<<13*2=26>>26\nA: 26"


@pytest.mark.parametrize(("response", "label", "confident", "rule"), [
    (SOLUTION, "correct", True, "math-verify"),
    ("$18.00", "correct", True, "math-verify"),
    ("The answer is \\boxed{18}.", "correct", True, "math-verify"),
    ("36/2", "correct", True, "math-verify"),
    (WRONG, "incorrect", True, "explicit-answer"),
    ("26", "incorrect", True, "explicit-answer"),
    (":", "incorrect", True, "no-answer"),
    ("Thought process:", "incorrect", True, "no-answer"),
    ("eighteen", "correct", True, "number-words"),
    ("So the answer is twenty-six.", "incorrect", True, "number-words"),
    ("one of them", "incorrect", False, "unsure"),
    ("She sells 9 eggs at 2 dollars each, so eighteen.", "incorrect", False, "unsure"),
])
def test_rule_verdicts_and_their_confidence(response: str, label: str, confident: bool, rule: str) -> None:
    v = rule_verify(response, "18")
    assert (v.label, v.confident, v.rule) == (label, confident, rule)


def test_number_reading() -> None:
    assert last_number("costs $1,200.00 in all") == 1200
    assert last_number("a 45% cut") == 45
    assert last_number("<<3*4=12>>12 then 7") == 7
    assert last_number("no digits") is None
    assert words_to_number("three hundred twenty") == 320 and words_to_number("two point five") == Fraction(5, 2)
    assert words_to_number("a hundred and five dollars") == 105 and words_to_number("one of them") is None
    assert explicit_answer("work 12\n#### 3,000") == "3,000"
    assert explicit_answer("We get 5 apples.") is None


def scripted(p_correct: float) -> FakeBackend:
    """A fake model that says P(correct) = p_correct to everything (so we see which items reach it)."""

    def choices(prompt: Prompt, choices: object) -> dict[str, float]:
        return {VERIFY.logit_choices["correct"]: p_correct, VERIFY.logit_choices["incorrect"]: 1 - p_correct}

    def text(prompt: Prompt, index: int, params: GenerationParams) -> str:
        return f"Reasoning: compared.\nVerdict: {'correct' if p_correct > 0.5 else 'incorrect'}"

    return FakeBackend(responder=text, choice_responder=choices)


SAMPLES = [
    Sample(id="right", prompt=Q, responses=(SOLUTION,), reference="18", label="correct"),
    Sample(id="wrong", prompt=Q, responses=(WRONG,), reference="18", label="incorrect"),
    Sample(id="key", prompt=Q, responses=(":",), reference="18", label="incorrect"),
    Sample(id="words", prompt=Q, responses=("She sells 9 eggs at 2 dollars each, so eighteen.",), reference="18",
           label="correct"),
]


@pytest.mark.parametrize("method", ["generative", "logit"])
def test_hybrid_is_the_default_and_asks_the_model_only_where_the_rules_are_unsure(method: str) -> None:
    backend = scripted(0.9)
    proto = get_protocol("verify", JudgeConfig(method=method))  # type: ignore[arg-type]
    assert proto.config.option("verify_mode") == "hybrid"  # explicit: the manifest and fingerprint carry it
    judgments = proto.judge(SAMPLES, Runner(backend))
    assert [j.verdict for j in judgments] == ["correct", "incorrect", "incorrect", "correct"]
    assert [j.extra["decided_by"] for j in judgments] == ["rule", "rule", "rule", "model"]
    assert [c["prompts"] for c in backend.calls] == [1]  # only the unreadable answer reached the model
    assert judgments[3].extra["rule"]["rule"] == "unsure"
    assert judgments[2].trace[0].name == "rule" and judgments[2].reward == 0.0


def test_rule_and_model_modes() -> None:
    rule = get_protocol("verify", JudgeConfig(options=(("verify_mode", "rule"),)))
    backend = scripted(0.9)
    judged = rule.judge(SAMPLES, Runner(backend))
    assert [j.verdict for j in judged] == ["correct", "incorrect", "incorrect", "incorrect"]
    assert backend.calls == []
    model = get_protocol("verify", JudgeConfig(options=(("verify_mode", "model"),)))
    judged = model.judge(SAMPLES, Runner(backend))
    assert [j.verdict for j in judged] == ["correct"] * 4  # the fake model says correct to everything
    assert all(j.extra["decided_by"] == "model" and "rule" not in j.extra for j in judged)


def test_a_misspelt_mode_is_an_error() -> None:
    with pytest.raises(ConfigError, match="verify-mode"):
        get_protocol("verify", JudgeConfig(options=(("verify_mode", "hybird"),)))
    with pytest.raises(ConfigError, match="applies to -p verify"):
        judge_config(JudgeOptions(protocol="pairwise", verify_mode="rule"))
    assert ("verify_mode", "rule") in judge_config(JudgeOptions(protocol="verify", verify_mode="rule")).options


def reward_of(completions: list[str], mode: str | None = None) -> list[float | None]:
    options = () if mode is None else (("verify_mode", mode),)
    reward = PolicyReward(judge_protocol("verify", JudgeConfig(method="logit", options=options)),
                          Runner(backend=FakeBackend(choice_responder=verifier_choices)))
    return reward.rewards([RewardItem(str(i), Q, c, "18") for i, c in enumerate(completions)])


def test_hybrid_reward_pays_correct_solutions_and_nothing_for_content_free_or_wrong_ones() -> None:
    assert reward_of([SOLUTION, ":", WRONG, "Thought process:"]) == [1.0, 0.0, 0.0, 0.0]
    # the raw (fake) model alone pays a bare ":" nearly half
    assert reward_of([SOLUTION, ":", WRONG], mode="model") == pytest.approx([0.9, 0.45, 0.2])


def test_cli_reward_without_protocol_uses_the_hybrid_verifier(tmp_path: Path) -> None:
    rows = [{"id": "right", "prompt": Q, "completion": SOLUTION, "reference": "18"},
            {"id": "key", "prompt": Q, "completion": ":", "reference": "18"},
            {"id": "wrong", "prompt": Q, "completion": WRONG, "reference": "18"}]
    data = tmp_path / "rollouts.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["reward", str(data), "--method", "logit", "--backend", "fake", "--no-cache",
                                   "-o", str(out)])
    assert res.exit_code == 0, res.output
    written = [json.loads(line) for line in (out / "rewards.jsonl").read_text().splitlines()]
    assert [w["reward"] for w in written] == [1.0, 0.0, 0.0]
    judge = json.loads((out / "manifest.json").read_text())["judge"]
    assert judge["protocol"] == "verify" and judge["config"]["options"]["verify_mode"] == "hybrid"


def test_judge_cli_records_the_mode_and_prints_baselines(tmp_path: Path) -> None:
    data = tmp_path / "v.jsonl"
    data.write_text("".join(json.dumps({"id": s.id, "question": s.prompt, "response": s.responses[0],
                                        "reference": s.reference, "label": s.label}) + "\n" for s in SAMPLES))
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["judge", str(data), "-p", "verify", "--verify-mode", "model", "--method",
                                   "logit", "--backend", "fake", "--no-cache", "-o", str(out)])
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["options"]["verify_mode"] == "model"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["baselines"]["rules"]["accuracy"] == 0.75
    assert "baseline: rules" in res.output
