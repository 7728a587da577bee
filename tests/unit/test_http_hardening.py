"""The HTTP backend against replies a careful user meets: odd shapes, drips, refusals, leaks."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from judgekit.backends.http_util import RetryPolicy, check_chat_template, redact
from judgekit.backends.openai import OpenAIBackend
from judgekit.core.backend import PartialGenerationError
from judgekit.core.cache import CallCache
from judgekit.core.runner import Runner
from judgekit.core.types import GenerationParams, Message, Prompt, Sample
from judgekit.judge import run_judge
from judgekit.protocols.base import get_protocol
from tests.fault_server import FaultServer

FAST = RetryPolicy(max_retries=1, backoff_base=0.01, backoff_max=0.02)


def prompt(text: str) -> Prompt:
    return Prompt(messages=(Message("user", text),), template="t", template_hash="h")


def make(server: FaultServer, **kw: object) -> OpenAIBackend:
    kw.setdefault("retry_policy", FAST)
    return OpenAIBackend(server.base_url, "fault-model", api_key_env="", **kw)  # type: ignore[arg-type]


def test_null_index_is_read_and_a_bad_index_fails_only_its_prompt(tmp_path: Path) -> None:
    texts = ["ok 0", "FAULT:index:inf:null", 'FAULT:index:inf:"zero"', "ok 3"]
    cache = CallCache(tmp_path / "calls.sqlite")
    with FaultServer() as server:
        runner = Runner(make(server), cache=cache)
        with pytest.raises(PartialGenerationError) as err:
            runner.generate([prompt(t) for t in texts], GenerationParams())
        assert list(err.value.errors) == [2] and "index is not an integer" in err.value.errors[2]
        got = [r[0].text if r else None for r in err.value.results]
        assert got == ["echo: ok 0", "echo: FAULT:index:inf:null", None, "echo: ok 3"]
        # the same server, healed (a second server is another cache identity): the three
        # good results reached the cache, so only the failed prompt is sent again
        before = {k: len(v) for k, v in server.attempts.items()}
        server.faults = False
        Runner(make(server), cache=cache).generate([prompt(t) for t in texts], GenerationParams())
        assert {k for k, v in server.attempts.items() if len(v) != before.get(k)} == {'FAULT:index:inf:"zero"'}
    cache.close()


def test_timeout_bounds_the_whole_request_not_each_read() -> None:
    with FaultServer() as server:
        backend = make(server, timeout=0.5, retry_policy=RetryPolicy(max_retries=0))
        with pytest.raises(PartialGenerationError) as err:  # one byte per 0.05 s: ~10 s for the body
            backend.generate([prompt("FAULT:drip:inf:0.05")], GenerationParams())
    assert "deadline" in err.value.errors[0]


def test_server_error_bodies_are_quoted_without_credentials() -> None:
    with FaultServer() as server, pytest.raises(PartialGenerationError) as err:
        make(server).generate([prompt("FAULT:leak:inf")], GenerationParams())
    message = str(err.value)
    assert "HTTP 500" in message and "upstream refused" in message
    assert "sk-live-0123456789abcdef" not in message and "hunter2-secret-value" not in message
    assert redact("x Bearer abc.def y", ["zzz"]) == "x Bearer [redacted] y"
    assert redact('{"token": "t0ps3cret"} my-key-value', ["my-key-value"]) == '{"token": "[redacted]"} [redacted]'
    assert redact("hf_abcdefghijklmnop and ghp_abcdefghijklmnop") == "[redacted] and [redacted]"


def test_prompt_too_long_for_the_server_is_skipped_not_a_failure(tmp_path: Path) -> None:
    samples = [Sample(id=f"s{i}", prompt=f"Question {i}?" + (" FAULT:toolong:inf" if i == 1 else ""),
                      responses=("good", "bad"), label="A") for i in range(3)]
    with FaultServer() as server:
        runner = Runner(make(server), cache=CallCache(tmp_path / "calls.sqlite"))
        result = run_judge(samples, get_protocol("pairwise"), runner, tmp_path / "run")
        long_attempts = sum(len(v) for k, v in server.attempts.items() if "toolong" in k)
    skipped = result.judgments[1]
    assert skipped.verdict is None and not skipped.parse_failure
    assert "maximum context length is 8192 tokens" in skipped.extra["skipped"]
    assert result.summary["skipped"] == 1 and result.summary["judged"] == 2
    assert long_attempts == 2  # each order refused once (a 400 is not retried), never re-sent
    assert all("skipped" not in j.extra for j in (result.judgments[0], result.judgments[2]))


@pytest.mark.parametrize("reply", [{"data": 5}, {"data": {"a": 1}}, [1, 2], {"data": [None, "x"]}, {"data": []}])
def test_models_reply_of_an_unexpected_shape_means_openai_style(reply: object) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=reply)

    backend = OpenAIBackend("http://127.0.0.1:9/v1", "m", api_key_env="", transport=httpx.MockTransport(handler))
    assert backend.constraint_style == "openai"
    assert "assumed openai" in backend.info()["constraint_style_source"]


@pytest.mark.parametrize("template", [
    "{% for m in messages %}{{ m.content }",  # syntax error
    "{{ messages.__class__.__mro__ }}",  # sandbox violation
    "{{ ''.__class__.__subclasses__() }}",
])
def test_broken_chat_template_fails_when_the_backend_is_built(template: str) -> None:
    with pytest.raises(ValueError, match="chat template does not render"):
        check_chat_template(template)
    with pytest.raises(ValueError, match="chat template does not render"):
        OpenAIBackend("http://127.0.0.1:9/v1", "m", api_key_env="", constraint_style="openai", mode="completions",
                      chat_template=template)
    ok = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}"
    assert check_chat_template(ok) == ok
