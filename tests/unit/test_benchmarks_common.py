"""The helpers every benchmark loader shares: file discovery, finishing a load, judged items."""

import json
from pathlib import Path

import pytest

from judgekit.core.data import DataError
from judgekit.evaluation.benchmarks import mrewardbench, processbench, rewardbench2
from judgekit.evaluation.benchmarks.base import EvalSet, ItemOutcomes, ItemResult
from judgekit.evaluation.benchmarks.common import (
    data_files,
    finish,
    group_results,
    in_order,
    judged,
    pair_item,
    read_records,
)


def _items(*ids: str):
    return [pair_item(i, "s", "p", "a", "b", "A") for i in ids]


def test_data_files_sorted_recursive_and_filtered(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    for name in ("b/x.jsonl", "a.json", "notes.txt", "c.parquet"):
        (tmp_path / name).write_text("")
    assert [p.relative_to(tmp_path).as_posix() for p in data_files(tmp_path)] == ["a.json", "b/x.jsonl", "c.parquet"]


@pytest.mark.parametrize("reader", [lambda p: list(read_records(p)), processbench.load, mrewardbench.load])
def test_empty_folder_is_an_error_for_every_reader(tmp_path: Path, reader) -> None:
    (tmp_path / "README.md").write_text("no data")
    with pytest.raises(DataError, match="folder holds no"):
        reader(tmp_path)


def test_read_records_reads_folder_files_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "2.jsonl").write_text(json.dumps({"k": 2}) + "\n")
    (tmp_path / "1.jsonl").write_text(json.dumps({"k": 1}) + "\n")
    assert [r["k"] for r in read_records(tmp_path)] == [1, 2]


def test_finish_limits_before_checking_ids() -> None:
    got = finish("b", _items("x", "y", "x"), "f.jsonl", 2)
    assert got == EvalSet("b", tuple(_items("x", "y")), "f.jsonl")
    with pytest.raises(DataError, match="duplicate item id 'x'"):
        finish("b", _items("x", "y", "x"), "f.jsonl", None)


def test_judged_keeps_benchmark_order_and_skips_empty() -> None:
    evalset = finish("b", _items("x", "y", "z"), "f", None)
    full = ItemOutcomes(pairs={}, scores={0: 1.0})
    grouped = {"z": full, "y": ItemOutcomes(pairs={}, scores={}), "x": full}
    assert [(it.id, got) for it, got in judged(evalset, grouped)] == [("x", full), ("z", full)]


def test_group_results_first_seen_order_and_custom_key() -> None:
    rs = [ItemResult("1", "b", 1.0, {"k": "x"}), ItemResult("2", "a", 0.0, {"k": "x"}), ItemResult("3", "b", None)]
    assert {k: [r.item_id for r in v] for k, v in group_results(rs).items()} == {"b": ["1", "3"], "a": ["2"]}
    assert list(group_results(rs)) == ["b", "a"]
    assert {k: len(v) for k, v in group_results(rs, key=lambda r: str(r.detail.get("k"))).items()} == \
        {"x": 2, "None": 1}


def test_in_order_puts_known_names_first_then_the_rest_alphabetically() -> None:
    assert in_order({"zeta", "math", "alpha", "gsm8k"}, ("gsm8k", "math", "omnimath")) == \
        ["gsm8k", "math", "alpha", "zeta"]


def test_processbench_aggregate_orders_splits_and_reports_both_accuracies() -> None:
    def r(i: str, split: str, credit: float, erroneous: bool) -> ItemResult:
        return ItemResult(i, split, credit, {"erroneous": erroneous})

    out = processbench.aggregate([r("1", "extra", 1.0, True), r("2", "math", 1.0, True), r("3", "math", 0.0, False),
                                  r("4", "gsm8k", 1.0, True), r("5", "gsm8k", 1.0, False), r("6", "extra", 1.0, False)])
    assert [k for k in out if k.startswith("subset/")] == ["subset/gsm8k", "subset/math", "subset/extra"]
    assert out["error_acc/math"] == 1.0 and out["correct_acc/math"] == 0.0 and out["subset/math"] == 0.0
    assert out["subset/gsm8k"] == 1.0
    assert out["overall"] == 2 / 3


def test_rewardbench2_aggregate_lists_subsets_in_the_published_order() -> None:
    rs = [ItemResult("1", "Other", 1.0), ItemResult("2", "Math", 0.0), ItemResult("3", "Factuality", 1.0)]
    out = rewardbench2.aggregate(rs)
    assert list(out) == ["overall", "subset/Factuality", "subset/Math", "subset/Other"]
    assert out["overall"] == 2 / 3
