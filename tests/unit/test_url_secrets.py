"""Issue 29 item 12: a query-string secret in --base-url never reaches a manifest or an error line."""

from __future__ import annotations

import json

import httpx
import pytest

from judgekit.backends.http_util import RetryPolicy, endpoint, public_url
from judgekit.backends.openai import OpenAIBackend
from judgekit.core.backend import PartialGenerationError
from judgekit.core.runner import Runner
from judgekit.core.types import GenerationParams, Message, Prompt

SECRET = "QS3cr3tVALUE"


def test_public_url_redacts_query_values_and_userinfo() -> None:
    url = f"http://user:pw@127.0.0.1:9/v1?key={SECRET}&flag&x=%2F{SECRET}"
    shown = public_url(url)
    assert SECRET not in shown and "pw" not in shown
    assert shown == "http://127.0.0.1:9/v1?key=[redacted]&flag&x=[redacted]"
    assert endpoint(f"http://h:1/v1/?key={SECRET}", "/models") == f"http://h:1/v1/models?key={SECRET}"


def test_query_secret_stays_out_of_manifest_identity_and_errors() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(500, text=f"upstream failed for {request.url} (key {SECRET})")

    backend = OpenAIBackend(f"http://127.0.0.1:9/v1?key={SECRET}", "m", api_key_env="", constraint_style="openai",
                            retry_policy=RetryPolicy(max_retries=0), transport=httpx.MockTransport(handler))
    prompt = Prompt(messages=(Message("user", "q"),), template="t", template_hash="h")
    with pytest.raises(PartialGenerationError) as err:
        backend.generate([prompt], GenerationParams())
    assert seen == [f"http://127.0.0.1:9/v1/chat/completions?key={SECRET}"]  # the secret is still sent
    exposed = json.dumps(backend.info()) + repr(backend) + str(err.value) + json.dumps(Runner(backend).identity())
    assert SECRET not in exposed
    assert "key=[redacted]" in json.dumps(backend.info())
