"""HTTP plumbing for OpenAI-compatible servers: retries, errors, response reading.

Chat templates (rendering, checking, finding them) live in
:mod:`judgekit.backends.chat_template` and are re-exported here. Everything here
is a pure function or a small class with injected ``sleep`` and random source, so
the retry schedule can be unit-tested without waiting.
"""

from __future__ import annotations

import email.utils
import json
import math
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

import httpx

from judgekit.backends.chat_template import (
    chat_template_from_gguf,
    check_chat_template,
    load_chat_template,
    render_chat_template,
)

__all__ = [
    "RETRY_STATUS", "ContextTooLong", "ParsedChoice", "RequestFailure", "RetryPolicy", "ServerUnreachable",
    "backoff_delay", "chat_template_from_gguf", "check_chat_template", "choice_probs", "endpoint",
    "load_chat_template", "parse_choices", "parse_retry_after", "post_json", "public_url", "redact",
    "render_chat_template", "url_secrets",
]

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one request.

    ``max_retries`` retries follow the first attempt. Without ``Retry-After`` the
    wait before retry ``k`` (0-based) is drawn from ``[d/2, d]`` with
    ``d = min(backoff_max, backoff_base * 2**k)`` (exponential backoff, equal jitter);
    a server's ``Retry-After`` is honoured, capped at ``retry_after_max``.
    """

    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 120.0


class RequestFailure(Exception):
    """One request failed for good (retries exhausted or a non-retryable error)."""


class ContextTooLong(RequestFailure):
    """The server refused the prompt as too long for the model's context (not retried)."""


# What servers say when a prompt does not fit: vLLM / OpenAI ("maximum context length",
# "context_length_exceeded"), llama-cpp-python ("exceed context window"), llama.cpp
# ("exceeds the available context size").
_CONTEXT_REFUSAL = re.compile(
    r"context[ _](length|window|size)|maximum context|too many tokens|prompt is too long", re.IGNORECASE
)
_SECRET = re.compile(
    r"(?i)(bearer\s+|(?:api[_-]?key|token|secret|password|authorization|credential)s?[\"']?\s*[:=]\s*[\"']?)"
    r"[^\s\"',;}]+"
    r"|\b(?:sk|pk|rk|hf|gh[pousr]|xox[abp])[-_][A-Za-z0-9_\-]{8,}"
    r"|\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]*"
)


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """``text`` with anything that looks like a credential replaced by ``[redacted]``.

    Covers ``Bearer ...``, ``api_key=...``/``"token": "..."`` style pairs, common key
    prefixes (``sk-``, ``hf_``, ``ghp_``, Slack ``xox?-``), JWTs, and every string in
    ``secrets`` (the key the client actually sends).
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return _SECRET.sub(lambda m: (m.group(1) or "") + "[redacted]", text)


def public_url(url: str) -> str:
    """``url`` fit for manifests and error lines: no user:password, every query value ``[redacted]``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    query = "&".join(f"{quote(k, safe='')}=[redacted]" if v else quote(k, safe='')
                     for k, v in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def url_secrets(url: str) -> list[str]:
    """The secrets a URL may carry: its password and its query values (raw and decoded)."""
    parts = urlsplit(url)
    out = [parts.password or ""]
    for raw in parts.query.split("&"):
        value = raw.partition("=")[2]
        out.append(value)
    out += [v for _, v in parse_qsl(parts.query, keep_blank_values=True)]
    return sorted({v for v in out if v}, key=len, reverse=True)


def endpoint(base_url: str, path: str) -> str:
    """``path`` appended to ``base_url``'s path, keeping its query string after it."""
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + path, parts.query, ""))


class ServerUnreachable(RequestFailure):
    """Every attempt was refused or could not connect: the server is not running (or died)."""


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


def backoff_delay(attempt: int, policy: RetryPolicy, rng: random.Random, retry_after: float | None = None) -> float:
    """Seconds to sleep before retry number ``attempt`` (0-based)."""
    if retry_after is not None:
        return min(retry_after, policy.retry_after_max)
    ceiling = min(policy.backoff_max, policy.backoff_base * (2**attempt))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def _short(text: str, limit: int = 200, secrets: Sequence[str] = ()) -> str:
    text = redact(" ".join(text.split()), secrets)
    return text if len(text) <= limit else text[:limit] + "..."


def _client_secrets(client: httpx.Client) -> list[str]:
    """The credential the client sends (its ``Authorization`` value and bare token)."""
    auth = client.headers.get("authorization") or ""
    return [auth, auth.split(" ", 1)[-1]] if auth else []


class _DeadlineExceeded(Exception):
    pass


def _send(client: httpx.Client, url: str, body: Mapping[str, Any], deadline: float | None) -> tuple[int, Any, bytes]:
    """POST and read the whole body; ``deadline`` (seconds) bounds the request, not each read."""
    end = None if deadline is None else time.monotonic() + deadline
    with client.stream("POST", url, json=body) as resp:
        chunks = []
        for chunk in resp.iter_bytes():
            chunks.append(chunk)
            if end is not None and time.monotonic() > end:
                raise _DeadlineExceeded
        return resp.status_code, resp.headers, b"".join(chunks)


def post_json(
    client: httpx.Client,
    url: str,
    body: Mapping[str, Any],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    deadline: float | None = None,
) -> dict[str, Any]:
    """POST ``body`` and return the decoded JSON object, retrying transient failures.

    Retried: connection errors, timeouts, HTTP 408/409/425/429/5xx and bodies that are
    not valid JSON (truncated responses). ``deadline`` bounds each attempt as a whole
    (a server dripping bytes slower than that times out). Other 4xx fail at once; a
    4xx saying the prompt exceeds the context raises :class:`ContextTooLong`. Raises
    :class:`RequestFailure` with the last reason when the request cannot succeed, as
    :class:`ServerUnreachable` when even the last attempt could not connect. Server
    error bodies are quoted with credentials redacted.
    """
    rng = rng or random.Random()
    secrets = _client_secrets(client) + url_secrets(url)
    reason = "no attempt made"
    refused = False
    for attempt in range(policy.max_retries + 1):
        retry_after: float | None = None
        refused = False
        try:
            status, headers, raw = _send(client, url, body, deadline)
        except _DeadlineExceeded:
            reason = f"timeout (the {deadline:g} s deadline for the whole request passed)"
        except httpx.TimeoutException as exc:
            reason = f"timeout ({type(exc).__name__})"
        except httpx.TransportError as exc:
            reason = f"connection error ({type(exc).__name__}: {_short(str(exc), secrets=secrets)})"
            refused = isinstance(exc, httpx.ConnectError)
        else:
            text = raw.decode("utf-8", "replace")
            if status == 200:
                try:
                    data = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    reason = f"malformed JSON in response: {_short(text, secrets=secrets)!r}"
                else:
                    if isinstance(data, dict):
                        return data
                    reason = f"response is not a JSON object: {_short(text, secrets=secrets)!r}"
            elif status in RETRY_STATUS or status >= 500:
                reason = f"HTTP {status}: {_short(text, secrets=secrets)}"
                retry_after = parse_retry_after(headers.get("retry-after"))
            else:
                kind = ContextTooLong if _CONTEXT_REFUSAL.search(text) else RequestFailure
                raise kind(f"HTTP {status} (not retried): {_short(text, 300, secrets)}")
        if attempt < policy.max_retries:
            sleep(backoff_delay(attempt, policy, rng, retry_after))
    if refused:  # still refused after the whole backoff schedule
        raise ServerUnreachable(f"{reason} (gave up after {policy.max_retries + 1} attempts)")
    raise RequestFailure(f"{reason} (gave up after {policy.max_retries + 1} attempts)")


@dataclass(frozen=True)
class ParsedChoice:
    """One choice of a completion response."""

    text: str
    finish_reason: str
    top_logprobs: dict[str, float] | None = None


def parse_choices(data: Mapping[str, Any], mode: str) -> list[ParsedChoice]:
    """Read ``choices`` of a chat (``mode="chat"``) or completions response.

    ``top_logprobs`` holds the alternatives for the first generated token, mapped
    token string -> log-probability (both APIs' shapes are accepted). Raises
    ``RequestFailure`` when the response lacks the fields every server sends.
    """
    raw = data.get("choices")
    if not isinstance(raw, list) or not raw:
        raise RequestFailure(f"response has no choices: {_short(json.dumps(data))!r}")
    out: list[tuple[int, ParsedChoice]] = []
    for pos, ch in enumerate(raw):
        if not isinstance(ch, dict):
            raise RequestFailure("a choice is not a JSON object")
        if mode == "chat":
            msg = ch.get("message") or {}
            text = msg.get("content") if isinstance(msg, dict) else None
        else:
            text = ch.get("text")
        if text is None:
            text = ""
        if not isinstance(text, str):
            raise RequestFailure(f"choice text is not a string: {text!r}")
        finish = ch.get("finish_reason") or "stop"
        parsed = ParsedChoice(text, str(finish), _first_top_logprobs(ch.get("logprobs")))
        index = ch.get("index")
        if index is None:  # absent or null: the choice's position
            index = pos
        if not isinstance(index, int) or isinstance(index, bool):
            raise RequestFailure(f"choice index is not an integer: {index!r}")
        out.append((index, parsed))
    out.sort(key=lambda t: t[0])
    return [c for _, c in out]


def _first_top_logprobs(lp: Any) -> dict[str, float] | None:
    """Top alternatives of the first token from a chat or completions ``logprobs``."""
    if not isinstance(lp, dict):
        return None
    content = lp.get("content")
    if isinstance(content, list) and content:  # chat shape
        first = content[0] or {}
        tops = first.get("top_logprobs") or []
        result = {t["token"]: float(t["logprob"]) for t in tops if isinstance(t, dict) and "token" in t}
        if "token" in first and "logprob" in first:
            result.setdefault(first["token"], float(first["logprob"]))
        return result
    tops = lp.get("top_logprobs")
    if isinstance(tops, list) and tops and isinstance(tops[0], dict):  # completions shape
        return {str(k): float(v) for k, v in tops[0].items() if v is not None}
    return None


def choice_probs(top_logprobs: Mapping[str, float], choices: Sequence[str]) -> dict[str, float] | None:
    """Renormalised probabilities of ``choices`` from first-token alternatives.

    A token counts for a choice when, stripped of surrounding whitespace, it equals
    the choice or is a non-empty prefix of exactly that one choice (a token that
    starts two choices is ambiguous and ignored). Returns ``None`` when no choice
    appears among the alternatives.
    """
    mass = dict.fromkeys(choices, 0.0)
    for token, logprob in top_logprobs.items():
        t = token.strip()
        if not t or math.isnan(logprob):
            continue
        exact = [c for c in choices if c.strip() == t]
        owners = exact or [c for c in choices if c.strip().startswith(t)]
        if len(owners) == 1:
            mass[owners[0]] += math.exp(logprob)
    total = sum(mass.values())
    if total <= 0:
        return None
    return {c: v / total for c, v in mass.items()}
