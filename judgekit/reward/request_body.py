r"""Checking a reward request's JSON body before and while decoding it (pure functions).

A body is checked in three steps, each bounded by the step before:

1. shape, on the raw bytes: the JSON values are counted from the commas and
   brackets outside string literals (found with one linear-time regular expression,
   see :func:`json_value_bound`). A body with more values than ``max_values`` (``[[],[],...]``, or
   100,000 nested brackets) is refused *before* ``json.loads`` builds millions of
   Python objects from it;
2. decode: UTF-8, then JSON into a Python object (bounded by step 1);
3. contents: nesting depth, and every string: at most ``max_field`` characters and
   encodable as UTF-8 (a lone surrogate such as ``"\ud800"`` decodes as JSON but
   breaks every later step that encodes text, e.g. a cache key).

Every refusal is a :class:`ConfigError` naming what is wrong (the server answers 400).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from judgekit.core.errors import ConfigError

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)  # an unclosed string runs to the end: no retries


@dataclass(frozen=True)
class BodyLimits:
    """Bounds on one decoded body."""

    max_values: int = 65536
    max_depth: int = 32
    max_field: int = 1 << 20


def json_value_bound(raw: bytes, limit: int | None = None) -> int:
    """An upper bound on the number of JSON values in ``raw`` (computed without decoding it).

    Commas and opening brackets outside string literals, plus one; at least the number
    of string literals. Linear time whatever the bytes (an unclosed string runs to the
    end, so the scan never retries), and with ``limit`` it stops as soon as the bound
    passes it: at most ``limit`` string literals are visited.
    """

    def structural(start: int, end: int) -> int:
        return raw.count(b",", start, end) + raw.count(b"[", start, end) + raw.count(b"{", start, end)

    rough = structural(0, len(raw)) + 1  # counts brackets inside strings too: an upper bound
    if limit is not None and rough <= limit:
        return rough
    total, strings, pos = 1, 0, 0
    for match in _STRING.finditer(raw):
        total += structural(pos, match.start())
        strings += 1
        pos = match.end()
        if limit is not None and max(total, strings) > limit:
            return max(total, strings)
    return max(total + structural(pos, len(raw)), strings)


def json_depth(value: Any, limit: int) -> int:
    """Nesting depth of decoded JSON, stopping early once it exceeds ``limit``."""
    depth, level = 0, [value]
    while level:
        depth += 1
        if depth > limit:
            return depth
        nxt: list[Any] = []
        for v in level:
            if isinstance(v, dict):
                nxt.extend(v.values())
            elif isinstance(v, list):
                nxt.extend(v)
        level = nxt
    return depth - 1 if depth else 0


def check_strings(value: Any, max_field: int) -> None:
    """Raise :class:`ConfigError` for a string over ``max_field`` chars or one UTF-8 cannot encode."""
    stack: list[tuple[str, Any]] = [("body", value)]
    while stack:
        where, v = stack.pop()
        if isinstance(v, dict):
            for key, item in v.items():
                stack.append((f"{where}.{key}", item))
                stack.append((f"{where} key", key))
        elif isinstance(v, list):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(v))
        elif isinstance(v, str):
            if len(v) > max_field:
                raise ConfigError(f"{where[:80]}: string of {len(v)} characters (at most {max_field})")
            try:
                v.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ConfigError(f"{where[:80]}: lone surrogate at character {exc.start} "
                                  "(not valid Unicode text)") from None


def decode_body(raw: bytes, limits: BodyLimits | int = BodyLimits()) -> dict[str, Any]:
    """A JSON object from a request body; :class:`ConfigError` says what is wrong.

    ``limits`` may be a bare ``max_depth`` (the older signature).
    """
    if isinstance(limits, int):
        limits = BodyLimits(max_depth=limits)
    values = json_value_bound(raw, limits.max_values)
    if values > limits.max_values:
        raise ConfigError(f"body holds up to {values} JSON values (at most {limits.max_values}); "
                          "send fewer items per request")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"body is not UTF-8 (byte {exc.start})") from exc
    try:
        payload = json.loads(text)
    except RecursionError:
        raise ConfigError(f"JSON nested deeper than {limits.max_depth} levels") from None
    except ValueError as exc:
        raise ConfigError(f"body is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise ConfigError(f"body must be a JSON object, got {type(payload).__name__}")
    if json_depth(payload, limits.max_depth) > limits.max_depth:
        raise ConfigError(f"JSON nested deeper than {limits.max_depth} levels")
    check_strings(payload, limits.max_field)
    return payload
