"""Jury specifications: ``--judge key=value,...`` (repeatable) or a YAML panel file.

Every key is a judge flag of :class:`~judgekit.options.JudgeOptions` (``model``,
``backend``, ``protocol``, ``method``, ``base_url``, ``option``...) plus ``name`` and
``weight``; a key that is not one of them is an error, never ignored. Unset keys
take the command line's shared flags. A YAML panel looks like::

    method: majority          # or weighted, mean-prob
    split: abstain            # or tie
    judges:
      - {name: small-logit, method: logit}
      - {name: small-gen, method: generative, max_new_tokens: 64, weight: 2}
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judgekit.core.errors import ConfigError
from judgekit.options import JudgeOptions

EXTRA_KEYS = ("name", "weight")


@dataclass(frozen=True)
class JudgeSpec:
    """One named judge: its flags and vote weight."""

    name: str
    opts: JudgeOptions
    weight: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view for the manifest (paths as strings, the API key never: only its variable name)."""
        opts = {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v)
                for k, v in dataclasses.asdict(self.opts).items()}
        return {"name": self.name, "weight": self.weight, "opts": opts}


def _field_types() -> dict[str, Any]:
    hints = typing.get_type_hints(JudgeOptions)
    return {f.name: hints[f.name] for f in dataclasses.fields(JudgeOptions)}


def _coerce(key: str, value: Any, hint: Any, where: str) -> Any:
    """Convert a string (from ``--judge``) or YAML value to the flag's type."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and args:
        if value is None:
            return None
        hint = args[0]
    if hint is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "1", "yes"):
            return True
        if str(value).lower() in ("false", "0", "no"):
            return False
        raise ConfigError(f"{where}: {key}={value!r} is not true/false")
    if typing.get_origin(hint) is tuple:
        items = value if isinstance(value, list) else [value]
        return tuple(str(v) for v in items)
    try:
        return hint(value) if hint in (int, float, str, Path) else value
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {key}={value!r} is not a valid {hint.__name__}") from exc


def make_spec(values: Mapping[str, Any], base: JudgeOptions, where: str, default_name: str) -> JudgeSpec:
    """A JudgeSpec from key/value pairs over the shared flags (unknown keys are errors)."""
    types_ = _field_types()
    unknown = sorted(k for k in values if k not in types_ and k not in EXTRA_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown judge key(s) {', '.join(unknown)}")
    changes = {k.replace("-", "_"): _coerce(k, v, types_[k], where) for k, v in values.items() if k in types_}
    try:
        weight = float(values.get("weight", 1.0))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: weight={values.get('weight')!r} is not a number") from exc
    if weight <= 0:
        raise ConfigError(f"{where}: weight must be positive")
    name = str(values.get("name") or default_name)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise ConfigError(f"{where}: judge name {name!r} must be letters, digits, '.', '_' or '-'")
    return JudgeSpec(name, dataclasses.replace(base, **changes), weight)


def parse_judge_flag(text: str, base: JudgeOptions, index: int) -> JudgeSpec:
    """``--judge name=a,method=logit,model=...`` (commas separate keys)."""
    values: dict[str, str] = {}
    for part in (p for p in text.split(",") if p.strip()):
        key, sep, value = part.partition("=")
        if not sep:
            raise ConfigError(f"--judge {text!r}: expected key=value pairs, got {part!r}")
        values[key.strip().replace("-", "_")] = value.strip()
    return make_spec(values, base, f"--judge {text!r}", f"judge{index + 1}")


def load_panel(path: Path, base: JudgeOptions) -> tuple[list[JudgeSpec], dict[str, Any]]:
    """Read a YAML panel; returns the judges and the panel settings (method, split)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("judges"), list) or not data["judges"]:
        raise ConfigError(f"{path}: expected a mapping with a non-empty 'judges' list")
    unknown = sorted(set(data) - {"judges", "method", "split"})
    if unknown:
        raise ConfigError(f"{path}: unknown panel key(s) {', '.join(unknown)}")
    specs = []
    for k, item in enumerate(data["judges"]):
        if not isinstance(item, dict):
            raise ConfigError(f"{path}: judges[{k}] is not a mapping")
        specs.append(make_spec({str(key).replace("-", "_"): v for key, v in item.items()}, base,
                               f"{path}: judges[{k}]", f"judge{k + 1}"))
    settings = {k: str(data[k]) for k in ("method", "split") if k in data}
    return specs, settings


def panel_specs(flags: Sequence[str], panel: Path | None, base: JudgeOptions) -> tuple[list[JudgeSpec], dict[str, Any]]:
    """The jury from ``--judge`` flags and/or a panel file; one judge from the shared flags if neither."""
    specs, settings = load_panel(panel, base) if panel else ([], {})
    specs += [parse_judge_flag(t, base, len(specs) + k) for k, t in enumerate(flags)]
    if not specs:
        specs = [JudgeSpec("judge", base)]
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ConfigError(f"judge names must be unique, got {', '.join(names)}")
    return specs, settings
