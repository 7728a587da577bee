"""Judging data files -> rows: JSONL, JSON, CSV, Parquet or a saved ``datasets`` directory.

:func:`read_rows` yields ``(line or row number, row)``; a file that cannot be read
raises :class:`DataError` naming the file and, where it can, the line and field.
Schemas, validation and Samples are :mod:`judgekit.core.data`'s.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any


class DataError(ValueError):
    """Bad input data, located as precisely as possible."""

    def __init__(self, path: Path | str, message: str, line: int | None = None, field: str | None = None):
        self.path, self.line, self.field = str(path), line, field
        where = str(path) + (f", line {line}" if line is not None else "")
        where += f", field {field!r}" if field else ""
        super().__init__(f"{where}: {message}")


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
