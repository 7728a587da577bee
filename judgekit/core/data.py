"""Load judging data (JSONL, JSON, Parquet, CSV, a saved ``datasets`` dir) as Samples.

Common schemas are recognised without flags; explicit column mappings override them.
Bad input raises :class:`DataError` naming the file, line and field. Empty prompts
and references are errors; an empty *response* is accepted, because "the model said
nothing" is something a judge must be able to judge (LLMBar has such items, and the
blank-space master key is one).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from judgekit.core.types import Sample

T = TypeVar("T")

Task = Literal["pairwise", "pointwise", "verify", "listwise", "prm"]
LIST_TASKS = ("listwise", "prm")  # rows hold a list field (responses / steps): read by _list_row


class DataError(ValueError):
    """Bad input data, located as precisely as possible."""

    def __init__(self, path: Path | str, message: str, line: int | None = None, field: str | None = None):
        self.path, self.line, self.field = str(path), line, field
        where = str(path) + (f", line {line}" if line is not None else "")
        where += f", field {field!r}" if field else ""
        super().__init__(f"{where}: {message}")


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


def read_rows(path: Path | str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_or_row_number, row)`` from a supported file or datasets dir."""
    path = Path(path)
    if not path.exists():
        raise DataError(path, "file not found")
    if path.is_dir():
        yield from _read_datasets_dir(path)
        return
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        yield from _read_parquet(path)
        return
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(path, f"not valid UTF-8 (byte {exc.start})", line=line) from exc
    if not text.strip():
        raise DataError(path, "file is empty")
    if suffix == ".csv":
        yield from _read_csv(path, text)
    elif suffix == ".json":
        yield from _read_json(path, text)
    elif suffix in (".jsonl", ".ndjson"):
        yield from _read_jsonl(path, text)
    else:
        raise DataError(path, f"unsupported file type {suffix!r} (use .jsonl, .json, .parquet, .csv or a datasets dir)")


CSV_FIELD_LIMIT = 1 << 24  # 16 MiB characters per CSV field (Python's default is 131072)


def _decode_json(path: Path, text: str, line: int | None) -> Any:
    """``json.loads`` with every failure as a :class:`DataError` (syntax, depth, huge integers)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        column = f" (column {exc.colno})" if line is not None else ""
        raise DataError(path, f"malformed JSON: {exc.msg}{column}", line=line or exc.lineno) from None
    except RecursionError:
        raise DataError(path, "JSON nested too deeply", line=line) from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise DataError(path, f"unreadable JSON value: {exc}", line=line) from None


def _check_text(path: Path, line: int, row: Mapping[str, Any]) -> None:
    """Refuse strings that are not Unicode text (a lone surrogate, from a JSON surrogate escape)."""
    for key, value in row.items():
        stack = [value]
        while stack:
            v = stack.pop()
            if isinstance(v, str):
                try:
                    v.encode("utf-8")
                except UnicodeEncodeError as exc:
                    raise DataError(path, f"lone surrogate at character {exc.start} (not valid Unicode text)",
                                    line=line, field=str(key)) from None
            elif isinstance(v, dict):
                stack.extend(v.values())
                stack.extend(v.keys())
            elif isinstance(v, list):
                stack.extend(v)
        try:
            str(key).encode("utf-8")
        except UnicodeEncodeError:
            raise DataError(path, "a column name holds a lone surrogate", line=line) from None


def _read_jsonl(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    # JSONL lines end at "\n" only: U+2028, U+0085 or a form feed inside a string are data.
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        row = _decode_json(path, line, lineno)
        if not isinstance(row, dict):
            raise DataError(path, f"expected a JSON object, got {type(row).__name__}", line=lineno)
        _check_text(path, lineno, row)
        yield lineno, row


def _read_json(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    data = _decode_json(path, text, None)
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise DataError(path, "expected a list of objects (or an object holding exactly one list)")
        data = lists[0]
    if not isinstance(data, list):
        raise DataError(path, "expected a list of objects")
    for i, row in enumerate(data, start=1):
        if not isinstance(row, dict):
            raise DataError(path, f"item {i} is not an object", line=i)
        _check_text(path, i, row)
        yield i, row


def _csv_error(path: Path, exc: csv.Error, line: int) -> DataError:
    why = str(exc)
    if "unexpected end of data" in why:
        why = "unterminated quoted field (a \" opened and never closed)"
    elif "field larger than field limit" in why:
        why = f"a field is longer than {csv.field_size_limit()} characters"
    return DataError(path, f"malformed CSV in the record starting here: {why}", line=line)


def _read_csv(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)  # long responses are normal judging data
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        if reader.fieldnames is None:
            return
    except csv.Error as exc:
        raise _csv_error(path, exc, 1) from None
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _csv_error(path, exc, start) from None
        yield reader.line_num, dict(row)


def _read_parquet(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types
        raise DataError(path, f"cannot read parquet: {exc}") from exc
    yield from enumerate(table.to_pylist(), start=1)


def _read_datasets_dir(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        import datasets
    except ImportError as exc:  # pragma: no cover - datasets is a dependency
        raise DataError(path, "reading a dataset directory needs the 'datasets' package") from exc
    try:
        ds = datasets.load_from_disk(str(path))
    except Exception as exc:  # noqa: BLE001
        raise DataError(path, f"not a saved datasets directory: {exc}") from exc
    if isinstance(ds, datasets.DatasetDict):
        if len(ds) != 1:
            raise DataError(path, f"dataset has splits {list(ds)}; point at one split's folder")
        ds = next(iter(ds.values()))
    for i, row in enumerate(ds, start=1):
        yield i, dict(row)


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


def _text_field(
    path: Path, lineno: int, row: Mapping[str, Any], name: str, allow_empty: bool = False,
    coerced: list[str] | None = None,
) -> str:
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
            samples.append(_list_row(path, lineno, row, task, seen, columns))
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
    first = _text_field(path, lineno, row, prompt_cols[0], allow_empty=len(prompt_cols) > 1)
    parts = [p for p in [first, *(row.get(c) for c in prompt_cols[1:])] if isinstance(p, str) and p.strip()]
    if not parts:
        raise DataError(path, "empty text", line=lineno, field="+".join(prompt_cols))
    # An empty response is data (a model that answered nothing), not an input error.
    coerced: list[str] = []
    responses = tuple(_text_field(path, lineno, row, c, True, coerced) for c in cols.responses)
    reference = _text_field(path, lineno, row, cols.reference) if cols.reference else None
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
    meta = {k: v for k, v in row.items() if k not in used and _jsonable(v)}
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


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


# ---------------------------------------------------------------- list rows (listwise, prm)
LIST_PROMPTS = ("prompt", "question", "instruction", "problem")
LIST_RESPONSES = ("responses", "completions", "candidates")


def _list_row(
    path: Path, lineno: int, row: Mapping[str, Any], task: str, seen: dict[str, int], cols: Columns | None
) -> Sample:
    """One listwise or process row as a Sample.

    Listwise: ``prompt`` + ``responses: [...]`` + ``best``/``label`` index or gold ``ranking``.
    Process: ``problem`` + ``steps: [...]`` or a ``response`` text, + ``label`` first-error index.
    """
    prompt_col = (cols.prompt if isinstance(cols.prompt, str) else cols.prompt[0]) if cols else next(
        (c for c in LIST_PROMPTS if c in row), LIST_PROMPTS[0])
    prompt = _text_field(path, lineno, row, prompt_col)
    id_field = (cols.id if cols and cols.id else None) or next((f for f in ID_FIELDS if f in row), None)
    sample_id = str(row[id_field]) if id_field and id_field in row else f"line-{lineno}"
    if sample_id in seen:
        raise DataError(path, f"duplicate id {sample_id!r} (first seen at line {seen[sample_id]})",
                        line=lineno, field=id_field)
    seen[sample_id] = lineno
    make = _listwise_parts if task == "listwise" else _prm_parts
    responses, label, meta, used = make(path, lineno, row, cols)
    used |= {prompt_col}
    meta.update({k: v for k, v in row.items() if k not in used and k not in meta and _jsonable(v)})
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
        text, used = _text_field(path, lineno, row, name), {name}
    label_col = cols.label if cols and cols.label else next((c for c in ("label", "first_error") if c in row), None)
    label = None
    if label_col is not None and row.get(label_col) is not None:
        limit = len(meta["steps"]) if "steps" in meta else 10_000
        label = str(_index(path, lineno, label_col, row[label_col], limit, low=-1))
        used.add(label_col)
    return (text,), label, meta, used
