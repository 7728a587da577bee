"""STARC distance: hand-computed values, invariances, the results.jsonl reader and the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgekit.arena.starc import canonical, rewards_of, standardise, starc_distance
from judgekit.cli import app


def test_canonical_and_standardise() -> None:
    assert canonical([1.0, 3.0]) == [-1.0, 1.0]
    assert standardise([3.0, 4.0]) == [0.6, 0.8]
    assert standardise([0.0, 0.0]) == [0.0, 0.0]  # a constant reward stays zero (paper's convention)


def test_same_preferences_up_to_shaping_and_scale_are_distance_zero() -> None:
    r1 = {"a": [1.0, 2.0, 4.0], "b": [0.0, -1.0]}
    # per-prompt shift (potential shaping in the bandit case) and one positive scale
    r2 = {"a": [10 + 3 * v for v in r1["a"]], "b": [-7 + 3 * v for v in r1["b"]]}
    assert starc_distance(r1, r2).distance == pytest.approx(0.0, abs=1e-12)


def test_opposite_rewards_are_distance_one() -> None:
    r1 = {"a": [1.0, 2.0], "b": [5.0, 0.0]}
    r2 = {k: [-v for v in vals] for k, vals in r1.items()}
    assert starc_distance(r1, r2).distance == pytest.approx(1.0)


def test_hand_computed_distance() -> None:
    # item a: c1 = (-1, 1), c2 = (-1, 1); item b: c1 = (-1, 1), c2 = (1, -1)
    # s1 = (-1, 1, -1, 1)/2, s2 = (-1, 1, 1, -1)/2; |s1 - s2| = |(0, 0, -2, 2)/2| = sqrt(2); halved
    r1 = {"a": [0.0, 2.0], "b": [0.0, 2.0]}
    r2 = {"a": [0.0, 2.0], "b": [2.0, 0.0]}
    result = starc_distance(r1, r2)
    assert result.distance == pytest.approx(math.sqrt(2) / 2)
    assert result.items == 2 and result.responses == 4 and result.top_agreement == 0.5


def test_missing_rewards_and_unshared_items_are_skipped_not_guessed() -> None:
    r1 = {"a": [0.0, 1.0], "b": [None, 1.0], "only1": [0.0, 1.0]}
    r2 = {"a": [0.0, 3.0], "b": [0.0, 1.0], "only2": [1.0, 0.0]}
    result = starc_distance(r1, r2)
    assert result.items == 1 and result.skipped == 3
    with pytest.raises(ValueError, match="item a"):
        starc_distance({"a": [0.0, 1.0]}, {"a": [0.0, 1.0, 2.0]})


def test_rewards_of_rows() -> None:
    assert rewards_of({"scores": [0.5, -1.0], "reward": 0.8}) == [0.5, -1.0]
    d = rewards_of({"verdict": "A", "reward": 0.75, "scores": None})
    assert d is not None and d[0] == pytest.approx(math.log(3) / 2) and d[1] == pytest.approx(-math.log(3) / 2)
    assert rewards_of({"verdict": None, "reward": None}) is None


def _run(path: Path, rows: list[dict]) -> Path:  # type: ignore[type-arg]
    path.mkdir()
    (path / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_compare_rewards_cli(tmp_path: Path) -> None:
    a = _run(tmp_path / "a", [{"sample_id": "1", "verdict": "A", "reward": 0.9, "scores": [2.0, 1.0]},
                              {"sample_id": "2", "verdict": "B", "reward": 0.2, "scores": [0.0, 1.0]}])
    b = _run(tmp_path / "b", [{"sample_id": "1", "verdict": "B", "reward": 0.1, "scores": [1.0, 2.0]},
                              {"sample_id": "2", "verdict": "A", "reward": 0.8, "scores": [1.0, 0.0]}])
    result = CliRunner().invoke(app, ["compare-rewards", str(a), str(b), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    row = json.loads(result.output)[0]
    assert row["starc"] == pytest.approx(1.0) and row["items"] == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"sample_id": "1", "reward": 0.5}\nnot json\n')
    result = CliRunner().invoke(app, ["compare-rewards", str(a), str(bad)])
    assert result.exit_code == 2 and "line 2" in " ".join(result.output.split())
