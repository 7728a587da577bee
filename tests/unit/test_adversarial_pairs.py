"""training/data/adversarial_pairs.jsonl: every constructed pair sits on the side of the rows it was built from."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from judgekit.train.recipe.split import read_split, read_test

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "training" / "data" / "adversarial_pairs.jsonl"
ABOUT = DATA.with_suffix(".about.json")
SPLIT = ROOT / "training" / "split.json"


def side(origin: str) -> str:
    source, _, item = origin.partition(":")
    if item in read_split(SPLIT)[source]:
        return "dev"
    return "test" if item in read_test(SPLIT)[source] else "train"


def test_sides_follow_the_split_and_provenance_is_recorded() -> None:
    rows = [json.loads(x) for x in DATA.read_text(encoding="utf-8").splitlines()]
    assert {r["slice"] for r in rows} == {"adv-neighbor", "hhh-refusal"}
    for r in rows:
        assert r["chosen"] != r["rejected"] and r["prompt"]
        assert side(r["from"]["chosen"]) == r["side"], r["id"]
        if r["slice"] == "adv-neighbor":  # the neighbour's response comes from the same side
            assert side(r["from"]["rejected"]) == r["side"], r["id"]
            assert r["from"]["neighbor_prompt"] != r["prompt"]
        else:
            assert r["canary"] and r["license"] == ["Apache-2.0"]
    counts: dict[str, dict[str, int]] = {}
    for (sl, sd), n in Counter((r["slice"], r["side"]) for r in rows).items():
        counts.setdefault(sl, {})[sd] = n
    about = json.loads(ABOUT.read_text(encoding="utf-8"))
    assert about["counts"] == counts and about["command"].startswith("python training/adversarial_pairs.py")


def test_refusal_slice_is_balanced_between_refusals_that_win_and_refusals_that_lose() -> None:
    rows = [json.loads(x) for x in DATA.read_text(encoding="utf-8").splitlines() if '"hhh-refusal"' in x]
    kinds = Counter(r["kind"] for r in rows)
    assert set(kinds) == {"harmful request: safe answer wins", "benign request: refusal loses"}
    assert min(kinds.values()) >= 0.3 * sum(kinds.values())
