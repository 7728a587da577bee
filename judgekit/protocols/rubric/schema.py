"""Rubrics and principles from YAML files (``rubrics/*.yaml``) or inline text.

A rubric file is a mapping with ``name`` and either ``text`` (free-form criteria)
or the structured Contrastive-Rubric-Generation form ``hard_rules`` / ``principles``
(lists of items, each a string or ``{text, weight}``). Loading validates the shape
and names the file and field that is wrong. The schema is documented in
``rubrics/README.md``.

A structured rubric renders to text with :meth:`Rubric.to_text`, and
:func:`parse_rubric_text` reads that text back, so a rubric passed through
``--rubric FILE`` (which reaches the protocols as text) keeps its items and weights.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from judgekit.core.prompts import data_dir


class RubricError(ValueError):
    """A rubric or principles file that does not have the documented shape."""


ALLOWED_KEYS = frozenset({"name", "description", "text", "hard_rules", "principles", "source"})
_HARD_HEADER = "Hard rules (a response that breaks one loses):"
_PRINCIPLES_HEADER = "Principles:"
_WEIGHT_SUFFIX = re.compile(r"\s*\(weight (-?\d+(?:\.\d+)?)\)\s*$")


@dataclass(frozen=True)
class RubricItem:
    """One hard rule or principle: a sentence ("The response ...") and its weight."""

    text: str
    weight: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        """YAML-ready view (integral weights written as integers)."""
        weight: float | int = int(self.weight) if float(self.weight).is_integer() else self.weight
        return {"text": self.text, "weight": weight}


@dataclass(frozen=True)
class Rubric:
    """A rubric: hard rules (gatekeepers), principles (weighted qualities) or free text."""

    name: str
    hard_rules: tuple[RubricItem, ...] = ()
    principles: tuple[RubricItem, ...] = ()
    text: str | None = None
    description: str | None = None
    source: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def structured(self) -> bool:
        """True when the rubric has items (not only free text)."""
        return bool(self.hard_rules or self.principles)

    def to_text(self) -> str:
        """Render the text a template shows the model (inverse of :func:`parse_rubric_text`)."""
        if not self.structured:
            return (self.text or "").strip()
        parts = []
        if self.hard_rules:
            parts.append(_HARD_HEADER + "\n" + "\n".join(_item_line(i) for i in self.hard_rules))
        if self.principles:
            parts.append(_PRINCIPLES_HEADER + "\n" + "\n".join(_item_line(i) for i in self.principles))
        return "\n\n".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """YAML-ready mapping in the documented schema."""
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        if self.text:
            out["text"] = self.text
        if self.hard_rules:
            out["hard_rules"] = [i.to_dict() for i in self.hard_rules]
        if self.principles:
            out["principles"] = [i.to_dict() for i in self.principles]
        if self.source:
            out["source"] = dict(self.source)
        return out


def _item_line(item: RubricItem) -> str:
    weight = int(item.weight) if float(item.weight).is_integer() else item.weight
    return f"- {item.text} (weight {weight})"


def find_rubric_file(value: str) -> Path | None:
    """Return a path, or a bundled ``rubrics/<name>.yaml``, or None when ``value`` is text."""
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


def _weight(where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RubricError(f"{where}: weight must be a number, got {value!r}")
    if not value > 0:
        raise RubricError(f"{where}: weight must be > 0, got {value}")
    return float(value)


def _parse_items(where: str, data: dict[str, Any], key: str) -> tuple[RubricItem, ...]:
    raw = data.get(key)
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise RubricError(f"{where}: field {key!r} must be a list")
    out = []
    for i, item in enumerate(raw):
        spot = f"{where}: {key}[{i}]"
        if isinstance(item, str) and item.strip():
            out.append(RubricItem(text=item.strip()))
        elif isinstance(item, dict) and isinstance(item.get("text"), str) and item["text"].strip():
            unknown = sorted(set(item) - {"text", "weight"})
            if unknown:
                raise RubricError(f"{spot}: unknown field(s) {', '.join(unknown)} (allowed: text, weight)")
            weight = _weight(spot, item["weight"]) if "weight" in item else 1.0
            out.append(RubricItem(text=item["text"].strip(), weight=weight))
        else:
            raise RubricError(f"{spot} must be non-empty text or a mapping with 'text' (and optional 'weight')")
    return tuple(out)


def rubric_from_dict(data: Any, where: str = "<rubric>", default_name: str = "rubric") -> Rubric:
    """Validate a parsed YAML mapping against the schema and build a :class:`Rubric`."""
    if not isinstance(data, dict):
        raise RubricError(f"{where}: expected a mapping with 'text' or 'hard_rules'/'principles'")
    unknown = sorted(set(data) - ALLOWED_KEYS)
    if unknown:
        allowed = ", ".join(sorted(ALLOWED_KEYS))
        raise RubricError(f"{where}: unknown field(s) {', '.join(unknown)} (allowed: {allowed})")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise RubricError(f"{where}: field 'name' must be non-empty text")
    text = data.get("text")
    if text is not None and not isinstance(text, str):
        raise RubricError(f"{where}: field 'text' must be text")
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        raise RubricError(f"{where}: field 'description' must be text")
    source = data.get("source") or {}
    if not isinstance(source, dict):
        raise RubricError(f"{where}: field 'source' must be a mapping")
    rules, principles = _parse_items(where, data, "hard_rules"), _parse_items(where, data, "principles")
    if not rules and not principles and not (text and text.strip()):
        raise RubricError(f"{where}: needs 'text', 'hard_rules' or 'principles'")
    return Rubric(
        name=name.strip(), hard_rules=rules, principles=principles,
        text=text.strip() if text and text.strip() else None, description=description, source=dict(source),
    )


def load_rubric(path: Path | str) -> Rubric:
    """Load and validate a rubric YAML file."""
    path = Path(path)
    if not path.is_file():
        raise RubricError(f"{path}: rubric file not found")
    return rubric_from_dict(load_yaml(path), where=str(path), default_name=path.stem)


def save_rubric(rubric: Rubric, path: Path | str) -> Path:
    """Write a rubric as YAML in the documented schema (round-trips with :func:`load_rubric`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump(rubric.to_dict(), sort_keys=False, allow_unicode=True, width=100), encoding="utf-8"
    )
    return path


def parse_rubric_text(text: str, name: str = "inline") -> Rubric:
    """Read rubric text back into items; text without item sections is a free-form rubric."""
    section: str | None = None
    rules: list[RubricItem] = []
    principles: list[RubricItem] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == _HARD_HEADER:
            section = "hard"
        elif stripped == _PRINCIPLES_HEADER:
            section = "principles"
        elif section and stripped.startswith("- "):
            body = stripped[2:]
            m = _WEIGHT_SUFFIX.search(body)
            item = RubricItem(text=body[: m.start()].strip(), weight=float(m.group(1))) if m else RubricItem(body)
            (rules if section == "hard" else principles).append(item)
        elif stripped:
            return Rubric(name=name, text=text.strip())
    if not rules and not principles:
        return Rubric(name=name, text=text.strip())
    return Rubric(name=name, hard_rules=tuple(rules), principles=tuple(principles))


def rubric_text_from_file(path: Path) -> str:
    """Render a rubric file as the text a template shows the model."""
    return load_rubric(path).to_text()


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
            items = _parse_items(str(path), data, "principles")
        elif isinstance(data, list):
            items = _parse_items(str(path), {"principles": data}, "principles")
        else:
            raise RubricError(f"{path}: expected a list of principles")
        return [i.text + (f" (weight {_fmt_weight(i.weight)})" if i.weight != 1.0 else "") for i in items]
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _fmt_weight(weight: float) -> str:
    return str(int(weight)) if float(weight).is_integer() else str(weight)
