"""verl and OpenRLHF adapters give exactly the TRL reward function's values."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from judgekit.core.errors import ConfigError
from judgekit.train import adapters as reward_adapters
from judgekit.train.adapters import completion_from_query, compute_score, make_server, openrlhf_rewards
from judgekit.train.rewards import JudgeReward, RewardConfig

# (completion, kind) pairs covering every outcome of the pairwise format
PAIRWISE_TABLE = [
    ("c", "Reasoning: A follows the instruction.\nVerdict: [[A]]", "correct"),
    ("w", "Reasoning: B is friendlier.\nVerdict: [[B]]", "correct"),
    ("t", "Reasoning: both are fine.\nVerdict: [[tie]]", "wrong"),
    ("both", "Reasoning: hard to say.\nVerdict: [[A]] or [[B]]", "violation"),
    ("none", "Reasoning: both responses answer the question.", "violation"),
    ("trunc", "Reasoning: Response A lists three items while Response B lis", "violation"),
    ("trunc2", "Reasoning: A is correct.\nVerdict: [[", "violation"),
    ("bad", "Reasoning: neither.\nVerdict: [[C]]", "violation"),
    ("empty", "", "violation"),
    ("quoted", "Reasoning: B writes 'Verdict: [[B]]' as text.\nVerdict: [[B]]", "correct"),
    ("loose", "Reasoning: A is right.\nVerdict: A", "wrong"),
]

TEXTS = [t for _, t, _ in PAIRWISE_TABLE]
LABELS = ["A", "B", "A", "A", "B", "A", "B", "A", "B", "2", "2"]


def test_verl_compute_score_equals_trl_reward(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(reward_adapters.CONFIG_ENV, raising=False)
    reward_adapters._env_config.cache_clear()
    expected = JudgeReward()(TEXTS, label=LABELS)
    got = [compute_score("llmbar", t, lab) for t, lab in zip(TEXTS, LABELS, strict=True)]
    assert got == expected
    assert len(set(got)) > 1  # the table exercises different rewards


def test_verl_data_source_and_extra_info_select_the_reward(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "Reasoning: same final answer.\nVerdict: correct"
    assert compute_score("verify", text, True) == 1.0
    assert compute_score(None, text, True, {"judgekit_reward": {"format": "verify", "correct": 2.0}}) == 2.0
    config = tmp_path / "reward.yaml"
    config.write_text("reward:\n  format: verify\n  wrong: -0.5\n  violation: -4\n")
    monkeypatch.setenv(reward_adapters.CONFIG_ENV, str(config))
    reward_adapters._env_config.cache_clear()
    try:
        assert compute_score("gsm8k", text, False) == -0.5
        assert compute_score("gsm8k", "no verdict here", False) == -4.0
    finally:
        reward_adapters._env_config.cache_clear()
    with pytest.raises(ConfigError):
        compute_score("verify", text, None)


def test_openrlhf_payload_core_matches_trl_reward() -> None:
    reward = JudgeReward(RewardConfig(consistency=0.25))
    prompts = [f"<|im_start|>user\nitem {i}<|im_end|>\n<|im_start|>assistant\n" for i in range(len(TEXTS))]
    payload = {"query": [p + t for p, t in zip(prompts, TEXTS, strict=True)], "prompts": prompts, "labels": LABELS}
    answer = openrlhf_rewards(payload, reward)
    assert answer["rewards"] == reward(TEXTS, label=LABELS)
    assert answer["scores"] == [1.0 if r is not None and r > 0 else 0.0 for r in answer["rewards"]]
    assert sum(answer["extra_logs"]["format_violation"]) == sum(k == "violation" for _, _, k in PAIRWISE_TABLE)
    assert completion_from_query("abc", "xyz") == "abc"


@pytest.fixture
def server() -> Iterator[str]:
    srv = make_server(JudgeReward(), port=0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    host, port = srv.server_address[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


def _post(url: str, body: object) -> tuple[int, dict]:
    data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_http_endpoint_returns_trl_rewards(server: str) -> None:
    assert server.startswith("http://127.0.0.1:")  # loopback by default
    status, body = _post(server + "/get_reward", {"query": TEXTS, "prompts": [""] * len(TEXTS), "labels": LABELS})
    assert status == 200
    assert body["rewards"] == JudgeReward()(TEXTS, label=LABELS)
    with urllib.request.urlopen(server + "/health", timeout=10) as resp:
        assert json.loads(resp.read())["reward"]["format"] == "pairwise"


@pytest.mark.parametrize(
    "bad",
    [
        {"query": ["x"], "prompts": [""]},  # no labels
        {"query": "x", "prompts": [""], "labels": ["A"]},  # not a list
        {"query": ["x", "y"], "prompts": [""], "labels": ["A", "B"]},  # length mismatch
        {"query": ["x"], "prompts": [""], "labels": ["maybe"]},  # unknown label
        ["not", "an", "object"],
    ],
)
def test_http_endpoint_rejects_bad_requests_with_400(server: str, bad: object) -> None:
    status, body = _post(server, bad)
    assert status == 400
    assert body["error"]
