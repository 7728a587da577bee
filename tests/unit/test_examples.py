"""The bundled examples hold only held-out items: the shipped judge (judgekit-135m) is never shown its training data."""

from __future__ import annotations

from pathlib import Path

import pytest

from judgekit.core.data import load_samples
from judgekit.train.recipe.split import read_split

ROOT = Path(__file__).resolve().parents[2]
HELDOUT = read_split(ROOT / "training" / "split.json")


@pytest.mark.parametrize(("name", "source", "task"), [("pairs.jsonl", "llmbar", "pairwise"),
                                                      ("verify.jsonl", "gsm8k", "verify")])
def test_examples_are_held_out_and_labelled(name: str, source: str, task: str) -> None:
    samples = load_samples(ROOT / "examples" / name, task)  # type: ignore[arg-type]
    assert len(samples) == 8
    assert {s.id for s in samples} <= HELDOUT[source]
    labels = [s.label for s in samples]
    assert len(set(labels)) == 2, labels  # both verdicts occur: a constant judge cannot look right
