"""Preference pairs for `judgekit train rm`: split sides, label noise, length balance, peer filtering, eval rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judgekit.train.rm_data import (
    PreferencePair,
    flip_labels,
    halves,
    length_balance,
    load_pairs,
    peer_filter,
    shared_data_dir,
)
from judgekit.train.rm_eval import evaluate_scores

ROOT = Path(__file__).resolve().parents[2]
SPLIT = ROOT / "training" / "split.json"


def _pairs(n: int) -> list[PreferencePair]:
    return [PreferencePair(id=str(i), source="s", prompt=f"q{i}", chosen="c" * (1 + i % 3),
                           rejected="r" * 2, chosen_first=i % 2 == 0) for i in range(n)]


def test_flip_labels_is_seeded_and_exact() -> None:
    pairs = _pairs(50)
    noisy = flip_labels(pairs, 0.2, seed=3)
    assert sum(p.flipped for p in noisy) == 10
    assert noisy == flip_labels(pairs, 0.2, seed=3) and noisy != flip_labels(pairs, 0.2, seed=4)
    for old, new in zip(pairs, noisy, strict=True):
        assert (new.chosen, new.rejected) == ((old.rejected, old.chosen) if new.flipped else (old.chosen, old.rejected))
    with pytest.raises(ValueError):
        flip_labels(pairs, 1.0, 0)


def test_length_balance_keeps_equal_groups() -> None:
    balanced = length_balance(_pairs(30), seed=0)
    longer = sum(len(p.chosen) > len(p.rejected) for p in balanced)
    shorter = sum(len(p.chosen) < len(p.rejected) for p in balanced)
    assert longer == shorter == 10
    assert sum(len(p.chosen) == len(p.rejected) for p in balanced) == 10  # equal lengths are kept


def test_halves_and_peer_filter() -> None:
    a, b = halves(_pairs(11), seed=0)
    assert len(a) == 5 and len(b) == 6 and not {p.id for p in a} & {p.id for p in b}
    kept = peer_filter(_pairs(5), [0.5, -2.0, 1.0, -1.0, 3.0], drop=0.4)
    assert [p.id for p in kept] == ["0", "2", "4"]  # the two lowest peer margins are dropped


def test_train_and_heldout_sides_are_disjoint_and_dev_ids_are_never_trained(shared_data: Path, tmp_path: Path) -> None:
    train = load_pairs(shared_data, SPLIT, "train", ["hhh"])
    held = load_pairs(shared_data, SPLIT, "heldout", ["hhh"])
    assert train and held and not {p.id for p in train} & {p.id for p in held}
    data = json.loads(SPLIT.read_text())
    data["sources"]["hhh"]["dev_ids"] = [train[0].id, train[1].id]
    with_dev = tmp_path / "split.json"
    with_dev.write_text(json.dumps(data))
    again = load_pairs(shared_data, with_dev, "train", ["hhh"])
    assert {p.id for p in again} == {p.id for p in train} - {train[0].id, train[1].id}


def test_evaluate_scores_by_hand() -> None:
    pairs = [
        PreferencePair("1", "s", "q", chosen="long answer", rejected="short", chosen_first=True),
        PreferencePair("2", "s", "q", chosen="long answer", rejected="short", chosen_first=False),
        PreferencePair("3", "s", "q", chosen="tiny", rejected="much longer", chosen_first=True),
        PreferencePair("4", "s", "q", chosen="tiny", rejected="much longer", chosen_first=True),
    ]
    report = evaluate_scores(pairs, chosen=[1.0, 0.0, 2.0, 1.0], rejected=[0.0, 1.0, 1.0, 1.0])
    rm = report["rows"]["rm"]
    assert rm["accuracy"] == 0.5 and report["ties"] == 1  # the exact tie on pair 4 counts as wrong
    assert rm["chosen_longer"]["accuracy"] == 0.5 and rm["chosen_shorter"]["accuracy"] == 0.5
    assert rm["length_controlled"] == 0.5
    assert report["rows"]["always_first"]["accuracy"] == 0.75
    assert report["rows"]["longer"]["accuracy"] == 0.5 and report["rows"]["longer"]["length_controlled"] == 0.5
    assert report["best_baseline"] == "always_first" and report["beats_best_baseline"] is False


def test_shared_data_dir_prefers_the_option_then_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("JUDGEKIT_SHARED_DATA", str(tmp_path))
    assert shared_data_dir(tmp_path / "given") == tmp_path / "given"
    assert shared_data_dir() == tmp_path
    monkeypatch.delenv("JUDGEKIT_SHARED_DATA")
    assert shared_data_dir() == Path("../shared/data")
