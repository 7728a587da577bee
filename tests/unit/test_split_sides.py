"""The split's three sides: dev (the old held-out side), test (never read by training), train; no id on two sides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judgekit.core.data import read_rows
from judgekit.train.recipe.build import DataOptions, check_files, training_samples, write_source_files
from judgekit.train.recipe.split import SOURCES, carve_test, read_never_train, read_split, read_test

ROOT = Path(__file__).resolve().parents[2]
SPLIT = ROOT / "training" / "split.json"
SHIPPED_MAX = {"gsm8k": 900, "llmbar": 200, "hhh": 160, "pandalm": 300}  # the data run of judgekit-135m


def test_sides_are_disjoint_and_groups_do_not_straddle(shared_data: Path) -> None:
    dev, test = read_split(SPLIT), read_test(SPLIT)
    for name, source in SOURCES.items():
        assert test[name], f"{name}: no test side"
        assert not dev[name] & test[name], f"{name}: an id is on dev and test"
        side: dict[str, set[str]] = {}
        for _, row in read_rows(shared_data / source.relpath):
            i = source.item_id(row)
            where = "dev" if i in dev[name] else "test" if i in test[name] else "train"
            side.setdefault(source.group(row), set()).add(where)
        assert all(len(s) == 1 for s in side.values()), f"{name}: a prompt group is on two sides"


def test_test_side_was_never_read_by_the_shipped_recipe_and_is_reproducible(shared_data: Path) -> None:
    dev, test = read_split(SPLIT), read_test(SPLIT)
    recorded = json.loads(SPLIT.read_text(encoding="utf-8"))["sources"]
    for name, source in SOURCES.items():
        used = {s.id for s in training_samples(source, shared_data, dev[name], DataOptions(max_items=SHIPPED_MAX))}
        assert not used & test[name], f"{name}: the shipped judge trained on a test id"
        rows = [row for _, row in read_rows(shared_data / source.relpath)]
        again, _ = carve_test(rows, dev[name] | used, recorded[name]["test_target_rows"], recorded[name]["test_seed"],
                              source.group, source.item_id)
        assert set(again) == test[name]


def test_training_files_exclude_the_test_side_and_checks_catch_it(shared_data: Path, tmp_path: Path) -> None:
    dev, test = read_split(SPLIT), read_test(SPLIT)
    opts = DataOptions(max_items={"gsm8k": 30, "llmbar": 400, "hhh": 200, "pandalm": 10}, master_rm_ratio=0.0)
    write_source_files(shared_data, dev, tmp_path, opts, test=test)
    trained = {json.loads(x)["id"] for x in (tmp_path / "train_llmbar.jsonl").read_text().splitlines()}
    assert trained and not trained & test["llmbar"]
    assert {json.loads(x)["id"] for x in (tmp_path / "heldout_llmbar.jsonl").read_text().splitlines()} == dev["llmbar"]
    leak = tmp_path / "leak.jsonl"
    leak.write_text(json.dumps({"id": sorted(test["hhh"])[0]}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="held-out id"):
        check_files(SPLIT, [leak])
    assert read_never_train(SPLIT)["hhh"] == dev["hhh"] | test["hhh"]
