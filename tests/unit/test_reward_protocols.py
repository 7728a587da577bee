"""rlbff, scalar-rm and activation-rm on the fake backend and as pure functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from judgekit.backends.fake import FakeBackend
from judgekit.core.errors import ConfigError
from judgekit.core.runner import Runner
from judgekit.core.types import Prompt, Sample
from judgekit.protocols.activation_rm import mean_direction, project
from judgekit.protocols.base import JudgeConfig, get_protocol
from judgekit.protocols.rlbff import aggregate, split_weight
from judgekit.protocols.scalar_rm import pair_judgment, rm_backend


def _yes_if_good(prompt: Prompt, choices: Sequence[str]) -> Mapping[str, float]:
    text = prompt.as_text()
    response = text.split("## Response", 1)[1].split("## Principle", 1)[0]
    principle = text.split("## Principle", 1)[1]
    if "mute" in response:
        return {c: 0.0 for c in choices}  # no mass on Yes/No
    p = 0.9 if "good" in response else 0.2
    if "concise" in principle:
        p = 0.5
    return {" Yes": p, " No": 1 - p}


def _rlbff(name: str, *principles: str) -> tuple[object, Runner]:
    config = JudgeConfig(method="logit", principles=principles)
    return get_protocol(name, config), Runner(backend=FakeBackend(choice_responder=_yes_if_good))


def test_rlbff_weighted_mean_per_principle_and_pairwise_verdict() -> None:
    proto, runner = _rlbff("rlbff", "Is correct (weight 3)", "Is concise")
    [j] = proto.judge([Sample(id="1", prompt="q", responses=("a good one", "a bad one"))], runner)  # type: ignore[attr-defined]
    assert j.verdict == "A"
    assert j.scores == pytest.approx(((3 * 0.9 + 0.5) / 4, (3 * 0.2 + 0.5) / 4))
    per = j.extra["rlbff"][0]["principles"]
    assert [(r["principle"], r["weight"]) for r in per] == [("Is correct", 3.0), ("Is concise", 1.0)]
    assert j.reward == pytest.approx(0.5 + (j.scores[0] - j.scores[1]) / 2)


def test_rlbff_exact_tie_and_no_mass_are_recorded_not_invented() -> None:
    proto, runner = _rlbff("rlbff", "Is correct")
    tie, mute = proto.judge([Sample(id="t", prompt="q", responses=("good", "good too")),  # type: ignore[attr-defined]
                             Sample(id="m", prompt="q", responses=("mute", "good"))], runner)
    assert tie.verdict == "tie" and tie.extra["tie"] == "exact"
    assert mute.verdict is None and mute.reward is None and mute.parse_failure


def test_rlbff_pointwise_reward_is_the_score_and_defaults_load() -> None:
    proto, runner = _rlbff("rlbff-pointwise")
    assert len(proto.principles()) == 5  # type: ignore[attr-defined]  # bundled rubrics/rlbff_principles.yaml
    [j] = proto.judge([Sample(id="1", prompt="q", responses=("good",))], runner)  # type: ignore[attr-defined]
    assert j.reward == pytest.approx(0.9) and j.extra["reward_is_score"]


def test_rlbff_refuses_generative_and_unknown_options() -> None:
    with pytest.raises(ConfigError, match="logit"):
        get_protocol("rlbff", JudgeConfig(method="generative"))
    with pytest.raises(ConfigError, match="unknown --option"):
        get_protocol("rlbff", JudgeConfig(method="logit", options=(("weigths", "1"),)))


def test_rlbff_helpers() -> None:
    assert split_weight("Be kind (weight 2.5)") == ("Be kind", 2.5)
    assert split_weight("Be kind") == ("Be kind", 1.0)
    assert aggregate([0.5, None, 1.0], [1.0, 5.0, 3.0]) == pytest.approx(0.875)
    assert aggregate([None], [1.0]) is None


def test_scalar_rm_pair_judgment_is_order_free_with_exact_ties() -> None:
    a = pair_judgment("x", 2.0, 1.0)
    assert a.verdict == "A" and a.reward == pytest.approx(1 / (1 + 2.718281828459045 ** -1))
    assert pair_judgment("x", 1.0, 2.0).verdict == "B"
    tie = pair_judgment("x", 1.5, 1.5)
    assert tie.verdict == "tie" and tie.extra["tie"] == "exact" and tie.reward == 0.5


def test_scalar_rm_needs_a_reward_model_backend_and_refuses_options() -> None:
    with pytest.raises(ConfigError, match="sequence-classification"):
        rm_backend(Runner(backend=FakeBackend()))
    with pytest.raises(ConfigError, match="deterministic"):
        get_protocol("scalar-rm", JudgeConfig(samples=2, temperature=0.7))
    with pytest.raises(ConfigError, match="unknown --option"):
        get_protocol("scalar-rm", JudgeConfig(options=(("foo", "1"),)))


def test_activation_direction_and_projection() -> None:
    d = mean_direction([[1.0, 0.0], [3.0, 2.0]], [[0.0, 0.0], [1.0, 0.0]])
    assert d == [1.5, 1.0]
    assert project([3.0, 2.0], d) == pytest.approx((4.5 + 2.0) / (1.5 ** 2 + 1) ** 0.5)
    assert project([1.0, 1.0], [0.0, 0.0]) == 0.0


def test_activation_rm_refuses_missing_fewshot_and_unknown_options(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="fewshot"):
        get_protocol("activation-rm", JudgeConfig())
    shots = tmp_path / "shots.jsonl"
    shots.write_text('{"id": "s1", "prompt": "q", "chosen": "good", "rejected": "bad"}\n')
    with pytest.raises(ConfigError, match="unknown --option"):
        get_protocol("activation-rm", JudgeConfig(options=(("fewshot", str(shots)), ("layr", "3"))))
    proto = get_protocol("activation-rm", JudgeConfig(options=(("fewshot", str(shots)),)))
    with pytest.raises(ConfigError, match="few-shot file"):
        proto.check_samples([Sample(id="s1", prompt="other", responses=("a", "b"))])
