"""Input columns -> Sample fields: the recognised schemas, label vocabularies, field checks.

A row's columns are matched against the known schemas of its task
(:func:`detect_columns`) unless the caller maps them (:class:`Columns`); labels are
normalised to the verdict vocabulary (:func:`normalise_label`). Used by
:mod:`judgekit.core.data` and :mod:`judgekit.core.data_lists`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from judgekit.core.data_files import DataError

Task = Literal["pairwise", "pointwise", "verify", "listwise", "prm"]


@dataclass(frozen=True)
class Columns:
    """Which input columns feed which Sample fields (None = not used)."""

    prompt: str | tuple[str, ...]
    responses: tuple[str, ...]
    label: str | None = None
    reference: str | None = None
    id: str | None = None


# Recognised schemas, tried in order. Prompt tuples are joined (e.g. PandaLM's
# instruction + input).
PAIRWISE_SCHEMAS: tuple[Columns, ...] = (
    Columns(("instruction", "input"), ("response1", "response2"), "majority_label", id="idx"),
    Columns("input", ("output_1", "output_2"), "label"),
    Columns("prompt", ("response_a", "response_b"), "label"),
    Columns("prompt", ("response_a", "response_b"), "winner"),
    Columns("prompt", ("chosen", "rejected")),
    Columns("instruction", ("response1", "response2"), "label"),
    Columns("question", ("response_a", "response_b"), "label"),
)
VERIFY_SCHEMAS: tuple[Columns, ...] = (
    Columns("question", ("candidate_solution",), "is_correct", "reference_answer"),
    Columns("question", ("candidate",), "label", "reference"),
    Columns("question", ("response",), "label", "reference"),
    Columns("prompt", ("response",), "label", "reference"),
)
POINTWISE_SCHEMAS: tuple[Columns, ...] = (
    Columns("prompt", ("response",), "label"),
    Columns("instruction", ("response",), "label"),
    Columns("question", ("response",), "label"),
    Columns("prompt", ("chosen",)),
)
SCHEMAS: dict[str, tuple[Columns, ...]] = {
    "pairwise": PAIRWISE_SCHEMAS,
    "verify": VERIFY_SCHEMAS,
    "pointwise": POINTWISE_SCHEMAS,
}
ID_FIELDS = ("id", "idx", "sample_id", "uid", "question_id", "prompt_id")


def detect_columns(path: Path | str, row: Mapping[str, Any], task: Task) -> Columns:
    """Pick the first known schema whose columns the row has (label column included, if any)."""
    matching = []
    for cols in SCHEMAS[task]:
        names = (cols.prompt,) if isinstance(cols.prompt, str) else cols.prompt[:1]
        if all(n in row for n in (*names, *cols.responses)):
            matching.append(cols)
    for cols in matching:
        if cols.label is None or cols.label in row:
            return cols
    if matching:
        return matching[0]
    known = "; ".join(
        "/".join((c.prompt if isinstance(c.prompt, str) else c.prompt[0], *c.responses)) for c in SCHEMAS[task]
    )
    raise DataError(
        path,
        f"no known {task} schema matches columns {sorted(row)}; known: {known}; "
        "or map columns with --prompt-col/--response-cols/--label-col",
        line=None,
    )


def normalise_label(value: Any, task: Task) -> str | None:
    """Map a raw label to the verdict vocabulary, or raise ValueError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if task == "verify":
        if isinstance(value, bool):
            return "correct" if value else "incorrect"
        v = str(value).strip().lower()
        table = {"true": "correct", "1": "correct", "correct": "correct", "yes": "correct",
                 "false": "incorrect", "0": "incorrect", "incorrect": "incorrect", "no": "incorrect"}
        if v in table:
            return table[v]
        raise ValueError(f"verification label {value!r} is not true/false/correct/incorrect")
    if not isinstance(value, (str, int, float)):
        raise ValueError(f"label {value!r} is a {type(value).__name__}, not a single value")
    if task == "pointwise":
        try:
            score = float(value)
        except ValueError:
            raise ValueError(f"score label {value!r} is not a number") from None
        if not 1 <= score <= 10:
            raise ValueError(f"score label {value!r} outside 1-10")
        return str(int(score)) if score.is_integer() else str(score)
    if isinstance(value, bool):
        raise ValueError(f"pairwise label {value!r} is a boolean")
    v = str(value).strip().lower()
    table = {"1": "A", "a": "A", "model_a": "A", "a>b": "A", "response_a": "A",
             "2": "B", "b": "B", "model_b": "B", "b>a": "B", "response_b": "B",
             "0": "tie", "tie": "tie", "a=b": "tie", "tie (bothbad)": "tie"}
    if v in table:
        return table[v]
    raise ValueError(f"pairwise label {value!r} is not one of 1/2/0, A/B/tie, model_a/model_b")


def text_field(
    path: Path, lineno: int, row: Mapping[str, Any], name: str, allow_empty: bool = False,
    coerced: list[str] | None = None,
) -> str:
    """The text of field ``name`` of a row; a missing, non-text or (unless allowed) empty field is a DataError.

    With ``coerced`` a JSON boolean or number is taken as its text and its field name
    appended to ``coerced``.
    """
    if name not in row:
        raise DataError(path, "missing field", line=lineno, field=name)
    value = row[name]
    if coerced is not None and isinstance(value, (bool, int, float)):
        coerced.append(name)  # e.g. PandaLM stores the output "True" as a JSON boolean
        return str(value)
    if not isinstance(value, str):
        raise DataError(path, f"expected text, got {type(value).__name__}", line=lineno, field=name)
    if not value.strip() and not allow_empty:
        raise DataError(path, "empty text", line=lineno, field=name)
    return value


def jsonable(value: Any) -> bool:
    """Whether ``value`` can be written as JSON (kept as Sample metadata only then)."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
