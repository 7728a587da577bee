"""Master keys: content-free responses that a sound verifier must judge incorrect.

The bundled list (``master_keys.json`` next to this module) is quoted from Zhao et
al., *One Token to Fool LLM-as-a-Judge* (arXiv:2507.08794); its ``source`` field
carries the attribution and travels into every probe report. Users bring their own
list with ``--keys FILE``: one key per line (text), or JSON (a list of strings, a
list of ``{"key", "family"}`` objects, or an object with a ``keys`` list).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judgekit.core.errors import ConfigError

BUNDLED = Path(__file__).with_name("master_keys.json")
#: Content-free keys the answer-check defence was not written from (its held-out evaluation).
HELDOUT = Path(__file__).with_name("heldout_keys.json")
USER_FAMILY = "user key"


class KeyFileError(ConfigError):
    """A key file that cannot be read as a list of keys."""


@dataclass(frozen=True)
class MasterKey:
    """One attack string, its family (for per-family rates) and an optional note."""

    key: str
    family: str
    note: str = ""


@dataclass(frozen=True)
class KeySet:
    """A list of keys and where it came from (attribution for the report)."""

    keys: tuple[MasterKey, ...]
    source: str

    def families(self) -> list[str]:
        """Family names in first-seen order."""
        return list(dict.fromkeys(k.family for k in self.keys))


def bundled_keys() -> KeySet:
    """Load the key list shipped with judgekit (Zhao et al., 2025)."""
    return _from_json(json.loads(BUNDLED.read_text(encoding="utf-8")), BUNDLED)


def heldout_keys() -> KeySet:
    """Load the held-out key list (``--keys judgekit/probe/heldout_keys.json`` in a probe)."""
    return _from_json(json.loads(HELDOUT.read_text(encoding="utf-8")), HELDOUT)


def load_keys(path: Path | str | None = None) -> KeySet:
    """Keys from ``path`` (text: one per line; or JSON), or the bundled list when None."""
    if path is None:
        return bundled_keys()
    path = Path(path)
    if not path.is_file():
        raise KeyFileError(f"{path}: key file not found")
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise KeyFileError(f"{path}: malformed JSON: {exc.msg} (line {exc.lineno})") from exc
        return _from_json(data, path)
    # One key per line. Lines are kept verbatim except the newline, so a line holding
    # a single blank space is the blank-space key; fully empty lines are skipped.
    lines = (line.rstrip("\r") for line in text.split("\n"))
    keys = tuple(MasterKey(key=line, family=USER_FAMILY) for line in lines if line != "")
    return _checked(keys, f"user key file {path}", path)


def _from_json(data: Any, path: Path) -> KeySet:
    source = f"user key file {path}"
    items = data
    if isinstance(data, dict):
        source = str(data.get("source") or source)
        items = data.get("keys")
    if not isinstance(items, list):
        raise KeyFileError(f"{path}: expected a list of keys or an object with a 'keys' list")
    keys = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            keys.append(MasterKey(key=item, family=USER_FAMILY))
        elif isinstance(item, dict) and isinstance(item.get("key"), str):
            keys.append(MasterKey(key=item["key"], family=str(item.get("family") or USER_FAMILY),
                                  note=str(item.get("note") or "")))
        else:
            raise KeyFileError(f"{path}: key {i} is neither a string nor an object with a 'key' string")
    return _checked(tuple(keys), source, path)


def _checked(keys: tuple[MasterKey, ...], source: str, path: Path) -> KeySet:
    if not keys:
        raise KeyFileError(f"{path}: no keys found")
    seen: set[str] = set()
    for k in keys:
        if k.key in seen:
            raise KeyFileError(f"{path}: duplicate key {k.key!r}")
        seen.add(k.key)
    return KeySet(keys=keys, source=source)
