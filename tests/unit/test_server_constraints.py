"""What a GPU user's first run meets: server styles, version parsing, the constraint probe, greedy k > 1.

Request shapes are checked against the upstream field names: SGLang's
``ChatCompletionRequest`` / ``CompletionRequest`` (``regex``, ``ebnf``, ``json_schema``,
``continue_final_message``, in ``python/sglang/srt/entrypoints/openai/protocol.py``)
and vLLM's ``structured_outputs`` (``guided_*`` before 0.10.2, removed in 0.12).
Servers are the local fault server on 127.0.0.1.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgekit.backends.http_util import RetryPolicy
from judgekit.backends.openai import PROBE_PATTERN, OpenAIBackend
from judgekit.backends.openai_requests import (
    constraint_fields,
    generation_body,
    prompt_fields,
    style_from_server,
)
from judgekit.cli import app
from judgekit.core.errors import ConfigError
from judgekit.core.types import Constraint, GenerationParams, Message, Prompt
from judgekit.protocols.base import JudgeConfig
from tests.fault_server import FaultServer, constraint_literal

ROOT = Path(__file__).resolve().parents[2]
FAST = RetryPolicy(max_retries=1, backoff_base=0.01, backoff_max=0.02)
SCHEMA = {"type": "object", "properties": {"verdict": {"enum": ["A", "B"]}}, "required": ["verdict"]}
REGEX = GenerationParams(constraint=Constraint("regex", "[AB]"))


def prompt(text: str, prefix: str = "") -> Prompt:
    return Prompt(messages=(Message("user", text),), template="t", template_hash="h", assistant_prefix=prefix)


def make(server: FaultServer, **kw: object) -> OpenAIBackend:
    return OpenAIBackend(server.base_url, "fault-model", api_key_env="", retry_policy=FAST, **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------- request shapes
def test_sglang_fields_match_its_protocol() -> None:
    rx = Constraint("regex", r"Verdict: \[\[(A|B)\]\]")
    js = Constraint("json_schema", json.dumps(SCHEMA))
    assert constraint_fields(rx, "sglang", "chat") == {"regex": rx.pattern}
    assert constraint_fields(rx, "sglang", "completions") == {"regex": rx.pattern}
    # Completions take json_schema as a string; chat takes OpenAI's response_format.
    assert constraint_fields(js, "sglang", "completions") == {"json_schema": js.pattern}
    spec = {"name": "judgekit_verdict", "schema": SCHEMA}
    assert constraint_fields(js, "sglang", "chat") == {"response_format": {"type": "json_schema", "json_schema": spec}}
    body = prompt_fields(prompt("Which?", "Verdict: [["), "sglang", "chat", None)
    assert body["messages"][-1] == {"role": "assistant", "content": "Verdict: [["}
    assert body["continue_final_message"] is True and "add_generation_prompt" not in body


def test_vllm_versions_parsed_by_packaging() -> None:
    # By hand, "0.10.1rc1" read as (0, 10, 11) and "0.10.1+cu126" as (0, 10, 1126): both "new".
    assert style_from_server("vllm", "0.10.1rc1") == "vllm-legacy"
    assert style_from_server("vllm", "0.10.1+cu126") == "vllm-legacy"
    assert style_from_server("vllm", "0.10.1.1") == "vllm-legacy"
    assert style_from_server("vllm", "0.10.2rc2") == "vllm"
    assert style_from_server("vllm", "0.11.0+cu128") == "vllm"
    assert style_from_server("vllm", "0.12.0.dev7+g1234abc") == "vllm"
    assert style_from_server("vllm", "not-a-version") == "vllm"
    assert style_from_server("sglang", None) == "sglang"


def test_fake_server_honours_only_literal_constraints() -> None:
    assert constraint_literal({"structured_outputs": {"regex": PROBE_PATTERN}}) == PROBE_PATTERN
    assert constraint_literal({"guided_regex": PROBE_PATTERN}) == PROBE_PATTERN
    assert constraint_literal({"grammar": f'root ::= "{PROBE_PATTERN}"'}) == PROBE_PATTERN
    assert constraint_literal({"regex": "[AB]"}) is None and constraint_literal({}) is None


# ---------------------------------------------------------------- the constraint probe
@pytest.mark.parametrize(("owned_by", "version", "field"), [
    ("vllm", "0.11.0", "structured_outputs"), ("vllm", "0.10.1rc1", "guided_regex"), ("sglang", "", "regex"),
])
def test_probe_confirms_an_enforcing_server(owned_by: str, version: str, field: str) -> None:
    with FaultServer(owned_by=owned_by, version=version) as server, warnings.catch_warnings():
        warnings.simplefilter("error")
        backend = make(server)
        backend.generate([prompt("q")], REGEX)
        probe, request = server.bodies
        assert field in probe and field in request
        info = backend.info()
        assert info["constraint_probe"] == "enforced" and info["constraint_fallback"] is False
        backend.generate([prompt("r")], REGEX)
        assert len(server.bodies) == 3  # one probe per backend


def test_probe_catches_a_server_that_ignores_the_field() -> None:
    with FaultServer(owned_by="vllm", constraints="ignore") as server:
        backend = make(server)
        with pytest.warns(RuntimeWarning, match="does not enforce 'vllm' constraints"):
            backend.generate([prompt("q"), prompt("r")], REGEX)
        info = backend.info()
        assert info["constraint_probe"].startswith("ignored: answered 'echo:")
        assert info["constraint_fallback"] is True and info["constraint_fallbacks"] == 2
        assert not backend.supports_constraints
        assert all("structured_outputs" not in b for b in server.bodies[1:])  # decoded freely, recorded


def test_probe_catches_a_server_that_refuses_the_field() -> None:
    with FaultServer(owned_by="vllm", constraints="refuse") as server:
        backend = make(server)
        with pytest.warns(RuntimeWarning, match="probe refused: HTTP 400"):
            out = backend.generate([prompt("q")], REGEX)
        assert out[0][0].text == "echo: q" and backend.info()["constraint_fallbacks"] == 1


def test_probe_is_skipped_when_off_or_unconstrained() -> None:
    with FaultServer(owned_by="vllm") as server:
        backend = make(server)
        backend.generate([prompt("q")], GenerationParams())
        assert len(server.bodies) == 1 and backend.info()["constraint_probe"] is None
        off = make(server, probe_constraints=False)
        off.generate([prompt("q")], REGEX)
        assert len(server.bodies) == 2 and off.info()["constraint_probe"] == "off"


# ---------------------------------------------------------------- greedy with k > 1
def test_greedy_samples_refused_by_config_backend_and_cli(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs temperature > 0"):
        JudgeConfig(samples=3)
    assert JudgeConfig(samples=3, temperature=0.7).samples == 3
    assert JudgeConfig(samples=3, method="logit").samples == 3  # logit mode does not sample
    body, _ = generation_body(prompt("q"), GenerationParams(), model="m", style="vllm", mode="chat", n=1, seed=0)
    assert body["n"] == 1
    with FaultServer() as server:
        with pytest.raises(ValueError, match="temperature > 0"):
            make(server).generate([prompt("q")], GenerationParams(n=2))
        assert server.bodies == []
    result = CliRunner().invoke(app, ["judge", str(ROOT / "examples" / "pairs.jsonl"), "--backend", "fake",
                                      "--samples", "3", "--temperature", "0", "-o", str(tmp_path)])
    assert result.exit_code == 2 and "needs temperature > 0" in result.output
