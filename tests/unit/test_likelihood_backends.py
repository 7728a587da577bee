"""The continuation-scoring capability on the HTTP and vLLM backends (no server, no vLLM), and its refusals."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from judgekit.backends.http_util import RequestFailure, RetryPolicy
from judgekit.backends.openai import OpenAIBackend
from judgekit.backends.openai_echo import continuation_logprobs
from judgekit.backends.vllm import continuation_inputs, tail_logprobs
from judgekit.core.errors import ConfigError
from judgekit.core.types import Message, Prompt
from tests.unit.test_openai_backend import CHATML
from tests.unit.test_vllm_requests import CharTokenizer


def ctx(text: str) -> Prompt:
    return Prompt(messages=(Message("user", text),), template="likelihood", template_hash="h")


def echo_server(seen: list[dict]) -> httpx.MockTransport:
    """Echoes the prompt, one token per run of non-space characters or per space character (with its text_offset),
    log-prob -0.1 x token index; null for the first token, as servers send it."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        text = body["prompt"]
        tokens = list(re.finditer(r"\S+|\s", text))
        lps = [None] + [-0.1 * k for k in range(1, len(tokens))]
        return httpx.Response(200, json={"choices": [{"text": text + "x", "logprobs": {
            "tokens": [t.group() for t in tokens], "token_logprobs": lps,
            "text_offset": [t.start() for t in tokens]}}]})

    return httpx.MockTransport(handler)


def backend(seen: list[dict], **kw: object) -> OpenAIBackend:
    opts: dict = {"mode": "completions", "chat_template": CHATML, "constraint_style": "vllm", **kw}
    return OpenAIBackend("http://127.0.0.1:9/v1", "m", api_key_env="", retry_policy=RetryPolicy(max_retries=0),
                         transport=echo_server(seen), **opts)


def test_openai_echo_reads_the_continuation_tokens_only() -> None:
    seen: list[dict] = []
    head = "<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"
    [score] = backend(seen).score_continuations([ctx("Q")], ["two words"])
    assert seen[0]["echo"] is True and seen[0]["logprobs"] == 0 and seen[0]["prompt"] == head + "two words"
    n_head = len(re.findall(r"\S+|\s", head))
    assert score.n_chars == len("two words") and score.values is None
    assert score.logprobs == pytest.approx([-0.1 * n_head, -0.1 * (n_head + 1), -0.1 * (n_head + 2)])


def test_echo_reply_without_logprobs_or_with_a_straddling_token_fails_loudly() -> None:
    with pytest.raises(RequestFailure, match="does not support echo"):
        continuation_logprobs({"choices": [{"text": "x"}]}, 3, 5)
    reply = {"choices": [{"logprobs": {"token_logprobs": [None, -1.0], "text_offset": [0, 2]}}]}
    with pytest.raises(RequestFailure, match="crosses"):
        continuation_logprobs(reply, 3, 5)
    assert continuation_logprobs(reply, 2, 5) == [-1.0]


def test_openai_refusals_are_one_line_config_errors() -> None:
    seen: list[dict] = []
    with pytest.raises(ConfigError, match="llama-server does not return prompt-token log-probs"):
        backend(seen, constraint_style="llama-server").score_continuations([ctx("Q")], ["a"])
    with pytest.raises(ConfigError, match="mode=completions"):
        OpenAIBackend("http://127.0.0.1:9/v1", "m", constraint_style="openai").score_continuations([ctx("Q")], ["a"])
    with pytest.raises(ConfigError, match="endogenous"):
        backend(seen).score_continuations([ctx("Q")], ["a"], values=True)
    assert seen == []  # nothing was sent


def test_vllm_continuation_inputs_and_prompt_logprobs() -> None:
    tok = CharTokenizer()
    inputs, tails = continuation_inputs([ctx("Q")], ["ab"], tok)
    ids = inputs[0]["prompt_token_ids"]
    assert tails == [2] and ids[-2:] == [ord("a"), ord("b")]
    plp: list[dict | None] = [None] + [{t: -0.5} for t in ids[1:]]
    plp[-1] = {999: -0.1}  # the actual token is missing from the entry: None, not a guess
    assert tail_logprobs(plp, ids, 2) == [-0.5, None]
