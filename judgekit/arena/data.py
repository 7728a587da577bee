"""Arena input: outputs of N systems on the same prompts, and the pairs to judge.

Three layouts are recognised (``layout="auto"`` picks by columns):

- **long**: one row per (prompt, system): ``prompt_id``, ``prompt``, ``system``, ``response``;
- **wide**: one row per prompt with one column per system (``--response-cols a,b,c``,
  or every other text column);
- **pairs**: already-paired comparisons naming both systems, e.g. PandaLM
  (``cmp_key = "sysA_sysB"``, ``response1``/``response2``, human ``annotations``) or
  ``model_a``/``model_b``/``response_a``/``response_b`` (with an optional ``winner``).

Bad input raises :class:`~judgekit.core.data.DataError` with file, line and field.
"""

from __future__ import annotations

import hashlib
import itertools
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from judgekit.core.data import DataError, normalise_label, read_rows
from judgekit.core.types import Sample

LAYOUTS = ("auto", "long", "wide", "pairs")
SYSTEM_FIELDS = ("system", "model", "generator")
PROMPT_FIELDS = ("prompt", "instruction", "question", "input")


@dataclass(frozen=True)
class ArenaColumns:
    """Column mapping; ``None`` fields are detected."""

    layout: str = "auto"
    id: str | None = None
    prompt: str | None = None
    system: str | None = None
    response: str | None = None
    systems: tuple[str, ...] = ()  # wide layout: the per-system columns


@dataclass(frozen=True)
class ArenaPair:
    """One comparison to judge: ``system_a``'s response is shown first (order A)."""

    id: str
    prompt_id: str
    prompt: str
    system_a: str
    system_b: str
    response_a: str
    response_b: str
    label: str | None = None  # human verdict ("A", "B", "tie") when the file has one
    votes: tuple[str, ...] = ()  # individual human votes, same vocabulary

    def to_sample(self) -> Sample:
        """The pairwise Sample the judge sees (A = ``system_a``)."""
        meta: dict[str, Any] = {"prompt_id": self.prompt_id, "system_a": self.system_a, "system_b": self.system_b}
        if self.votes:
            meta["human_votes"] = list(self.votes)
        return Sample(self.id, self.prompt, (self.response_a, self.response_b), label=self.label, metadata=meta)


@dataclass(frozen=True)
class ArenaData:
    """Loaded arena input: prompts with per-system responses, or ready-made pairs."""

    layout: str
    prompts: Mapping[str, tuple[str, Mapping[str, str]]] = field(default_factory=dict)  # id -> (prompt, responses)
    pairs: tuple[ArenaPair, ...] = ()

    @property
    def systems(self) -> list[str]:
        """Every system named in the input, sorted."""
        names = {s for _, resp in self.prompts.values() for s in resp}
        names |= {s for p in self.pairs for s in (p.system_a, p.system_b)}
        return sorted(names)


def _prompt_key(text: str) -> str:
    return "p-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def _text(path: Path, line: int, row: Mapping[str, Any], name: str, allow_empty: bool = False) -> str:
    if name not in row:
        raise DataError(path, "missing field", line=line, field=name)
    value = row[name]
    if isinstance(value, (bool, int, float)):
        return str(value)  # PandaLM stores some outputs (e.g. "True") as JSON scalars
    if not isinstance(value, str) or (not value.strip() and not allow_empty):
        raise DataError(path, "expected non-empty text", line=line, field=name)
    return value


def detect_layout(path: Path, row: Mapping[str, Any], cols: ArenaColumns) -> str:
    """Which layout a first row belongs to (explicit ``cols.layout`` wins)."""
    if cols.layout != "auto":
        if cols.layout not in LAYOUTS:
            raise DataError(path, f"layout {cols.layout!r}: choose {', '.join(LAYOUTS)}")
        return cols.layout
    if "cmp_key" in row or {"model_a", "model_b"} <= set(row):
        return "pairs"
    if cols.system or any(f in row for f in SYSTEM_FIELDS):
        return "long"
    return "wide"


def load_arena(path: Path | str, cols: ArenaColumns = ArenaColumns(), limit: int | None = None) -> ArenaData:
    """Read an arena file (see module docstring); ``limit`` keeps the first N prompts."""
    path = Path(path)
    rows = list(read_rows(path))
    if not rows:
        raise DataError(path, "no rows found")
    layout = detect_layout(path, rows[0][1], cols)
    if layout == "pairs":
        pairs = [_pair_row(path, line, row) for line, row in rows]
        _check_unique([p.id for p in pairs], path)
        if limit is not None:
            keep = list(dict.fromkeys(p.prompt_id for p in pairs))[:limit]
            pairs = [p for p in pairs if p.prompt_id in set(keep)]
        return ArenaData("pairs", pairs=tuple(pairs))
    prompts: dict[str, tuple[str, dict[str, str]]] = {}
    for line, row in rows:
        prompt_col = cols.prompt or next((f for f in PROMPT_FIELDS if f in row), PROMPT_FIELDS[0])
        prompt = _text(path, line, row, prompt_col)
        id_col = cols.id or next((f for f in ("prompt_id", "id", "question_id") if f in row), None)
        pid = str(row[id_col]) if id_col and id_col in row else _prompt_key(prompt)
        if pid not in prompts and limit is not None and len(prompts) >= limit:
            continue
        text, responses = prompts.setdefault(pid, (prompt, {}))
        if text != prompt:
            raise DataError(path, f"prompt {pid!r} has a different text than its first row", line=line,
                            field=prompt_col)
        if layout == "long":
            sys_col = cols.system or next((f for f in SYSTEM_FIELDS if f in row), SYSTEM_FIELDS[0])
            system = _text(path, line, row, sys_col)
            if system in responses:
                raise DataError(path, f"system {system!r} answers prompt {pid!r} twice", line=line, field=sys_col)
            responses[system] = _text(path, line, row, cols.response or "response", allow_empty=True)
        else:
            names = cols.systems or tuple(k for k, v in row.items() if k not in (prompt_col, id_col)
                                          and isinstance(v, str))
            for name in names:
                responses[name] = _text(path, line, row, name, allow_empty=True)
    few = [pid for pid, (_, r) in prompts.items() if len(r) < 2]
    if len(prompts) == len(few):
        raise DataError(path, f"{layout} layout: no prompt has responses from two or more systems")
    return ArenaData(layout, prompts=prompts)


def _check_unique(ids: Sequence[str], path: Path) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise DataError(path, f"duplicate pair id {i!r}")
        seen.add(i)


def _pair_row(path: Path, line: int, row: Mapping[str, Any]) -> ArenaPair:
    if "cmp_key" in row:  # PandaLM: cmp_key "sysA_sysB", response1 from sysA
        names = str(row["cmp_key"]).split("_")
        if len(names) != 2 or not all(names):
            raise DataError(path, f"cmp_key {row['cmp_key']!r} is not 'systemA_systemB'", line=line, field="cmp_key")
        a, b = names
        parts = [_text(path, line, row, "instruction", allow_empty=True)]
        if isinstance(row.get("input"), str):
            parts.append(row["input"])
        parts = [p for p in parts if p.strip()]
        if not parts:
            raise DataError(path, "empty text", line=line, field="instruction+input")
        ra, rb = (_text(path, line, row, f, allow_empty=True) for f in ("response1", "response2"))
        label_field, votes_raw = "majority_label", row.get("annotations") or []
    else:
        a, b = _text(path, line, row, "model_a"), _text(path, line, row, "model_b")
        parts = [_text(path, line, row, next((f for f in PROMPT_FIELDS if f in row), "prompt"))]
        ra, rb = (_text(path, line, row, f, allow_empty=True) for f in ("response_a", "response_b"))
        label_field, votes_raw = "winner", []
    if a == b:
        raise DataError(path, f"both sides are system {a!r}", line=line)
    try:
        label = normalise_label(row.get(label_field), "pairwise")
        votes = tuple(v for v in (normalise_label(x, "pairwise") for x in votes_raw) if v is not None)
    except ValueError as exc:
        raise DataError(path, str(exc), line=line, field=label_field) from exc
    prompt = "\n\n".join(parts)
    pid = str(row.get("idx", row.get("id", f"line-{line}")))
    return ArenaPair(pid, _prompt_key(prompt), prompt, a, b, ra, rb, label, votes)


def schedule(data: ArenaData, budget: int | None = None, seed: int = 0) -> list[ArenaPair]:
    """The comparisons to judge: every pair per prompt, or ``budget`` sampled per prompt.

    Sampling and which system is shown first are seeded per prompt (stable when
    prompts are added or removed). Pre-paired input is returned as is.
    """
    if budget is not None and budget < 1:
        raise ValueError("--budget must be at least 1")
    if data.layout == "pairs":
        return list(data.pairs)
    out: list[ArenaPair] = []
    for pid, (prompt, responses) in data.prompts.items():
        rng = np.random.default_rng([seed, zlib.crc32(pid.encode())])
        combos = list(itertools.combinations(sorted(responses), 2))
        if budget is not None and budget < len(combos):
            combos = [combos[k] for k in sorted(rng.choice(len(combos), size=budget, replace=False))]
        for x, y in combos:
            a, b = (y, x) if rng.random() < 0.5 else (x, y)
            out.append(ArenaPair(f"{pid}::{a}::{b}", pid, prompt, a, b, responses[a], responses[b]))
    return out
