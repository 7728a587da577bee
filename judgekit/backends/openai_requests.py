"""Pure request building for OpenAI-compatible servers (vLLM, llama.cpp, OpenAI...).

Servers agree on the core of the chat-completions and completions APIs but each
spells structured outputs and assistant prefill its own way. This module maps a
judgekit :class:`~judgekit.core.types.Constraint` and :class:`~judgekit.core.types.Prompt`
to request bodies for one *constraint style*:

``vllm``         vLLM >= 0.10.2: ``structured_outputs: {"regex"|"json": ...}``, prefill
                 with ``continue_final_message``.
``vllm-legacy``  vLLM < 0.10.2: ``guided_regex`` / ``guided_json``.
``sglang``       SGLang: top-level ``regex``; JSON schemas as ``response_format`` (chat) or
                 ``json_schema`` (a string, completions); prefill with ``continue_final_message``.
``openai``       ``response_format: {"type": "json_schema", ...}`` (chat, JSON only).
``llamacpp``     llama-cpp-python's server: regexes as a GBNF ``grammar`` (translated by
                 :mod:`judgekit.backends.gbnf`, chat and completions), JSON schemas as
                 ``response_format: {"type": "json_object", "schema": ...}`` (chat only);
                 no chat prefill (its chat template always opens a new assistant turn).
``llama-server`` llama.cpp's C++ server: ``grammar`` (GBNF) or ``json_schema`` in both
                 modes; a trailing assistant message is continued (prefill).
``none``         never constrain.

A regex outside the subset :mod:`judgekit.backends.gbnf` translates falls back to
free decoding (recorded), like any constraint a server cannot enforce.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from judgekit.backends.chat_template import render_chat_template
from judgekit.backends.gbnf import regex_to_gbnf
from judgekit.core.special_tokens import neutralise_messages
from judgekit.core.types import Constraint, GenerationParams, Message, Prompt

Mode = Literal["chat", "completions"]
STYLES = ("vllm", "vllm-legacy", "sglang", "openai", "llamacpp", "llama-server", "none")
GRAMMAR_STYLES = ("llamacpp", "llama-server")
SCHEMA_NAME = "judgekit_verdict"


def constraint_kinds(style: str, mode: str) -> frozenset[str]:
    """Constraint kinds a server of ``style`` enforces in ``mode``."""
    if style in ("vllm", "vllm-legacy", "sglang", "llama-server"):
        return frozenset({"regex", "json_schema"})
    if style == "llamacpp":
        return frozenset({"regex", "json_schema"} if mode == "chat" else {"regex"})
    if style == "openai" and mode == "chat":
        return frozenset({"json_schema"})
    return frozenset()


def constraint_fields(
    constraint: Constraint | None, style: str, mode: str, max_chars: int | None = None
) -> dict[str, Any] | None:
    """Request fields enforcing ``constraint``; ``{}`` when none is asked.

    Returns ``None`` when the server cannot enforce it: the caller then decodes
    freely and records the fallback. ``max_chars`` (the token budget) caps the
    open repeats of a GBNF grammar so the verdict fits (see :mod:`judgekit.backends.gbnf`).
    """
    if constraint is None:
        return {}
    if constraint.kind not in constraint_kinds(style, mode):
        return None
    if constraint.kind == "regex" and style in GRAMMAR_STYLES:
        try:
            return {"grammar": regex_to_gbnf(constraint.pattern, max_chars)}
        except ValueError:
            return None
    if style == "sglang":
        return _sglang_fields(constraint, mode)
    if constraint.kind == "regex":
        if style == "vllm":
            return {"structured_outputs": {"regex": constraint.pattern}}
        return {"guided_regex": constraint.pattern}
    schema = json.loads(constraint.pattern)
    if style == "vllm":
        return {"structured_outputs": {"json": schema}}
    if style == "vllm-legacy":
        return {"guided_json": schema}
    if style == "llama-server":
        return {"json_schema": schema}
    if style == "openai":
        spec = {"name": SCHEMA_NAME, "schema": schema, "strict": True}
        return {"response_format": {"type": "json_schema", "json_schema": spec}}
    return {"response_format": {"type": "json_object", "schema": schema}}


def _sglang_fields(constraint: Constraint, mode: str) -> dict[str, Any]:
    """SGLang's fields (``ChatCompletionRequest`` / ``CompletionRequest`` in its ``protocol.py``)."""
    if constraint.kind == "regex":
        return {"regex": constraint.pattern}
    if mode == "completions":
        return {"json_schema": constraint.pattern}  # a JSON string there
    spec = {"name": SCHEMA_NAME, "schema": json.loads(constraint.pattern)}
    return {"response_format": {"type": "json_schema", "json_schema": spec}}


def prefill_supported(style: str, mode: str, chat_template: str | None) -> bool:
    """Whether prompts with an ``assistant_prefix`` can be sent in this configuration."""
    if mode == "completions":
        return chat_template is not None
    return style in ("vllm", "vllm-legacy", "sglang", "llama-server")


def _messages(messages: Sequence[Message]) -> list[dict[str, str]]:
    """Chat messages with special-token strings in their contents neutralised (:mod:`judgekit.core.special_tokens`)."""
    return neutralise_messages([(m.role, m.content) for m in messages])


def prompt_fields(prompt: Prompt, style: str, mode: str, chat_template: str | None) -> dict[str, Any]:
    """``messages`` (chat) or ``prompt`` (completions) for one judgekit prompt.

    Chat mode sends an ``assistant_prefix`` as a final assistant message continued by
    the server (vLLM's ``continue_final_message``; llama-server continues a trailing
    assistant message by itself); completions mode renders the chat
    template client-side and appends the prefix. Raises ``ValueError`` where the
    configuration cannot express a prefix (decoding would not start after it).
    """
    if mode == "completions":
        if chat_template is None:
            raise ValueError("completions mode needs chat_template (the model's Jinja chat template)")
        return {"prompt": render_chat_template(chat_template, prompt.messages, prompt.assistant_prefix)}
    body: dict[str, Any] = {"messages": _messages(prompt.messages)}
    if prompt.assistant_prefix:
        if not prefill_supported(style, mode, chat_template):
            raise ValueError(
                f"constraint_style={style!r} in chat mode cannot continue an assistant prefix "
                f"({prompt.assistant_prefix!r}); use a vLLM server or llama-server, or mode='completions' "
                "with chat_template"
            )
        body["messages"].append({"role": "assistant", "content": prompt.assistant_prefix})
        if style == "llama-server":
            return body
        body["continue_final_message"] = True
        if style != "sglang":  # SGLang has no add_generation_prompt field
            body["add_generation_prompt"] = False
    return body


def generation_body(
    prompt: Prompt,
    params: GenerationParams,
    *,
    model: str,
    style: str,
    mode: str,
    n: int,
    seed: int,
    chat_template: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Request body for ``n`` samples of ``prompt``, and whether the constraint fell back."""
    body: dict[str, Any] = {"model": model, **prompt_fields(prompt, style, mode, chat_template)}
    body.update(
        max_tokens=params.max_new_tokens, temperature=params.temperature, top_p=params.top_p, n=n, seed=seed
    )
    if params.stop:
        body["stop"] = list(params.stop)
    fields = constraint_fields(params.constraint, style, mode, max_chars=params.max_new_tokens)
    if fields is not None:
        body.update(fields)
    return body, fields is None


def choice_body(
    prompt: Prompt, *, model: str, style: str, mode: str, top_logprobs: int, chat_template: str | None = None
) -> dict[str, Any]:
    """Request body for the first-token alternatives after ``prompt`` (logit mode)."""
    body: dict[str, Any] = {"model": model, **prompt_fields(prompt, style, mode, chat_template)}
    body.update(max_tokens=1, temperature=0.0, n=1)
    if mode == "chat":
        body.update(logprobs=True, top_logprobs=top_logprobs)
    else:
        body["logprobs"] = top_logprobs
    return body


def style_from_server(owned_by: str | None, version: str | None) -> str:
    """Guess the constraint style from ``/models``' ``owned_by`` and vLLM's ``/version``.

    Versions are compared with :mod:`packaging` on their release numbers, so
    ``0.10.2rc1`` and ``0.10.2+cu126`` count as 0.10.2 (``structured_outputs``); an
    unparseable version is taken as current.
    """
    if owned_by == "vllm":
        if version and _release(version) < (0, 10, 2):
            return "vllm-legacy"
        return "vllm"
    if owned_by == "sglang":
        return "sglang"
    if owned_by == "llamacpp":  # llama.cpp's C++ llama-server
        return "llama-server"
    if owned_by == "me":  # llama-cpp-python's server
        return "llamacpp"
    return "openai"


def _release(version: str) -> tuple[int, ...]:
    """Release numbers of a PEP 440 version (pre/post/local parts dropped); ``(inf,)`` if unparseable."""
    from packaging.version import InvalidVersion, Version

    try:
        return Version(version).release
    except InvalidVersion:
        return (1 << 30,)
