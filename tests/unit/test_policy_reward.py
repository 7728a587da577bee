"""A judge as a policy reward: library, TRL (sync + async), verl and ``judgekit reward`` on real GSM8K rows."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgekit.backends.fake import FakeBackend
from judgekit.cli import app
from judgekit.core.errors import ConfigError
from judgekit.core.runner import Runner
from judgekit.core.types import GenerationParams, Prompt
from judgekit.protocols.base import JudgeConfig
from judgekit.reward.policy import GEVAL_CHOICES, PolicyReward, RewardItem, expected_score, judge_protocol
from judgekit.reward.policy_adapters import (
    async_trl_reward,
    compute_score_batch,
    policy_reward_from_settings,
    trl_reward,
    verl_scores,
)
from tests.policy_fakes import NUMBER, fake_verifier, gsm8k_rows


def verifier(method: str = "logit", defense: str | None = None, mode: str = "model") -> PolicyReward:
    """The fake verifier as a policy reward; the raw model by default (the hybrid has its own tests)."""
    options = (("verify_mode", mode), *((("defense", defense),) if defense else ()))
    return PolicyReward(judge_protocol("verify", JudgeConfig(method=method, options=options)),  # type: ignore[arg-type]
                        Runner(backend=fake_verifier()))


def items_of(rows: Sequence[Mapping[str, str]]) -> list[RewardItem]:
    return [RewardItem(r["id"], r["prompt"], r["completion"], r["reference"]) for r in rows]


def by_kind(rows: Sequence[Mapping[str, str]], values: Sequence[float | None]) -> dict[str, list[float | None]]:
    out: dict[str, list[float | None]] = {}
    for row, v in zip(rows, values, strict=True):
        out.setdefault(row["id"].rsplit("-", 1)[1], []).append(v)
    return out


def test_verify_logit_reward_is_p_correct_in_one_backend_call(shared_data: Path) -> None:
    rows = gsm8k_rows(shared_data, 6)
    reward = verifier()
    values = reward.rewards(items_of(rows))
    kinds = by_kind(rows, values)
    assert kinds["right"] == pytest.approx([0.9] * 6)
    assert kinds["wrong"] == pytest.approx([0.2] * 6)
    assert kinds["free"] == pytest.approx([0.45] * 6)  # the raw (fake) judge is fooled half way
    backend = reward.runner.backend
    assert isinstance(backend, FakeBackend)
    assert [c["prompts"] for c in backend.calls] == [18]  # one batched call for the whole step


def test_answer_check_defense_puts_content_free_completions_last(shared_data: Path) -> None:
    rows = gsm8k_rows(shared_data, 6)
    reward = verifier(defense="answer-check")
    results = reward.score(items_of(rows))
    kinds = by_kind(rows, [r.reward for r in results])
    assert min(kinds["right"]) > max(kinds["wrong"]) > max(kinds["free"])  # type: ignore[type-var]
    assert kinds["free"] == [0.0] * 6
    free = [r for r, row in zip(results, rows, strict=True) if row["id"].endswith("free")]
    assert all(r.extra["defense"] == "answer-check" for r in free)
    backend = reward.runner.backend
    assert isinstance(backend, FakeBackend) and backend.calls[0]["prompts"] == 12  # keys never reach the model


def test_generative_verdict_and_failures_are_none_with_reason(shared_data: Path) -> None:
    rows = gsm8k_rows(shared_data, 3)
    results = verifier("generative").score(items_of(rows))
    kinds = by_kind(rows, [r.reward for r in results])
    assert kinds == {"right": [1.0] * 3, "wrong": [0.0] * 3, "free": [None] * 3}
    failed = [r for r in results if r.reward is None]
    assert failed and all(r.failure_reason for r in failed)


def test_missing_reference_is_an_error_not_a_reward() -> None:
    with pytest.raises(ConfigError, match="reference"):
        verifier().rewards([RewardItem("x", "What is 2+2?", "4", None)])


def pairwise_fake(golds: Mapping[str, str]) -> FakeBackend:
    """Scripted pairwise judge that knows each question's answer: right (2) > has a number (1) > none (0)."""

    def probs(prompt: Prompt, choices: Sequence[str]) -> Mapping[str, float]:
        text = prompt.as_text()
        gold = golds[text.split("## User prompt\n", 1)[1].split("\n\n## Response A", 1)[0]]
        a = text.split("## Response A\n", 1)[1].split("\n\n## Response B", 1)[0]
        b = text.split("## Response B\n", 1)[1].split("\n\n## ", 1)[0]

        def weight(response: str) -> float:
            found = NUMBER.findall(response)
            return math.exp(0.0 if not found else (2.0 if found[-1].replace(",", "") == gold else 1.0))

        wa, wb = weight(a), weight(b)
        if wa == wb:  # same final answer: the fake calls it a tie (an exact A/B tie would be no verdict)
            return {"A": 0.3, "B": 0.3, "tie": 0.4}
        return {"A": wa / (wa + wb), "B": wb / (wa + wb), "tie": 0.0}

    return FakeBackend(choice_responder=probs)


def test_pairwise_reward_is_p_win_against_the_reference_in_both_orders(shared_data: Path) -> None:
    rows = gsm8k_rows(shared_data, 4)
    refs = [{**r, "reference": f"The answer is {r['reference']}."} for r in rows]
    backend = pairwise_fake({r["prompt"]: r["reference"] for r in rows})
    reward = PolicyReward(judge_protocol("pairwise", JudgeConfig(method="logit")), Runner(backend=backend))
    results = reward.score(items_of(refs))
    kinds = by_kind(refs, [r.reward for r in results])
    assert min(kinds["right"]) > max(kinds["wrong"]) > max(kinds["free"])  # type: ignore[type-var]
    assert backend.calls[0]["prompts"] == 2 * len(rows)  # AB and BA
    assert all(r.extra.get("consistent") is not None for r in results)


def _score_by_length(prompt: Prompt, choices: Sequence[str]) -> Mapping[str, float]:
    words = len(prompt.as_text().split("## Response\n", 1)[1].split("\n\n## ", 1)[0].split())
    best = min(9, 1 + words // 10)
    return {c: (0.8 if int(c) == best else 0.2 / 8) for c in choices}


def test_rubric_geval_expected_score_and_principles(shared_data: Path) -> None:
    rows = gsm8k_rows(shared_data, 3)
    backend = FakeBackend(choice_responder=_score_by_length)
    config = JudgeConfig(method="logit", principles=("Show the arithmetic.",))
    reward = PolicyReward(judge_protocol("pointwise", config), Runner(backend=backend))
    assert not reward.needs_reference
    results = reward.score([RewardItem(r["id"], r["prompt"], r["completion"]) for r in rows])
    kinds = by_kind(rows, [r.reward for r in results])
    assert min(kinds["right"]) > max(kinds["wrong"]) >= max(kinds["free"])  # type: ignore[type-var]
    assert all(0.0 <= r.reward <= 1.0 for r in results if r.reward is not None)
    assert backend.calls[0]["choices"] == list(GEVAL_CHOICES)
    assert expected_score({"1": 0.5, "9": 0.5}) == pytest.approx(5.0)
    assert expected_score({"a": 1.0}) is None


def test_rubric_generative_score_maps_to_unit_interval() -> None:
    def scored(prompt: Prompt, index: int, params: GenerationParams) -> str:
        return "Reasoning: fine.\nScore: 10" if "#### 18" in prompt.as_text() else "Reasoning: no.\nScore: 1"

    reward = PolicyReward(judge_protocol("pointwise", JudgeConfig()), Runner(backend=FakeBackend(responder=scored)))
    assert reward.rewards([RewardItem("a", "q", "#### 18"), RewardItem("b", "q", "no")]) == [1.0, 0.0]


def test_trl_sync_and_async_reward_functions_agree(shared_data: Path) -> None:
    rows = gsm8k_rows(shared_data, 4)
    reward = verifier(defense="answer-check")
    prompts = [[{"role": "system", "content": "Solve."}, {"role": "user", "content": r["prompt"]}] for r in rows]
    completions = [[{"role": "assistant", "content": r["completion"]}] for r in rows]
    refs = [r["reference"] for r in rows]
    sync = trl_reward(reward, name="judge")
    got = sync(prompts, completions, reference=refs)
    assert got == reward.rewards(items_of(rows))
    assert sync.__name__ == "judge"
    async_fn = async_trl_reward(reward)
    assert asyncio.iscoroutinefunction(async_fn)
    assert asyncio.run(async_fn(prompts, completions, reference=refs)) == got
    # a question column wins over the prompt text
    plain = sync(["ignored"] * len(rows), [r["completion"] for r in rows], reference=refs,
                 question=[r["prompt"] for r in rows])
    assert plain == got


def test_verl_batch_interface_scores_and_flags_failures(shared_data: Path) -> None:
    rows = gsm8k_rows(shared_data, 3)
    reward = verifier("generative")
    infos = [{"question": r["prompt"], "split": "train"} for r in rows]
    out = verl_scores(reward, ["gsm8k"] * len(rows), [r["completion"] for r in rows],
                      [r["reference"] for r in rows], infos, failure_reward=-1.0)
    expected = reward.rewards(items_of(rows))
    assert [o["score"] for o in out] == [-1.0 if e is None else e for e in expected]
    assert [o["judge_failed"] for o in out] == [int(e is None) for e in expected]
    with pytest.raises(ConfigError, match="question"):
        verl_scores(reward, ["gsm8k"], ["x"], ["1"], [{}])


def test_verl_compute_score_batch_builds_the_judge_from_settings(shared_data: Path) -> None:
    rows = gsm8k_rows(shared_data, 2)
    settings = {"backend": "fake", "protocol": "verify", "method": "logit", "cache": False}
    out = compute_score_batch(["gsm8k"] * len(rows), [r["completion"] for r in rows],
                              [r["reference"] for r in rows], [{"question": r["prompt"]} for r in rows],
                              judge=settings)
    assert [o["score"] for o in out] == policy_reward_from_settings(settings).rewards(items_of(rows))
    with pytest.raises(ConfigError, match="unknown judge setting"):
        policy_reward_from_settings({"protocl": "verify"})


def test_cli_reward_writes_one_row_per_input_id(tmp_path: Path, shared_data: Path) -> None:
    rows = gsm8k_rows(shared_data, 3)
    data = tmp_path / "rollouts.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "run"
    args = ["reward", str(data), "-p", "verify", "--method", "logit", "--backend", "fake",
            "--option", "defense=answer-check", "--no-cache", "-o", str(out)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    written = [json.loads(line) for line in (out / "rewards.jsonl").read_text().splitlines()]
    assert [w["id"] for w in written] == [r["id"] for r in rows]
    expected = policy_reward_from_settings({"backend": "fake", "protocol": "verify", "method": "logit",
                                            "option": ["defense=answer-check"], "cache": False})
    assert [w["reward"] for w in written] == expected.rewards(items_of(rows))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["items"] == len(rows) and summary["failures"] == 0
    assert json.loads((out / "manifest.json").read_text())["judge"]["protocol"] == "verify"


def test_cli_reward_bad_row_names_file_line_and_field(tmp_path: Path) -> None:
    data = tmp_path / "rollouts.jsonl"
    data.write_text(json.dumps({"id": "a", "prompt": "q", "completion": "c", "reference": "1"}) + "\n"
                    + json.dumps({"id": "b", "prompt": "q", "completion": "c"}) + "\n")
    res = CliRunner().invoke(app, ["reward", str(data), "-p", "verify", "--backend", "fake", "--no-cache",
                                   "-o", str(tmp_path / "run")])
    assert res.exit_code == 2
    assert "line 2" in res.output and "'reference'" in res.output


def test_cli_reward_serve_refuses_a_public_bind_without_token() -> None:
    res = CliRunner().invoke(app, ["reward-serve", "--host", "0.0.0.0", "--backend", "fake", "--no-cache"])
    assert res.exit_code == 2 and "token" in res.output
    res = CliRunner().invoke(app, ["reward-serve", "--token-env", "JUDGEKIT_TEST_UNSET_TOKEN", "--backend", "fake"])
    assert res.exit_code == 2 and "JUDGEKIT_TEST_UNSET_TOKEN" in res.output
