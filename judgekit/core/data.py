"""Load judging data (JSONL, JSON, Parquet, CSV, a saved ``datasets`` dir) as Samples.

Common schemas are recognised without flags; explicit column mappings override them.
Files are read by :mod:`judgekit.core.data_files`, columns and labels are
:mod:`judgekit.core.data_schema`'s, listwise and process rows
:mod:`judgekit.core.data_lists`'; the names callers use are re-exported here.
Bad input raises :class:`DataError` naming the file, line and field. Empty prompts
and references are errors; an empty *response* is accepted, because "the model said
nothing" is something a judge must be able to judge (LLMBar has such items, and the
blank-space master key is one).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from judgekit.core.data_files import CSV_FIELD_LIMIT, DataError, read_rows
from judgekit.core.data_lists import LIST_PROMPTS, LIST_RESPONSES, list_row
from judgekit.core.data_schema import (
    ID_FIELDS,
    PAIRWISE_SCHEMAS,
    POINTWISE_SCHEMAS,
    SCHEMAS,
    VERIFY_SCHEMAS,
    Columns,
    Task,
    detect_columns,
    jsonable,
    normalise_label,
    text_field,
)
from judgekit.core.types import Sample

__all__ = [
    "CSV_FIELD_LIMIT", "ID_FIELDS", "LIST_PROMPTS", "LIST_RESPONSES", "LIST_TASKS", "PAIRWISE_SCHEMAS",
    "POINTWISE_SCHEMAS", "SCHEMAS", "VERIFY_SCHEMAS", "Columns", "DataError", "Task", "chosen_first",
    "detect_columns", "load_samples", "normalise_label", "read_rows", "samples_from_rows", "seeded_subset",
]

T = TypeVar("T")

LIST_TASKS = ("listwise", "prm")  # rows hold a list field (responses / steps): read by list_row


def load_samples(
    path: Path | str,
    task: Task = "pairwise",
    columns: Columns | None = None,
    limit: int | None = None,
    seed: int = 0,
    sample: int | None = None,
) -> list[Sample]:
    """Read every row as a Sample, validating as it goes (see module docstring).

    ``limit`` keeps the first N rows; ``sample`` keeps N rows drawn at random with
    ``seed`` (:func:`seeded_subset`; in file order), so a small slice is representative.

    In ``chosen``/``rejected`` files the displayed order is drawn per item from
    ``seed`` (:func:`chosen_first`): a judge that always answers "A" scores about half,
    not 100%, even in a single order. Each such sample records
    ``metadata["chosen_position"]`` and ``metadata["order_seed"]``.
    """
    path = Path(path)
    return samples_from_rows(read_rows(path), path, task, columns, limit, seed, sample)


def samples_from_rows(
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    source: Path | str,
    task: Task = "pairwise",
    columns: Columns | None = None,
    limit: int | None = None,
    seed: int = 0,
    sample: int | None = None,
) -> list[Sample]:
    """:func:`load_samples` for rows already in memory: ``(line number, row)`` pairs.

    ``source`` names them in errors (e.g. ``"<DataFrame>"``, whose "line" is the row
    number counted from 1). Schema detection, validation and the selection are those of
    :func:`load_samples`.
    """
    samples: list[Sample] = []
    seen: dict[str, int] = {}
    cols = columns
    path = Path(source) if not isinstance(source, Path) else source
    for lineno, row in rows:
        if task in LIST_TASKS:
            samples.append(list_row(path, lineno, row, task, seen, columns))
        else:
            if cols is None:
                cols = detect_columns(source, row, task)
            samples.append(_row_to_sample(path, lineno, row, cols, task, seen, seed, explicit=columns is not None))
        if limit is not None and len(samples) >= limit:
            break
    if not samples:
        raise DataError(source, "no rows found")
    return seeded_subset(samples, sample, seed) if sample is not None else samples


def seeded_subset(items: Sequence[T], n: int, seed: int) -> list[T]:
    """``n`` of ``items`` drawn without replacement from ``seed``, kept in their original order.

    The same seed and input always give the same subset; ``n`` at least ``len(items)``
    keeps everything. A negative ``n`` is a ValueError.
    """
    if n < 0:
        raise ValueError(f"cannot sample {n} items")
    if n >= len(items):
        return list(items)
    keep = sorted(random.Random(seed).sample(range(len(items)), n))
    return [items[i] for i in keep]


def chosen_first(seed: int, sample_id: str) -> bool:
    """Whether the chosen response is shown as A for this item (a stable coin flip)."""
    return hashlib.sha256(f"{seed}|{sample_id}".encode()).digest()[0] % 2 == 0


def _row_to_sample(
    path: Path, lineno: int, row: Mapping[str, Any], cols: Columns, task: Task, seen: dict[str, int],
    seed: int = 0, explicit: bool = False,
) -> Sample:
    prompt_cols: Sequence[str] = (cols.prompt,) if isinstance(cols.prompt, str) else cols.prompt
    first = text_field(path, lineno, row, prompt_cols[0], allow_empty=len(prompt_cols) > 1)
    parts = [p for p in [first, *(row.get(c) for c in prompt_cols[1:])] if isinstance(p, str) and p.strip()]
    if not parts:
        raise DataError(path, "empty text", line=lineno, field="+".join(prompt_cols))
    # An empty response is data (a model that answered nothing), not an input error.
    coerced: list[str] = []
    responses = tuple(text_field(path, lineno, row, c, True, coerced) for c in cols.responses)
    reference = text_field(path, lineno, row, cols.reference) if cols.reference else None
    label: str | None = "A" if cols.responses[:2] == ("chosen", "rejected") else None
    for name in (cols.label, cols.id) if explicit else ():
        if name and name not in row:  # a column the user named is never silently ignored
            raise DataError(path, "missing field", line=lineno, field=name)
    if cols.label and cols.label in row:
        try:
            label = normalise_label(row[cols.label], task)
        except ValueError as exc:
            raise DataError(path, str(exc), line=lineno, field=cols.label) from exc
    id_field = cols.id if cols.id and cols.id in row else next((f for f in ID_FIELDS if f in row), None)
    sample_id = str(row[id_field]) if id_field else f"line-{lineno}"
    if sample_id in seen:
        raise DataError(
            path, f"duplicate id {sample_id!r} (first seen at line {seen[sample_id]})", line=lineno, field=id_field
        )
    seen[sample_id] = lineno
    used = {*prompt_cols, *cols.responses, cols.label, cols.reference}
    meta = {k: v for k, v in row.items() if k not in used and jsonable(v)}
    if coerced:
        meta["coerced_to_text"] = coerced
    if cols.responses[:2] == ("chosen", "rejected") and label == "A" and len(responses) == 2:
        if not chosen_first(seed, sample_id):
            responses, label = responses[::-1], "B"
        meta.update(chosen_position=label, order_seed=seed)
    return Sample(
        id=sample_id, prompt="\n\n".join(parts), responses=responses,
        reference=reference, label=label, metadata=meta,
    )


