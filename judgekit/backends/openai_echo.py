"""Prompt-token log-probs from an OpenAI-compatible ``/completions`` server (``echo`` + ``logprobs``).

The likelihood judges send ``render(context) + continuation`` as the prompt with
``echo: true, logprobs: 0, max_tokens: 1`` and read the log-probs of the prompt tokens
that start at or after the continuation's first character (``text_offset``). vLLM's
OpenAI server and llama-cpp-python's server answer this; llama.cpp's ``llama-server``
does not echo prompt tokens, so the backend refuses it before sending anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from judgekit.backends.http_util import RequestFailure

ECHO_REFUSED_STYLES = ("llama-server",)


def echo_body(model: str, prompt_text: str) -> dict[str, Any]:
    """The request: echo the prompt with its token log-probs, generate (and ignore) one token."""
    return {"model": model, "prompt": prompt_text, "echo": True, "logprobs": 0, "max_tokens": 1, "temperature": 0}


def continuation_logprobs(data: Mapping[str, Any], context_chars: int, total_chars: int) -> list[float | None]:
    """Log-probs of the echoed tokens in ``[context_chars, total_chars)``; ``None`` where the server gave null.

    Raises :class:`RequestFailure` when the reply has no echoed log-probs, or when a
    token straddles the context/continuation boundary (the split would be a guess).
    """
    choices = data.get("choices") or []
    lp = choices[0].get("logprobs") if choices and isinstance(choices[0], Mapping) else None
    if not isinstance(lp, Mapping) or not lp.get("token_logprobs") or not lp.get("text_offset"):
        raise RequestFailure("server returned no prompt-token log-probs for echo=true (it does not support echo)")
    offsets, values = list(lp["text_offset"]), list(lp["token_logprobs"])
    if context_chars < total_chars and context_chars not in offsets:
        raise RequestFailure(f"a token crosses the context/continuation boundary (character {context_chars})")
    out: list[float | None] = []
    for off, val in zip(offsets, values, strict=False):
        if context_chars <= int(off) < total_chars:
            out.append(None if val is None else float(val))
    return out
