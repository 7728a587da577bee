"""The OpenRLHF judge reward server: batching, bad requests, slow clients, limits (127.0.0.1 only).

Every socket here has a timeout, so a regression fails the test instead of hanging it.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from judgekit.core.errors import ConfigError
from judgekit.core.runner import Runner
from judgekit.protocols.base import JudgeConfig
from judgekit.reward.policy import PolicyReward, RewardItem, judge_protocol
from judgekit.reward.policy_adapters import OpenRLHFJudgeService
from judgekit.reward.server import RewardHTTPServer, ServerLimits, make_reward_server
from judgekit.train.adapters import make_server
from judgekit.train.rewards import JudgeReward
from tests.policy_fakes import fake_verifier, gsm8k_rows

TIMEOUT = 10.0


def judge() -> PolicyReward:
    config = JudgeConfig(method="logit", options=(("verify_mode", "model"),))  # the fake model, not the rules
    return PolicyReward(judge_protocol("verify", config), Runner(backend=fake_verifier()))


@contextmanager
def running(server: RewardHTTPServer) -> Iterator[tuple[str, int]]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield str(server.server_address[0]), int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=TIMEOUT)


def request(addr: tuple[str, int], raw: bytes) -> tuple[int, dict[str, Any]]:
    """Send raw bytes, read the whole answer (the server closes or sets Content-Length)."""
    with socket.create_connection(addr, timeout=TIMEOUT) as sock:
        sock.sendall(raw)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(next((line.split(b":")[1] for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length")), b"0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return int(head.split()[1]), json.loads(body or b"{}")


def post(addr: tuple[str, int], body: Any, headers: str = "") -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    head = f"POST /get_reward HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}\r\n{headers}Connection: close\r\n\r\n"
    return request(addr, head.encode() + data)


def payload(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    prompts = [f"<|im_start|>user\n{r['prompt']}<|im_end|>\n" for r in rows]
    return {"query": [p + r["completion"] for p, r in zip(prompts, rows, strict=True)], "prompts": prompts,
            "labels": [r["reference"] for r in rows]}


@pytest.fixture
def judge_server() -> Iterator[tuple[str, int]]:
    server = make_reward_server(OpenRLHFJudgeService(judge()), port=0, limits=ServerLimits(read_timeout_s=1.0))
    with running(server) as addr:
        yield addr


def test_concurrent_clients_get_their_own_rewards(judge_server: tuple[str, int], shared_data: Path) -> None:
    rows = gsm8k_rows(shared_data, 8)
    groups = [rows[i : i + 3] for i in range(0, len(rows), 3)]
    direct = judge()
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda g: post(judge_server, payload(g)), groups))
    for group, (status, body) in zip(groups, answers, strict=True):
        assert status == 200
        prompts = payload(group)["prompts"]
        items = [RewardItem(r["id"], p, r["completion"], r["reference"]) for p, r in zip(prompts, group, strict=True)]
        assert body["rewards"] == direct.rewards(items)
        assert body["scores"] == body["rewards"] and body["extra_logs"]["judge_failed"] == [0.0] * len(group)


class GatedService:
    """Answers after ``gate`` opens; records each batch's request count."""

    def __init__(self) -> None:
        self.gate, self.entered, self.batches = threading.Event(), threading.Event(), []  # type: ignore[var-annotated]

    def parse(self, payload: dict[str, Any]) -> list[int]:
        if not isinstance(payload.get("n"), int):
            raise ConfigError("'n' must be an integer")
        return [int(payload["n"])]

    def score(self, items: Sequence[int]) -> list[int]:
        self.entered.set()
        self.gate.wait(TIMEOUT)
        self.batches.append(len(items))
        return list(items)

    def respond(self, results: Sequence[int]) -> dict[str, Any]:
        return {"n": results[0]}

    def health(self) -> dict[str, Any]:
        return {}


def test_requests_queued_during_a_batch_are_judged_together() -> None:
    service = GatedService()
    server = make_reward_server(service, port=0, limits=ServerLimits(batch_window_s=0.0))
    with running(server) as addr:
        with ThreadPoolExecutor(6) as pool:
            first = pool.submit(post, addr, {"n": 0})
            assert service.entered.wait(TIMEOUT)  # batch 1 is being judged
            rest = [pool.submit(post, addr, {"n": i}) for i in range(1, 6)]
            while server.batcher.queue.qsize() < 5:  # all five queued behind it
                threading.Event().wait(0.01)
            service.gate.set()
            assert first.result(TIMEOUT) == (200, {"n": 0})
            assert [f.result(TIMEOUT) for f in rest] == [(200, {"n": i}) for i in range(1, 6)]
        assert service.batches == [1, 5]


def test_without_batching_every_request_is_its_own_batch() -> None:
    service = GatedService()
    service.gate.set()
    server = make_reward_server(service, port=0, limits=ServerLimits(batch_window_s=0.0, max_batch_requests=1))
    with running(server) as addr, ThreadPoolExecutor(4) as pool:
        assert all(r[0] == 200 for r in pool.map(lambda i: post(addr, {"n": i}), range(4)))
    assert service.batches == [1, 1, 1, 1]


def test_deadline_gives_504_and_the_server_recovers() -> None:
    service = GatedService()
    server = make_reward_server(service, port=0, limits=ServerLimits(deadline_s=0.2))
    with running(server) as addr:
        status, body = post(addr, {"n": 1})
        assert status == 504 and "deadline" in body["error"]
        service.gate.set()
        assert post(addr, {"n": 2}) == (200, {"n": 2})


DEEP = b"[" * 100_000 + b"]" * 100_000
BAD_REQUESTS = [
    ("no content-length", b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    ("non-numeric length", b"POST / HTTP/1.1\r\nContent-Length: ten\r\nConnection: close\r\n\r\n{}"),
    ("too large", b"POST / HTTP/1.1\r\nContent-Length: 999999999\r\nConnection: close\r\n\r\n{}"),
    ("chunked", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
]
BAD_BODIES = [
    ("not utf-8", b"\xff\xfe{}"),
    ("not json", b"{'query': ['x']}"),
    ("deeply nested array", DEEP),
    ("deeply nested object", b'{"a":' * 50 + b"1" + b"}" * 50),
    ("array body", b'["query"]'),
    ("string body", b'"hello"'),
    ("query not a list", {"query": "x", "prompts": ["p"], "labels": ["1"]}),
    ("query of numbers", {"query": [1, 2], "prompts": ["p", "p"], "labels": ["1", "1"]}),
    ("empty query", {"query": [], "prompts": [], "labels": []}),
    ("prompts missing", {"query": ["x"], "labels": ["1"]}),
    ("labels missing", {"query": ["x"], "prompts": ["p"]}),
    ("labels wrong type", {"query": ["x"], "prompts": ["p"], "labels": [{"a": 1}]}),
    ("length mismatch", {"query": ["x", "y"], "prompts": ["p"], "labels": ["1"]}),
    ("empty reference", {"query": ["x"], "prompts": ["p"], "labels": [""]}),
    ("prompts nested", {"query": ["x"], "prompts": [["p"]], "labels": ["1"]}),
]


@pytest.mark.parametrize("name,raw", BAD_REQUESTS, ids=[n for n, _ in BAD_REQUESTS])
def test_bad_http_requests_get_400_and_the_server_keeps_serving(judge_server: tuple[str, int], name: str,
                                                                raw: bytes) -> None:
    status, body = request(judge_server, raw)
    assert status == 400 and body["error"], name
    assert post(judge_server, payload([{"prompt": "1+1?", "completion": "#### 2", "reference": "2"}]))[0] == 200


@pytest.mark.parametrize("name,body", BAD_BODIES, ids=[n for n, _ in BAD_BODIES])
def test_bad_bodies_get_400_with_a_reason(judge_server: tuple[str, int], name: str, body: Any) -> None:
    status, answer = post(judge_server, body)
    assert status == 400 and answer["error"], name
    assert post(judge_server, payload([{"prompt": "1+1?", "completion": "#### 2", "reference": "2"}]))[0] == 200


def test_stalled_client_is_dropped_without_blocking_others(judge_server: tuple[str, int]) -> None:
    stalled = socket.create_connection(judge_server, timeout=TIMEOUT)
    try:
        stalled.sendall(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"query\"")  # then nothing
        good = payload([{"prompt": "1+1?", "completion": "#### 2", "reference": "2"}])
        assert post(judge_server, good)[0] == 200  # served while the other stalls
        assert stalled.recv(1024) == b""  # dropped after the 1 s read timeout (bounded by TIMEOUT)
    finally:
        stalled.close()


def test_connections_beyond_the_cap_get_503() -> None:
    server = make_reward_server(GatedService(), port=0, limits=ServerLimits(max_connections=1, read_timeout_s=5))
    with running(server) as addr:
        holder = socket.create_connection(addr, timeout=TIMEOUT)
        try:
            holder.sendall(b"POST / HTTP/1.1\r\n")  # holds the only slot while it sends headers
            while server.slots._value != 0:  # type: ignore[attr-defined]
                threading.Event().wait(0.01)
            with socket.create_connection(addr, timeout=TIMEOUT) as extra:  # answered on accept
                answer = b"".join(iter(lambda: extra.recv(4096), b""))
            assert answer.startswith(b"HTTP/1.1 503") and b"too many" in answer
        finally:
            holder.close()


def test_token_is_required_off_loopback_and_checked() -> None:
    with pytest.raises(ConfigError, match="token"):
        ServerLimits().check("0.0.0.0")
    ServerLimits(token="s3cret").check("0.0.0.0")
    server = make_reward_server(GatedService(), port=0, limits=ServerLimits(token="s3cret"))
    server.service.gate.set()  # type: ignore[attr-defined]
    with running(server) as addr:
        assert post(addr, {"n": 1})[0] == 401
        assert post(addr, {"n": 1}, "Authorization: Bearer wrong\r\n")[0] == 401
        assert post(addr, {"n": 1}, "Authorization: Bearer s3cret\r\n") == (200, {"n": 1})


def test_label_grading_server_answers_wrong_types_with_400() -> None:
    server = make_server(JudgeReward(), port=0)
    with running(server) as addr:
        for body in ({"query": ["x"], "prompts": [""], "labels": [{"a": 1}]}, DEEP,
                     {"query": ["x"], "prompts": [3], "labels": ["A"]}):
            status, answer = post(addr, body)
            assert status == 400 and answer["error"]
        assert post(addr, {"query": ["Verdict: [[A]]"], "prompts": [""], "labels": ["A"]})[1]["rewards"] == [1.0]
