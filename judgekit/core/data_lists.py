"""List rows -> Samples: listwise (a prompt and its ranked responses) and process rows (PRM steps).

Listwise: ``prompt`` + ``responses: [...]`` + ``best``/``label`` index or gold
``ranking``. Process: ``problem`` + ``steps: [...]`` or a ``response`` text, +
``label`` first-error index. Bad rows raise :class:`~judgekit.core.data_files.DataError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from judgekit.core.data_files import DataError
from judgekit.core.data_schema import ID_FIELDS, Columns, jsonable, text_field
from judgekit.core.types import Sample

LIST_PROMPTS = ("prompt", "question", "instruction", "problem")
LIST_RESPONSES = ("responses", "completions", "candidates")


def list_row(
    path: Path, lineno: int, row: Mapping[str, Any], task: str, seen: dict[str, int], cols: Columns | None
) -> Sample:
    """One listwise or process row as a Sample.

    Listwise: ``prompt`` + ``responses: [...]`` + ``best``/``label`` index or gold ``ranking``.
    Process: ``problem`` + ``steps: [...]`` or a ``response`` text, + ``label`` first-error index.
    """
    prompt_col = (cols.prompt if isinstance(cols.prompt, str) else cols.prompt[0]) if cols else next(
        (c for c in LIST_PROMPTS if c in row), LIST_PROMPTS[0])
    prompt = text_field(path, lineno, row, prompt_col)
    id_field = (cols.id if cols and cols.id else None) or next((f for f in ID_FIELDS if f in row), None)
    sample_id = str(row[id_field]) if id_field and id_field in row else f"line-{lineno}"
    if sample_id in seen:
        raise DataError(path, f"duplicate id {sample_id!r} (first seen at line {seen[sample_id]})",
                        line=lineno, field=id_field)
    seen[sample_id] = lineno
    make = _listwise_parts if task == "listwise" else _prm_parts
    responses, label, meta, used = make(path, lineno, row, cols)
    used |= {prompt_col}
    meta.update({k: v for k, v in row.items() if k not in used and k not in meta and jsonable(v)})
    return Sample(id=sample_id, prompt=prompt, responses=responses, label=label, metadata=meta)


def _str_list(path: Path, lineno: int, row: Mapping[str, Any], name: str, low: int, high: int) -> tuple[str, ...]:
    value = row.get(name)
    if not isinstance(value, list):
        raise DataError(path, f"expected a list of texts, got {type(value).__name__}", line=lineno, field=name)
    if not low <= len(value) <= high:
        raise DataError(path, f"expected {low} to {high} entries, got {len(value)}", line=lineno, field=name)
    for i, v in enumerate(value):
        if not isinstance(v, str):
            raise DataError(path, f"expected text, got {type(v).__name__}", line=lineno, field=f"{name}[{i}]")
    return tuple(value)


def _index(path: Path, lineno: int, name: str, value: Any, n: int, low: int = 0) -> int:
    """A response index (int, digit string or position letter) in ``low .. n - 1``."""
    if isinstance(value, str) and len(value.strip()) == 1 and value.strip().isalpha():
        value = ord(value.strip().upper()) - ord("A")
    elif isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value < n:
        raise DataError(path, f"{value!r} is not an index from {low} to {n - 1}", line=lineno, field=name)
    return value


def _listwise_parts(
    path: Path, lineno: int, row: Mapping[str, Any], cols: Columns | None
) -> tuple[tuple[str, ...], str | None, dict[str, Any], set[str]]:
    name = cols.responses[0] if cols else next((c for c in LIST_RESPONSES if c in row), LIST_RESPONSES[0])
    responses = _str_list(path, lineno, row, name, 2, 26)
    n = len(responses)
    meta: dict[str, Any] = {}
    best = None
    if "ranking" in row:
        ranking = row["ranking"]
        if not isinstance(ranking, list):
            raise DataError(path, "expected a list of response indices, best first", line=lineno, field="ranking")
        gold = [_index(path, lineno, "ranking", v, n) for v in ranking]
        if sorted(gold) != list(range(n)):
            raise DataError(path, f"ranking {ranking} is not a permutation of 0..{n - 1}", line=lineno, field="ranking")
        meta["gold_ranking"] = gold
        best = gold[0]
    label_col = cols.label if cols and cols.label else next((c for c in ("best", "label") if c in row), None)
    if label_col is not None:
        if label_col not in row:
            raise DataError(path, "missing field", line=lineno, field=label_col)
        if row[label_col] is not None:
            given = _index(path, lineno, label_col, row[label_col], n)
            if best is not None and given != best:
                raise DataError(path, f"best {given} disagrees with ranking[0] = {best}", line=lineno, field=label_col)
            best = given
    label = None if best is None else chr(ord("A") + best)
    return responses, label, meta, {name, "ranking", label_col or "best"}


def _prm_parts(
    path: Path, lineno: int, row: Mapping[str, Any], cols: Columns | None
) -> tuple[tuple[str, ...], str | None, dict[str, Any], set[str]]:
    meta: dict[str, Any] = {}
    if cols is None and "steps" in row:
        steps = _str_list(path, lineno, row, "steps", 1, 10_000)
        meta["steps"] = list(steps)
        text, used = "\n\n".join(steps), {"steps"}
    else:
        name = cols.responses[0] if cols else next((c for c in ("response", "solution") if c in row), "response")
        text, used = text_field(path, lineno, row, name), {name}
    label_col = cols.label if cols and cols.label else next((c for c in ("label", "first_error") if c in row), None)
    label = None
    if label_col is not None and row.get(label_col) is not None:
        limit = len(meta["steps"]) if "steps" in meta else 10_000
        label = str(_index(path, lineno, label_col, row[label_col], limit, low=-1))
        used.add(label_col)
    return (text,), label, meta, used
