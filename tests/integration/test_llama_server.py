"""The HTTP backend against llama.cpp's C++ ``llama-server`` (parallel slots) on 127.0.0.1.

The binary comes from ``scripts/build_llama_server.sh`` (pinned source, portable flags);
it is found at ``$JUDGEKIT_LLAMA_SERVER`` or ``.ci/llama-server/bin/llama-server``. Without
it the tests skip: CI does not build it (see docs/engines.md, "llama-server").
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from judgekit.backends.llamacpp_server import ServerStartError, serve_gguf
from judgekit.backends.openai import OpenAIBackend
from judgekit.core.formats import FORMATS
from judgekit.core.models import default_model_path
from judgekit.core.types import GenerationParams, Message, ParseFailure, Prompt

pytestmark = [pytest.mark.integration, pytest.mark.server]

ROOT = Path(__file__).resolve().parents[2]
SLOTS = 4


def server_binary() -> Path | None:
    """The llama-server binary to test, if one was built."""
    given = os.environ.get("JUDGEKIT_LLAMA_SERVER")
    path = Path(given) if given else ROOT / ".ci" / "llama-server" / "bin" / "llama-server"
    return path if path.is_file() and os.access(path, os.X_OK) else None


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """Start llama-server with parallel slots, yield its ``/v1`` URL, stop it."""
    binary = server_binary()
    if binary is None:
        pytest.skip("no llama-server binary: build it with scripts/build_llama_server.sh")
    try:
        with serve_gguf(default_model_path(), server_bin=binary, parallel=SLOTS, threads=1) as url:
            yield url
    except ServerStartError as err:
        pytest.fail(str(err))


def ask(text: str, prefix: str = "") -> Prompt:
    return Prompt(messages=(Message("user", text),), template="t", template_hash="h", assistant_prefix=prefix)


QUESTIONS = [
    "Question: Is 17 a prime number?\nResponse A: Yes.\nResponse B: No, 17 = 3 x 6.",
    "Question: What is the capital of France?\nResponse A: Paris.\nResponse B: Lyon.",
    "Question: Name a mammal.\nResponse A: A trout.\nResponse B: A dolphin.",
    "Question: 2 + 2?\nResponse A: 5\nResponse B: 4",
]


def test_constrained_verdicts_parse_on_parallel_slots(server: str) -> None:
    """Detected as llama-server; the verdict regex goes as GBNF; four requests in flight at once."""
    fmt = FORMATS["pairwise"]
    backend = OpenAIBackend(server, "smollm2", api_key_env="", concurrency=SLOTS)
    assert backend.constraint_style == "llama-server" and backend.supports_constraints
    params = GenerationParams(max_new_tokens=64, constraint=fmt.constraint())
    outs = backend.generate([ask(f"{fmt.instructions}\n\n{q}") for q in QUESTIONS], params)
    for (gen,) in outs:
        assert not isinstance(fmt.parse(gen.text), ParseFailure), gen.text
    assert backend.info()["constraint_fallback"] is False


def test_chat_prefill_is_continued(server: str) -> None:
    """llama-server continues a trailing assistant message: logit mode works in chat mode."""
    fmt = FORMATS["pairwise"]
    backend = OpenAIBackend(server, "smollm2", api_key_env="")
    prompts = [ask(f"{fmt.logit_instructions}\n\n{q}", fmt.logit_prefix) for q in QUESTIONS[:2]]
    probs = backend.score_choices(prompts, list(fmt.logit_choices.values()))
    for p in probs:
        assert sum(p.values()) == pytest.approx(1.0) and set(p) == {"A", "B", "tie"}
    assert backend.info()["choices_not_in_top_logprobs"] == 0  # real logprobs after the prefix, not uniform
