"""Group rewards: a listwise judge ranks the completions of one prompt; TRL, verl, OpenRLHF and the server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judgekit.backends.fake import FakeBackend
from judgekit.core.runner import Runner
from judgekit.core.types import GenerationParams, Prompt
from judgekit.protocols.base import JudgeConfig
from judgekit.reward.policy import PolicyReward, RewardItem, judge_protocol, load_reward_items
from judgekit.reward.policy_adapters import OpenRLHFJudgeService, trl_reward, verl_scores
from judgekit.reward.server import ServerLimits, make_reward_server
from tests.unit.test_reward_server import post, running


def by_length(prompt: Prompt, index: int, params: GenerationParams) -> str:
    """Ranks the displayed responses longest first (a stand-in judge with a clear preference)."""
    user = next(m.content for m in prompt.messages if m.role == "user")
    parts = user.split("\n## Response ")[1:]
    texts = {p[0]: p.split("\n", 1)[1].split("\n\n## ")[0].strip() for p in parts}
    ranked = sorted(texts, key=lambda lab: (-len(texts[lab]), lab))
    return "Reasoning: longer is better here.\nRanking: [[" + " > ".join(ranked) + "]]"


def listwise_reward(**options: str) -> tuple[PolicyReward, FakeBackend]:
    backend = FakeBackend(responder=by_length)
    proto = judge_protocol("listwise", JudgeConfig(options=tuple(options.items())))
    return PolicyReward(proto, Runner(backend)), backend


def test_trl_group_rewards_from_one_listwise_judgment_per_prompt() -> None:
    reward, backend = listwise_reward()
    fn = trl_reward(reward)
    prompts = ["p1"] * 3 + ["p2"] * 3
    completions = ["a", "aaa", "aa", "bb", "b", "bbb"]
    rewards = fn(prompts, completions)
    assert rewards == [-1.0, 1.0, 0.0, 0.0, -1.0, 1.0]  # centred linear in rank, per group
    assert [c["prompts"] for c in backend.calls] == [12]  # 2 groups x 3! display orders, one batch


def test_ties_share_and_mappings() -> None:
    reward, _ = listwise_reward(reward="best")
    results = reward.score([RewardItem(str(i), "p", c) for i, c in enumerate(["xx", "yy", "z"])])
    # "xx" and "yy" are equally long: each order ranks whichever is shown first higher -> equal mean ranks
    assert [r.reward for r in results] == [0.5, 0.5, 0.0]
    assert results[0].extra["mean_rank"] == results[1].extra["mean_rank"]
    linear, _ = listwise_reward(reward="linear")
    assert linear.rewards([RewardItem("0", "p", "a"), RewardItem("1", "p", "aa")]) == [0.0, 1.0]


def test_a_single_completion_is_not_ranked() -> None:
    reward, _ = listwise_reward()
    results = reward.score([RewardItem("0", "p", "a"), RewardItem("1", "q", "b"), RewardItem("2", "q", "bb")])
    assert results[0].reward is None and "1 completion(s)" in str(results[0].failure_reason)
    assert [r.reward for r in results[1:]] == [-1.0, 1.0]


def test_verl_batch_groups_by_question() -> None:
    reward, _ = listwise_reward()
    infos = [{"question": "q"}] * 2
    got = verl_scores(reward, ["gsm8k"] * 2, ["short", "longer one"], [None, None], infos)
    assert got == [{"score": -1.0, "judge_failed": 0}, {"score": 1.0, "judge_failed": 0}]


def test_reward_file_group_column(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    rows = [{"id": "1", "prompt": "p", "completion": "a", "group": 1},
            {"id": "2", "prompt": "p", "completion": "aa", "group": 2},
            {"id": "3", "prompt": "p", "completion": "aaa", "group": 1}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    items = load_reward_items(path, needs_reference=False)
    reward, _ = listwise_reward()
    results = reward.score(items)
    assert [r.reward for r in results] == [-1.0, None, 1.0]


def test_server_batches_groups_without_merging_requests() -> None:
    reward, backend = listwise_reward()
    service = OpenRLHFJudgeService(reward)
    server = make_reward_server(service, port=0, limits=ServerLimits(batch_window_s=0.0))
    with running(server) as addr:
        body = {"query": ["Pa", "Paaa", "Paa"], "prompts": ["P", "P", "P"]}
        status, answer = post(addr, body)
        assert status == 200 and answer["rewards"] == [-1.0, 1.0, 0.0]
        status, answer = post(addr, {**body, "groups": ["g1", "g2", "g1"]})
        assert status == 200 and answer["rewards"] == [-1.0, 0.0, 1.0]  # g2 alone: failure_reward 0
        assert answer["extra_logs"]["judge_failed"] == [0.0, 1.0, 0.0]
    # two requests in one judge call, same prompt: two groups, never one
    items = [service.parse({"query": ["Pa", "Paa"], "prompts": ["P", "P"]}) for _ in range(2)]
    results = service.score(items[0] + items[1])
    answers = [service.respond(results[:2]), service.respond(results[2:])]
    assert [a["rewards"] for a in answers] == [[-1.0, 1.0], [-1.0, 1.0]]


def test_the_batcher_never_splits_a_group_reward_request() -> None:
    """Fair batching slices big requests across rounds; a group-reward request goes whole into one judge call."""
    reward, backend = listwise_reward()
    service = OpenRLHFJudgeService(reward)
    assert service.atomic
    server = make_reward_server(service, port=0, limits=ServerLimits(batch_window_s=0.0, max_batch_items=2))
    with running(server) as addr:
        status, answer = post(addr, {"query": ["Pa", "Paaa", "Paa", "Paaaa"], "prompts": ["P"] * 4})
    assert status == 200 and answer["rewards"] == pytest.approx([-1.0, 1 / 3, -1 / 3, 1.0])
    assert answer["extra_logs"]["judge_failed"] == [0.0] * 4


def test_bad_groups_field_is_a_client_error() -> None:
    reward, _ = listwise_reward()
    with pytest.raises(Exception, match="groups"):
        OpenRLHFJudgeService(reward).parse({"query": ["Pa"], "prompts": ["P"], "groups": [1]})
