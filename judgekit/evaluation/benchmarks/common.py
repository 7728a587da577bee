"""Helpers shared by the benchmark modules: reading files, two-candidate items, means."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from judgekit.core.data import DataError, read_rows
from judgekit.evaluation.benchmarks.base import (
    Comparison,
    EvalSet,
    Item,
    ItemOutcomes,
    ItemResult,
    PairOutcome,
    comparison_outcome,
    unit_ids,
)

PREFERRED_SPLITS = ("test", "filtered", "train")
DATA_SUFFIXES = (".jsonl", ".json", ".parquet", ".ndjson")


def read_records(path: Path | str, prefer_splits: Sequence[str] = PREFERRED_SPLITS) -> Iterator[dict[str, Any]]:
    """Rows of a published file, a folder of such files, or a saved ``datasets`` dir.

    A ``DatasetDict`` with several splits uses the first of ``prefer_splits`` it has.
    A plain folder (no ``dataset_dict.json``/``dataset_info.json``) is read file by
    file in name order.
    """
    path = Path(path)
    if path.is_dir() and not _is_datasets_dir(path):
        for f in data_files(path):
            for _, row in read_rows(f):
                yield row
        return
    if path.is_dir() and (path / "dataset_dict.json").exists():
        import datasets

        dd = datasets.load_from_disk(str(path))
        split = next((s for s in prefer_splits if s in dd), None)
        if split is None:
            if len(dd) != 1:
                raise DataError(path, f"dataset has splits {list(dd)}; expected one of {list(prefer_splits)}")
            split = next(iter(dd))
        for row in dd[split]:
            yield dict(row)
        return
    for _, row in read_rows(path):
        yield row


def data_files(folder: Path) -> list[Path]:
    """The data files (``DATA_SUFFIXES``) anywhere below ``folder``, in path order; a DataError if none."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in DATA_SUFFIXES)
    if not files:
        raise DataError(folder, "folder holds no .jsonl/.json/.parquet files")
    return files


def _is_datasets_dir(path: Path) -> bool:
    return (path / "dataset_dict.json").exists() or (path / "dataset_info.json").exists()


def text(row: Mapping[str, Any], name: str, where: str, scalars: bool = False) -> str:
    """Return a required text field, or raise a :class:`DataError` naming it.

    With ``scalars`` a JSON scalar (``true``, ``3``) is accepted as its text
    (PandaLM's published test set has responses such as ``true``); booleans
    are written the way the upstream Python data had them (``True``).
    """
    value = row.get(name)
    if scalars and isinstance(value, bool | int | float):
        return str(value)
    if not isinstance(value, str):
        raise DataError(where, f"expected text in field {name!r}, got {type(value).__name__}", field=name)
    return value


def text_list(row: Mapping[str, Any], name: str, where: str) -> list[str]:
    """Return a required list-of-text field."""
    value = row.get(name)
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise DataError(where, f"expected a list of texts in field {name!r}", field=name)
    return list(value)


def pair_item(
    item_id: str, subset: str, prompt: str, first: str, second: str, label: str | None,
    metadata: Mapping[str, Any] | None = None,
) -> Item:
    """Build a two-candidate item in the published order with label ``A``/``B``/``tie``."""
    correct = (0,) if label == "A" else (1,) if label == "B" else ()
    return Item(id=item_id, subset=subset, prompt=prompt, candidates=(first, second), correct=correct,
                comparisons=(Comparison("ab", 0, 1, label),), label=label, metadata=dict(metadata or {}))


def limited(items: list[Item], limit: int | None) -> list[Item]:
    """Return the first ``limit`` items (all when ``None``)."""
    return items if limit is None else items[:limit]


def finish(benchmark: str, items: list[Item], where: str, limit: int | None) -> EvalSet:
    """The loaded set: the first ``limit`` items, checked for duplicate ids."""
    items = limited(items, limit)
    check_unique(items, where)
    return EvalSet(benchmark, tuple(items), where)


def judged(evalset: EvalSet, grouped: Mapping[str, ItemOutcomes]) -> Iterator[tuple[Item, ItemOutcomes]]:
    """``(item, outcomes)`` for the items with at least one recorded outcome, in benchmark order."""
    for it in evalset.items:
        got = grouped.get(it.id)
        if got is not None and not got.empty:
            yield it, got


def verification_results(evalset: EvalSet, grouped: Mapping[str, ItemOutcomes],
                         keep: tuple[str, str]) -> list[ItemResult]:
    """One result per judged verification row: 1 when the verdict (P(correct) >= 0.5) equals the label.

    ``keep`` = (detail name, metadata key): the item metadata a benchmark keeps in the detail.
    """
    out = []
    for it, got in judged(evalset, grouped):
        score = got.scores.get(0)
        pred = None if score is None else "correct" if score >= 0.5 else "incorrect"
        detail = {"label": it.label, "pred": pred, keep[0]: it.metadata.get(keep[1])}
        out.append(ItemResult(it.id, it.subset, float(pred == it.label), detail, unit_ids(it, got)))
    return out


def check_unique(items: Sequence[Item], where: str) -> None:
    """Raise a DataError on a duplicated item id."""
    seen: set[str] = set()
    for it in items:
        if it.id in seen:
            raise DataError(where, f"duplicate item id {it.id!r}")
        seen.add(it.id)


def single_pair_results(
    evalset: EvalSet,
    grouped: Mapping[str, ItemOutcomes],
    credit: Callable[[Item, PairOutcome | None], float],
) -> list[ItemResult]:
    """Item results for one-comparison items: ``credit(item, outcome)`` per judged item."""
    out = []
    for it, got in judged(evalset, grouped):
        o = comparison_outcome(it, it.comparisons[0], got)
        detail: dict[str, Any] = {"label": it.label, "pred": o.winner if o else None}
        if o is not None and o.order_winners:
            detail["orders"] = list(o.order_winners)
        if o is not None and o.consistent is not None:
            detail["consistent"] = o.consistent
        if got.scores:
            detail["scores"] = [got.scores.get(i) for i in range(len(it.candidates))]
        out.append(ItemResult(it.id, it.subset, credit(it, o), detail, unit_ids(it, got)))
    return out


def exact_credit(item: Item, o: PairOutcome | None) -> float:
    """1 when the final verdict equals the label, else 0 (ties and failures are wrong)."""
    return 1.0 if o is not None and o.winner is not None and o.winner == item.label else 0.0


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean (NaN when empty)."""
    return sum(values) / len(values) if values else float("nan")


def group_results(
    results: Iterable[ItemResult], key: Callable[[ItemResult], str] = lambda r: r.subset,
) -> dict[str, list[ItemResult]]:
    """``results`` grouped by ``key`` (the subset unless told), groups in first-seen order."""
    by: dict[str, list[ItemResult]] = {}
    for r in results:
        by.setdefault(key(r), []).append(r)
    return by


def in_order(names: Iterable[str], order: Sequence[str]) -> list[str]:
    """``names`` with those in ``order`` first, in that order, then the others alphabetically."""
    return sorted(names, key=lambda s: (order.index(s) if s in order else len(order), s))


def subset_means(results: Sequence[ItemResult]) -> dict[str, float]:
    """``subset/NAME`` mean credit for every subset present (items with credit only)."""
    by: dict[str, list[float]] = {}
    for r in results:
        if r.credit is not None:
            by.setdefault(r.subset, []).append(float(r.credit))
    return {f"subset/{k}": mean(v) for k, v in sorted(by.items())}


def micro_overall(results: Sequence[ItemResult]) -> dict[str, float]:
    """``overall`` = mean credit over all items, plus the subset means."""
    vals = [float(r.credit) for r in results if r.credit is not None]
    return {"overall": mean(vals), **subset_means(results)}
