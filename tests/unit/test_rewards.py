"""Reward functions: the same verdicts as the eval parser, turned into RL rewards."""

from __future__ import annotations

import math

import pytest

from judgekit.backends.fake import FakeBackend
from judgekit.core.errors import ConfigError
from judgekit.core.runner import Runner
from judgekit.core.types import Sample
from judgekit.protocols.base import JudgeConfig, get_protocol
from judgekit.train.rewards import (
    JudgeReward,
    RewardConfig,
    completion_text,
    consistency_terms,
    grade,
    load_reward_configs,
    resolve_format,
)

# (case, completion, expected kind) for a pairwise item whose label is A (shown order AB).
PAIRWISE_TABLE = [
    ("correct", "Reasoning: A follows the instruction, B ignores it.\nVerdict: [[A]]", "correct"),
    ("wrong", "Reasoning: B is friendlier.\nVerdict: [[B]]", "wrong"),
    ("tie when A is better", "Reasoning: both are fine.\nVerdict: [[tie]]", "wrong"),
    ("both verdicts", "Reasoning: hard to say.\nVerdict: [[A]] or [[B]]", "violation"),
    ("no verdict", "Reasoning: both responses answer the question in some way.", "violation"),
    ("truncated mid reasoning", "Reasoning: Response A lists three items while Response B lis", "violation"),
    ("truncated in the verdict", "Reasoning: A is correct.\nVerdict: [[", "violation"),
    ("format violation: unknown label", "Reasoning: neither.\nVerdict: [[C]]", "violation"),
    ("empty output", "", "violation"),
    ("quoted verdict earlier", "Reasoning: B writes 'Verdict: [[B]]' as text.\nVerdict: [[A]]", "correct"),
    ("loose verdict line", "Reasoning: A is right.\nVerdict: A", "correct"),
]

VALUES = {"correct": 1.0, "wrong": -1.0, "violation": -2.0}


def _judge_once(text: str, label: str = "A") -> tuple[str | None, bool]:
    """Run the real pairwise protocol (single order) on a scripted output: (verdict, parse_failure)."""
    proto = get_protocol("pairwise", JudgeConfig(both_orders=False))
    backend = FakeBackend(responder=lambda prompt, index, params: text)
    sample = Sample(id="x", prompt="List three fruits.", responses=("apple, pear, fig", "apple"), label=label)
    judgment = proto.judge([sample], Runner(backend=backend))[0]
    return judgment.verdict, judgment.parse_failure


@pytest.mark.parametrize(("case", "text", "kind"), PAIRWISE_TABLE, ids=[c for c, _, _ in PAIRWISE_TABLE])
def test_pairwise_reward_table_matches_eval_parser(case: str, text: str, kind: str) -> None:
    reward = JudgeReward(RewardConfig(format="pairwise"))
    assert reward([text], label=["A"]) == [VALUES[kind]]
    verdict, failed = _judge_once(text)
    outcome = grade(text, "A", reward.config)
    assert outcome.kind == kind
    # the eval path and the reward path read the same thing
    assert failed == (kind == "violation")
    assert verdict == outcome.verdict
    assert (verdict == "A") == (kind == "correct")


def test_chat_message_completions_equal_string_completions() -> None:
    reward = JudgeReward()
    texts = [t for _, t, _ in PAIRWISE_TABLE]
    as_messages = [[{"role": "assistant", "content": t}] for t in texts]
    labels = ["A"] * len(texts)
    assert reward(as_messages, label=labels) == reward(texts, label=labels)
    assert completion_text({"role": "assistant", "content": "x"}) == "x"


def test_labels_are_read_in_every_dataset_spelling() -> None:
    reward = JudgeReward()
    text = "Reasoning: B is right.\nVerdict: [[B]]"
    assert reward([text] * 4, label=["B", "2", 2, "b"]) == [1.0] * 4
    assert reward([text], label=[None]) == [None]
    with pytest.raises(ConfigError, match="pairwise label"):
        reward([text], label=["maybe"])
    with pytest.raises(ConfigError, match="label"):
        reward([text])


def test_strict_format_penalises_parsable_but_off_format_output() -> None:
    strict = JudgeReward(RewardConfig(strict=True))
    lenient = JudgeReward(RewardConfig(strict=False))
    off_format = "Reasoning: A is right.\nVerdict: A"  # parses, but not the constrained form
    trailing = "Reasoning: A is right.\nVerdict: [[A]]\nThanks for asking!"
    exact = "Reasoning: A is right.\nVerdict: [[A]]"
    assert lenient([off_format, trailing, exact], label=["A"] * 3) == [1.0, 1.0, 1.0]
    assert strict([off_format, trailing, exact], label=["A"] * 3) == [-2.0, -2.0, 1.0]


@pytest.mark.parametrize(
    ("text", "label", "expected"),
    [
        ("Reasoning: both give 42.\nVerdict: correct", True, 1.0),
        ("Reasoning: both give 42.\nVerdict: correct", "incorrect", -1.0),
        ("Reasoning: 41 vs 42.\nVerdict: incorrect", False, 1.0),
        ("Reasoning: unsure.\nVerdict: correct or incorrect", True, -2.0),
        ("The answer looks right to me.", True, -2.0),
    ],
)
def test_verify_rewards(text: str, label: object, expected: float) -> None:
    reward = JudgeReward(RewardConfig(format="verify"))
    assert reward([text], label=[label]) == [expected]
    proto = get_protocol("verify", JudgeConfig(options=(("verify_mode", "model"),)))  # the model parses
    sample = Sample(id="v", prompt="6*7?", responses=("42",), reference="42", label=None)
    judgment = proto.judge([sample], Runner(backend=FakeBackend(responder=lambda p, i, k: text)))[0]
    assert judgment.parse_failure == (expected == -2.0)


def test_protocol_format_rm_r1_is_used_as_is() -> None:
    reward = JudgeReward(RewardConfig(format="rm-r1"))
    good = "Type: Chat\nRubric: follow the list.\nEvaluation: A lists three.\n<answer>[[A]]</answer>"
    assert reward([good, good + " extra", good.replace("[[A]]", "[[B]]")], label=["A"] * 3) == [1.0, -2.0, -1.0]
    assert resolve_format("rm-r1").name == "rm-r1"


def test_length_term_only_beyond_target() -> None:
    config = RewardConfig(length_target=10, length_penalty=0.5)
    reward = JudgeReward(config)
    short = "Reasoning: A is right.\nVerdict: [[A]]"
    long = "Reasoning: " + "very " * 30 + "right.\nVerdict: [[A]]"
    out = reward([short, long], label=["A", "A"])
    assert out[0] == 1.0
    assert math.isclose(out[1], 0.5)  # capped at the full penalty


def test_consistency_bonus_unswaps_before_comparing() -> None:
    reward = JudgeReward(RewardConfig(consistency=0.5))
    a, b = "Reasoning: x.\nVerdict: [[A]]", "Reasoning: x.\nVerdict: [[B]]"
    # item 1: AB says A, BA says B (= A unswapped): consistent. item 2: AB says A, BA says A: not.
    out = reward([a, b, a, a], label=["A", "B", "A", "B"], item_id=[1, 1, 2, 2], swapped=[False, True, False, True])
    assert out == [1.5, 1.5, 1.0, -1.0]
    assert consistency_terms(["A", None], [1, 1], None, 1.0) == [0.0, 0.0]


def test_yaml_config_round_trip_and_validation(tmp_path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        "rewards:\n  - name: verdict\n    format: verify\n    violation: -3\n"
        "  - name: brevity\n    length_target: 50\n    length_penalty: 0.2\n    weight: 0.5\n"
    )
    configs = load_reward_configs(path)
    assert [c.name for c in configs] == ["verdict", "brevity"]
    assert configs[0].violation == -3 and configs[1].weight == 0.5
    with pytest.raises(ConfigError, match="unknown reward setting"):
        load_reward_configs({"reward": {"corect": 1}})
    with pytest.raises(ConfigError, match="must not exceed wrong"):
        load_reward_configs({"reward": {"violation": 0.5}})
    with pytest.raises(ConfigError, match="unknown reward format"):
        load_reward_configs({"reward": {"format": "nope"}})
    assert load_reward_configs(None) == [RewardConfig()]
