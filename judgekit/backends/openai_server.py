"""What an OpenAI-compatible server is and enforces: its constraint style, and the constraint probe.

The style is read from the server when the backend is created (``/models``'s
``owned_by``, vLLM's ``/version``); a failed detection means ``"openai"``. Before the
first constrained generation one probe request (a pattern no model writes unasked)
checks that the server really enforces the constraint field of its style.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import httpx

from judgekit.backends.http_util import RequestFailure, endpoint, parse_choices, public_url
from judgekit.backends.openai_requests import constraint_kinds, generation_body, style_from_server
from judgekit.core.types import Constraint, GenerationParams, Message, Prompt

# The constraint probe: a pattern no model writes unasked after this prompt.
PROBE_PATTERN = "zq-judgekit-probe-7"
PROBE_PROMPT = Prompt(messages=(Message("user", "Say hello."),), template="constraint-probe", template_hash="probe")


def detect_style(client: httpx.Client, base_url: str, model: str) -> tuple[str, str]:
    """``(constraint style, how it was found)`` from the server's ``/models`` (and vLLM's ``/version``)."""
    try:
        models = client.get(endpoint(base_url, "/models")).json()
    except (httpx.HTTPError, ValueError) as exc:
        return "openai", f"detection failed ({type(exc).__name__}); assumed openai"
    data = models.get("data") if isinstance(models, dict) else None
    entries = [m for m in data if isinstance(m, dict)] if isinstance(data, list) else []
    if not entries:
        return "openai", "detection failed (unexpected /models reply); assumed openai"
    owned_by = next((m.get("owned_by") for m in entries if m.get("id") == model), entries[0].get("owned_by"))
    owned_by = owned_by if isinstance(owned_by, str) else None
    version = None
    if owned_by == "vllm":
        root = base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url
        try:
            version = str(client.get(f"{root}/version").json().get("version"))
        except (httpx.HTTPError, ValueError, AttributeError):
            version = None
    note = f"detected from owned_by={owned_by!r}" + (f", version={version}" if version else "")
    return style_from_server(owned_by, version), note


def probe_constraint(backend: Any) -> None:
    """Send one constrained request and check the server enforced it.

    ``backend`` is the :class:`~judgekit.backends.openai.OpenAIBackend` (see its
    docstring): the outcome goes to its ``_probe``; a server that refused or ignored
    the constraint field turns its constraints off, with a warning.
    """
    if "regex" not in constraint_kinds(backend.constraint_style, backend.mode):
        backend._probe = "not sent (style enforces no regex)"
        return
    params = GenerationParams(max_new_tokens=16, constraint=Constraint("regex", PROBE_PATTERN))
    body, _ = generation_body(
        PROBE_PROMPT, params, model=backend.model, style=backend.constraint_style, mode=backend.mode, n=1, seed=0,
        chat_template=backend.chat_template,
    )
    try:
        text = parse_choices(backend._post(body), backend.mode)[0].text
    except RequestFailure as exc:
        if "(not retried)" not in str(exc):  # a sick server says nothing about constraints
            backend._probe = f"inconclusive: {exc}"
            return
        backend._probe, backend._constraints_ignored = f"refused: {exc}", True
    else:
        if re.fullmatch(PROBE_PATTERN, text.strip()):
            backend._probe = "enforced"
            return
        backend._probe, backend._constraints_ignored = f"ignored: answered {text[:60]!r}", True
    backend.supports_constraints = False
    warnings.warn(
        f"{public_url(backend.base_url)} does not enforce {backend.constraint_style!r} constraints "
        f"(probe {backend._probe}); decoding freely, recorded as constraint_fallback. "
        "Set --constraint-style to the server's kind (vllm, vllm-legacy, sglang, llamacpp).",
        RuntimeWarning,
        stacklevel=3,
    )
