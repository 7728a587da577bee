"""Issue 29 items 4, 5, 6, 13: the reward servers under attack (127.0.0.1 only, every socket bounded).

A poisoned request fails alone; slow or greedy clients cannot starve the others; a
huge request is refused by shape before it is decoded and cannot hold a small one
behind it; error bodies carry no raw exception text.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from judgekit.core.errors import ConfigError
from judgekit.reward import request_body
from judgekit.reward.policy_adapters import OpenRLHFJudgeService
from judgekit.reward.request_body import BodyLimits, decode_body
from judgekit.reward.server import ServerLimits, make_reward_server
from judgekit.train.adapters import make_server
from judgekit.train.rewards import JudgeReward
from tests.unit.test_reward_server import TIMEOUT, judge, payload, post, request, running

GOOD = [{"prompt": "1+1?", "completion": "#### 2", "reference": "2"}]


class RecordingService:
    """Scores ``n`` -> ``n``; an item ``"poison"`` raises (text that must not reach the client)."""

    def __init__(self, gate_open: bool = True) -> None:
        self.gate, self.entered = threading.Event(), threading.Event()
        self.rounds: list[list[Any]] = []
        if gate_open:
            self.gate.set()

    def parse(self, payload: dict[str, Any]) -> list[Any]:
        items = payload.get("items")
        if not isinstance(items, list):
            raise ConfigError("'items' must be a list")
        return items

    def score(self, items: Sequence[Any]) -> list[Any]:
        self.entered.set()
        self.gate.wait(TIMEOUT)
        self.rounds.append(list(items))
        if "poison" in items:
            raise ValueError("internal detail /secret/path 0xdeadbeef")
        return list(items)

    def respond(self, results: Sequence[Any]) -> dict[str, Any]:
        return {"items": list(results)}

    def health(self) -> dict[str, Any]:
        return {}


def test_a_poisoned_request_fails_alone_and_500_bodies_carry_no_exception_text() -> None:  # items 4, 13
    service = RecordingService(gate_open=False)
    server = make_reward_server(service, port=0, limits=ServerLimits(batch_window_s=0.0))
    with running(server) as addr, ThreadPoolExecutor(6) as pool:
        first = pool.submit(post, addr, {"items": [0]})
        assert service.entered.wait(TIMEOUT)
        rest = [pool.submit(post, addr, {"items": [i]}) for i in range(1, 4)]
        bad = pool.submit(post, addr, {"items": ["poison"]})
        while server.batcher.queue.qsize() < 4:  # all queued behind round 1: they share round 2
            threading.Event().wait(0.01)
        service.gate.set()
        assert first.result(TIMEOUT) == (200, {"items": [0]})
        assert [f.result(TIMEOUT) for f in rest] == [(200, {"items": [i]}) for i in range(1, 4)]
        status, body = bad.result(TIMEOUT)
    assert status == 500 and "ValueError" in body["error"]
    assert "secret" not in body["error"] and "deadbeef" not in body["error"]
    assert sorted(map(str, service.rounds[1])) == ["1", "2", "3", "poison"]  # they did share a round


def test_a_lone_surrogate_is_a_400_for_its_own_request() -> None:  # item 4 (the root)
    server = make_reward_server(OpenRLHFJudgeService(judge()), port=0, limits=ServerLimits(read_timeout_s=1.0))
    raw = json.dumps(payload(GOOD)).replace("#### 2", "#### 2 \\ud800").encode()
    assert b"\\ud800" in raw
    with running(server) as addr:
        status, body = post(addr, raw)
        assert status == 400 and "surrogate" in body["error"]
        assert post(addr, payload(GOOD))[0] == 200


def test_two_content_lengths_are_refused() -> None:  # item 13
    server = make_reward_server(RecordingService(), port=0, limits=ServerLimits(read_timeout_s=1.0))
    data = b'{"items": [1]}'
    raw = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"
           % len(data)) + data
    with running(server) as addr:
        status, body = request(addr, raw)
    assert status == 400 and "Content-Length" in body["error"]


def test_label_grading_server_refuses_non_string_prompts_cleanly() -> None:  # item 13
    with running(make_server(JudgeReward(), port=0)) as addr:
        status, body = post(addr, {"query": ["Verdict: [[A]]"], "prompts": [1], "labels": ["A"]})
    assert status == 400 and "'prompts' must be a list of strings" in body["error"]
    assert "TypeError" not in body["error"] and "startswith" not in body["error"]


def test_field_and_item_caps() -> None:  # items 6, 13
    limits = ServerLimits(max_field=1000, max_request_items=4, read_timeout_s=1.0)
    with running(make_reward_server(RecordingService(), port=0, limits=limits)) as addr:
        status, body = post(addr, {"items": ["x" * 1001]})
        assert status == 400 and "1001 characters" in body["error"]
        status, body = post(addr, {"items": [1, 2, 3, 4, 5]})
        assert status == 400 and "5 items" in body["error"]
        assert post(addr, {"items": [1, 2, 3, 4]}) == (200, {"items": [1, 2, 3, 4]})


def test_shape_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:  # item 6
    def no_decode(*_: Any, **__: Any) -> Any:
        raise AssertionError("json.loads ran on a body the shape check must refuse")

    monkeypatch.setattr(request_body.json, "loads", no_decode)
    many = b'{"items": [' + b",".join([b"[]"] * 100_000) + b"]}"
    with pytest.raises(ConfigError, match="JSON values"):
        decode_body(many, BodyLimits(max_values=65536))
    with pytest.raises(ConfigError, match="JSON values"):
        decode_body(b"[" * 100_000 + b"]" * 100_000, BodyLimits(max_values=65536))
    # brackets and commas inside strings are text, not values
    assert request_body.json_value_bound(b'{"a": "[[[,,,{{{\\"]]]"}') == 2


def test_a_small_request_does_not_wait_behind_a_huge_one() -> None:  # item 6
    service = RecordingService(gate_open=False)
    limits = ServerLimits(batch_window_s=0.0, max_batch_items=5, max_batch_requests=1)
    server = make_reward_server(service, port=0, limits=limits)
    with running(server) as addr, ThreadPoolExecutor(2) as pool:
        huge = pool.submit(post, addr, {"items": list(range(100))})
        assert service.entered.wait(TIMEOUT)  # round 1: the huge request's first 5 items
        small = pool.submit(post, addr, {"items": ["small"]})
        while server.batcher.queue.qsize() < 1:
            threading.Event().wait(0.01)
        service.gate.set()
        assert small.result(TIMEOUT) == (200, {"items": ["small"]})
        assert huge.result(TIMEOUT) == (200, {"items": list(range(100))})
    where = next(i for i, r in enumerate(service.rounds) if "small" in r)
    assert where <= 2 < len(service.rounds) - 1  # served within a round or two, long before the huge one ended
    assert max(len(r) for r in service.rounds) <= 5


def _connect_from(addr: tuple[str, int], source: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    sock.bind((source, 0))
    sock.connect(addr)
    return sock


def test_one_client_address_cannot_take_every_connection() -> None:  # item 5
    limits = ServerLimits(max_connections=4, max_per_client=2, read_timeout_s=5.0, request_timeout_s=8.0)
    server = make_reward_server(RecordingService(), port=0, limits=limits)
    with running(server) as addr:
        attackers = [_connect_from(addr, "127.0.0.2") for _ in range(4)]
        try:
            for sock in attackers[:2]:
                sock.sendall(b"P")  # one header byte each, then nothing: they hold their slots
            for sock in attackers[2:]:  # beyond the per-address cap: answered 503 at once and closed
                assert sock.recv(4096).startswith(b"HTTP/1.1 503")
            assert post(addr, {"items": [7]}) == (200, {"items": [7]})  # 127.0.0.1 still gets a slot
        finally:
            for sock in attackers:
                sock.close()


def test_the_whole_request_is_bounded_in_time() -> None:  # item 5
    limits = ServerLimits(read_timeout_s=5.0, request_timeout_s=0.5)
    server = make_reward_server(RecordingService(), port=0, limits=limits)
    head = b"POST /get_reward HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 60
    with running(server) as addr, socket.create_connection(addr, timeout=TIMEOUT) as sock:
        dropped_after = None
        for sent, byte in enumerate(head):  # one byte every 0.1 s: each read is fast, the request is not
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                dropped_after = sent
                break
            threading.Event().wait(0.1)
            sock.setblocking(False)
            try:
                if sock.recv(1) == b"":
                    dropped_after = sent
                    break
            except BlockingIOError:
                pass
            except OSError:
                dropped_after = sent
                break
            finally:
                sock.setblocking(True)
                sock.settimeout(TIMEOUT)
        assert dropped_after is not None and dropped_after < len(head) - 1


def test_the_shape_check_is_linear_on_hostile_bytes() -> None:  # item 6: no ReDoS in the pre-decode scan
    import subprocess
    import sys

    code = ("from judgekit.reward.request_body import json_value_bound\n"
            "for raw in (b'\"' + b'\\\\\"' * 2_000_000, b'\"\\\\' * 2_000_000, b'\"a\",' * 2_000_000):\n"
            "    json_value_bound(raw, 65536)\n"
            "print('done')\n")
    # a quadratic scan of these 4-8 MB takes hours; the linear one a fraction of a second (the timeout
    # only stops a regression from hanging the suite)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "done", done.stderr[-2000:]
