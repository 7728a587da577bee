"""Rubrics and principles from YAML files (``rubrics/*.yaml``) or inline text.

A rubric file is a mapping with ``name`` and either ``text`` (free-form criteria)
or the structured form ``hard_rules`` / ``principles`` (lists of items, each a string
or ``{text, weight}``). Loading validates the shape and names the file and field
that is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from judgekit.prompts import data_dir


class RubricError(ValueError):
    """A rubric or principles file that does not have the documented shape."""


def find_rubric_file(value: str) -> Path | None:
    """A path, or a bundled ``rubrics/<name>.yaml``, or None when ``value`` is text."""
    path = Path(value)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    if "\n" not in value and len(value) < 100:
        try:
            bundled = data_dir("rubrics") / f"{value}.yaml"
        except FileNotFoundError:
            return None
        if bundled.is_file():
            return bundled
    if path.suffix in (".yaml", ".yml"):
        raise RubricError(f"{value}: rubric file not found")
    return None


def load_yaml(path: Path) -> Any:
    """Parse a YAML file with a clear error naming it."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RubricError(f"{path}: invalid YAML: {exc}") from exc


def _items(path: Path, data: dict[str, Any], key: str) -> list[str]:
    raw = data.get(key) or []
    if not isinstance(raw, list):
        raise RubricError(f"{path}: field {key!r} must be a list")
    out = []
    for i, item in enumerate(raw):
        if isinstance(item, str) and item.strip():
            out.append(item.strip())
        elif isinstance(item, dict) and isinstance(item.get("text"), str):
            weight = item.get("weight")
            out.append(item["text"].strip() + (f" (weight {weight})" if weight is not None else ""))
        else:
            raise RubricError(f"{path}: {key}[{i}] must be text or a mapping with 'text'")
    return out


def rubric_text_from_file(path: Path) -> str:
    """Render a rubric file as the text a template shows the model."""
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise RubricError(f"{path}: expected a mapping with 'text' or 'hard_rules'/'principles'")
    if isinstance(data.get("text"), str) and data["text"].strip():
        return data["text"].strip()
    rules, principles = _items(path, data, "hard_rules"), _items(path, data, "principles")
    if not rules and not principles:
        raise RubricError(f"{path}: needs 'text', 'hard_rules' or 'principles'")
    parts = []
    if rules:
        parts.append("Hard rules (a response that breaks one loses):\n" + "\n".join(f"- {r}" for r in rules))
    if principles:
        parts.append("Principles:\n" + "\n".join(f"- {p}" for p in principles))
    return "\n\n".join(parts)


def resolve_rubric_text(value: str) -> str:
    """``--rubric`` value -> rubric text (file, bundled name, or the text itself)."""
    path = find_rubric_file(value)
    return rubric_text_from_file(path) if path else value


def load_principles(path: Path) -> list[str]:
    """Principles from a YAML list / ``principles:`` mapping, or one per line."""
    if not path.is_file():
        raise RubricError(f"{path}: principles file not found")
    if path.suffix in (".yaml", ".yml"):
        data = load_yaml(path)
        if isinstance(data, dict):
            return _items(path, data, "principles")
        if isinstance(data, list):
            return _items(path, {"principles": data}, "principles")
        raise RubricError(f"{path}: expected a list of principles")
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
