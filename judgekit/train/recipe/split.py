"""Seeded held-out splits per data source, grouped so no prompt straddles the split.

Items that share a prompt (GSM8K's four candidates of one question, PandaLM's and
HHH's several response pairs for one instruction) are split together: the held-out
side never contains a question the training side has seen. The split is written to
a JSON file (kept in the repository for the shipped judge) and every training file
the recipe writes is checked against it (:func:`assert_disjoint`).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judgekit.core.data import DataError, read_rows


@dataclass(frozen=True)
class Source:
    """One training-grade dataset under ``shared/data``: where it is and how it groups."""

    name: str
    relpath: str
    task: str
    id_field: str
    group_fields: tuple[str, ...]
    heldout_rows: int

    def item_id(self, row: Mapping[str, Any]) -> str:
        """The sample id judgekit's loader gives this row."""
        return str(row[self.id_field])

    def group(self, row: Mapping[str, Any]) -> str:
        """The key that keeps related rows on one side of the split."""
        return json.dumps([row.get(f) for f in self.group_fields], ensure_ascii=False)


# Held-out sizes: large enough for ±0.07-0.10 Wilson intervals, small enough that three
# models can be evaluated on the 2-core CPU within the recipe's budget.
SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source("gsm8k", "gsm8k_verification/gsm8k_verification.jsonl", "verify", "id", ("question_index",), 200),
        Source("llmbar", "llmbar/llmbar.jsonl", "pairwise", "id", ("input",), 100),
        Source("hhh", "hhh_alignment/hhh_alignment.jsonl", "pairwise", "id", ("prompt",), 60),
        Source("pandalm", "pandalm/pandalm_testset_v1.jsonl", "pairwise", "idx", ("instruction", "input"), 100),
    )
}
# Probes: never training data (EvalBiasBench, and the bundled master keys in judgekit/probe).
PROBE_ONLY = ("evalbiasbench/evalbiasbench.jsonl", "master_keys/master_keys.json")


@dataclass(frozen=True)
class SourceSplit:
    """The held-out side of one source (everything else may be trained on)."""

    source: str
    file: str
    sha256: str
    seed: int
    group_by: tuple[str, ...]
    heldout_groups: int
    heldout_ids: tuple[str, ...]
    total_rows: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return {"source": self.source, "file": self.file, "sha256": self.sha256, "seed": self.seed,
                "group_by": list(self.group_by), "heldout_groups": self.heldout_groups,
                "total_rows": self.total_rows, "heldout_ids": list(self.heldout_ids)}


def file_sha256(path: Path) -> str:
    """Content hash of a data file (recorded so a changed file is noticed)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def split_rows(
    rows: Iterable[Mapping[str, Any]], heldout_rows: int, seed: int,
    group: Callable[[Mapping[str, Any]], str], item_id: Callable[[Mapping[str, Any]], str],
) -> tuple[list[str], int]:
    """Held-out ids: whole groups drawn in a seeded order until ``heldout_rows`` rows are held out.

    Returns the held-out ids (in file order) and the number of groups they cover.
    """
    groups: dict[str, list[str]] = {}
    order: list[str] = []
    for row in rows:
        key = group(row)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(item_id(row))
    drawn = list(order)
    random.Random(seed).shuffle(drawn)
    held: set[str] = set()
    n_groups = 0
    for key in drawn:
        if len(held) >= heldout_rows:
            break
        held.update(groups[key])
        n_groups += 1
    ids = [i for key in order for i in groups[key] if i in held]
    return ids, n_groups


def split_source(source: Source, data_dir: Path, seed: int = 0) -> SourceSplit:
    """Split one source found under ``data_dir``."""
    path = data_dir / source.relpath
    if not path.is_file():
        raise DataError(path, f"data file for source {source.name!r} not found")
    rows = [row for _, row in read_rows(path)]
    ids, n_groups = split_rows(rows, source.heldout_rows, seed, source.group, source.item_id)
    return SourceSplit(source=source.name, file=source.relpath, sha256=file_sha256(path), seed=seed,
                       group_by=source.group_fields, heldout_groups=n_groups, heldout_ids=tuple(ids),
                       total_rows=len(rows))


def make_split(data_dir: Path, seed: int = 0, names: Iterable[str] | None = None) -> dict[str, SourceSplit]:
    """Held-out splits for the named sources (default: all training-grade sources)."""
    return {name: split_source(SOURCES[name], data_dir, seed) for name in (names or SOURCES)}


def write_split(splits: Mapping[str, SourceSplit], path: Path) -> None:
    """Write the split file (one JSON object; ids per source)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"about": "held-out ids per source; never trained, tuned or filtered on",
            "probe_only": list(PROBE_ONLY), "sources": {k: v.to_dict() for k, v in splits.items()}}
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def read_split(path: Path) -> dict[str, set[str]]:
    """Dev ids per source from a split file (``heldout_ids``: the side every option is chosen on)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {name: set(entry["heldout_ids"]) for name, entry in data["sources"].items()}


def read_test(path: Path) -> dict[str, set[str]]:
    """Test ids per source (``test_ids``; empty where a source has none). Read once per shipped configuration."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {name: set(entry.get("test_ids", [])) for name, entry in data["sources"].items()}


def read_never_train(path: Path) -> dict[str, set[str]]:
    """Dev and test ids per source: what no training file may contain."""
    dev, test = read_split(path), read_test(path)
    return {name: dev[name] | test.get(name, set()) for name in dev}


def carve_test(
    rows: Iterable[Mapping[str, Any]], exclude: set[str], target_rows: int, seed: int,
    group: Callable[[Mapping[str, Any]], str], item_id: Callable[[Mapping[str, Any]], str],
) -> tuple[list[str], int]:
    """Test ids: whole groups none of whose ids is in ``exclude`` (dev, or read by a training run), seeded order.

    A group touching ``exclude`` is skipped entirely, so no prompt is on the test side
    and on another side. Returns the ids (file order) and the number of groups.
    """
    groups: dict[str, list[str]] = {}
    for row in rows:
        groups.setdefault(group(row), []).append(item_id(row))
    clean = [k for k, ids in groups.items() if not set(ids) & exclude]
    random.Random(f"test:{seed}").shuffle(clean)
    chosen: list[str] = []
    taken = 0
    for key in clean:
        if len(chosen) >= target_rows:
            break
        chosen.extend(groups[key])
        taken += 1
    picked = set(chosen)
    return [i for ids in groups.values() for i in ids if i in picked], taken


def add_test_sides(
    split_path: Path, data_dir: Path, used: Mapping[str, set[str]], target_rows: Mapping[str, int],
    seed: int, provenance: str,
) -> dict[str, int]:
    """Write ``test_ids`` into the split file: per source, groups never in dev nor in ``used`` (training reads)."""
    data = json.loads(split_path.read_text(encoding="utf-8"))
    counts: dict[str, int] = {}
    for name, entry in data["sources"].items():
        source = SOURCES[name]
        rows = [row for _, row in read_rows(data_dir / source.relpath)]
        exclude = set(entry["heldout_ids"]) | used.get(name, set())
        ids, n_groups = carve_test(rows, exclude, target_rows.get(name, 0), seed, source.group, source.item_id)
        entry.update(test_ids=ids, test_groups=n_groups, test_seed=seed, test_target_rows=target_rows.get(name, 0))
        counts[name] = len(ids)
    data["about"] = ("heldout_ids: the dev side (it chose every recipe option and judge default); test_ids: groups "
                     "no training run read and not in dev, read once per shipped configuration; everything else "
                     "may be trained on")
    data["test_provenance"] = provenance
    split_path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return counts


def base_id(item_id: str) -> str:
    """The source row id inside a derived id (``ID-masterrm-3``, ``ID::crome-...``, ``ID:BA``)."""
    for marker in ("::", "-masterrm-"):
        item_id = item_id.split(marker, 1)[0]
    return item_id.rsplit(":", 1)[0] if item_id.endswith((":AB", ":BA")) else item_id


def assert_disjoint(heldout: Mapping[str, set[str]], train_ids: Iterable[str], where: str) -> int:
    """Raise if any training id (or the row it was derived from) is held out; returns the count checked."""
    held = set().union(*heldout.values()) if heldout else set()
    n = 0
    for item_id in train_ids:
        n += 1
        if base_id(str(item_id)) in held:
            raise ValueError(f"{where}: held-out id {item_id!r} reached a training file")
    return n
