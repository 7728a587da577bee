"""HTTP backend against llama.cpp servers: prompts sharing a prefix go consecutively from one worker."""

from __future__ import annotations

import json
import threading

import httpx

from judgekit.backends.openai import OpenAIBackend
from judgekit.backends.prefix import prompt_chains
from judgekit.core.types import GenerationParams, Message, Prompt, sample_seed

SYSTEM = "You are a careful judge. Compare the two responses to the question and say which is better. " * 2


def order_prompt(item: int, swapped: bool) -> Prompt:
    a, b = f"first answer {item}", f"second answer {item}"
    if swapped:
        a, b = b, a
    user = f"Question {item}: what is {item} + {item}? Explain the steps in detail.\nResponse A: {a}\nResponse B: {b}"
    return Prompt(messages=(Message("system", SYSTEM), Message("user", user)), template="t", template_hash="h")


class Recorder:
    """A mock llama-server: records (thread, prompt, body) per request; reports cached prompt tokens."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str, dict]] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        user = body["messages"][-1]["content"]
        with self.lock:
            self.calls.append((threading.get_ident(), user, body))
        reply = {"choices": [{"index": 0, "message": {"content": "Verdict: [[A]]"}, "finish_reason": "stop"}],
                 "usage": {"completion_tokens": 5}, "timings": {"cache_n": 30, "prompt_n": 10}}
        return httpx.Response(200, json=reply)


def backend(recorder: Recorder, style: str, concurrency: int = 3) -> OpenAIBackend:
    return OpenAIBackend("http://127.0.0.1:9/v1", "m", api_key_env="", concurrency=concurrency,
                         constraint_style=style, transport=httpx.MockTransport(recorder))  # type: ignore[arg-type]


def test_prompt_chains_pair_the_orders_of_each_item() -> None:
    tails = (" A: x B: y", " A: y B: x")
    texts = [SYSTEM + f"Q{i} long shared question text {i}?" + tail for i in range(3) for tail in tails]
    assert prompt_chains(texts) == [[0, 1], [2, 3], [4, 5]]
    assert prompt_chains(["short a", "short b"]) == [[0], [1]]  # under min_shared characters: no chain


def test_both_orders_of_an_item_go_consecutively_from_one_worker() -> None:
    rec = Recorder()
    prompts = [order_prompt(i, sw) for i in range(4) for sw in (False, True)]
    out = backend(rec, "llama-server").generate(prompts, GenerationParams(max_new_tokens=8))
    assert len(out) == 8 and all(g[0].text == "Verdict: [[A]]" for g in out)
    by_thread: dict[int, list[str]] = {}
    for thread, user, _ in rec.calls:
        by_thread.setdefault(thread, []).append(user)
    for i in range(4):
        ab, ba = (p.messages[-1].content for p in (order_prompt(i, False), order_prompt(i, True)))
        (sequence,) = [s for s in by_thread.values() if ab in s]
        assert sequence[sequence.index(ab) + 1] == ba  # the BA order right after AB, same worker


def test_k_samples_are_consecutive_requests_with_their_own_seeds() -> None:
    rec = Recorder()
    prompts = [order_prompt(0, False), order_prompt(0, True)]
    b = backend(rec, "llama-server")
    b.generate(prompts, GenerationParams(n=3, temperature=0.7, seed=11, max_new_tokens=8))
    assert [body["n"] for _, _, body in rec.calls] == [1] * 6
    assert len({thread for thread, _, _ in rec.calls}) == 1  # one chain: one worker, in order
    expected = [sample_seed(11, p, i) for p in prompts for i in range(3)]
    assert [body["seed"] for _, _, body in rec.calls] == expected
    info = b.info()
    assert info["n_native"] is False and info["prefix_chains"] is True
    assert (info["prompt_tokens_total"], info["prompt_tokens_cached"]) == (6 * 40, 6 * 30)


def test_other_servers_get_every_prompt_as_its_own_request() -> None:
    rec = Recorder()
    b = backend(rec, "vllm")
    b.generate([order_prompt(i, sw) for i in range(2) for sw in (False, True)], GenerationParams())
    assert b.info()["prefix_chains"] is False and len(rec.calls) == 4
