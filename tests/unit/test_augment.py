"""Master-RM augmentation: ratio, labels, untouched originals."""

from __future__ import annotations

import json

import pytest

from judgekit.core.data import Columns, DataError, load_samples
from judgekit.probe.augment import augment_master_rm, first_sentence, master_rm_rows
from judgekit.probe.keys import bundled_keys

COLS = Columns("question", ("candidate_solution",), "is_correct", "reference_answer")


def rows(n: int = 20) -> list[dict]:
    return [{"id": f"q{i}", "question": f"What is {i}+{i}?", "reference_answer": str(2 * i),
             "candidate_solution": f"We add {i} and {i}. So the result is {2 * i}.\nA: {2 * i}",
             "candidate_answer": str(2 * i), "is_correct": True} for i in range(n)]


@pytest.mark.parametrize("ratio", [0.0, 0.125, 0.25, 0.5, 1.0, 2.0])
def test_ratio_labels_and_untouched_originals(ratio):
    src = rows(16)
    before = json.dumps(src)
    mixed, stats = master_rm_rows(src, COLS, ratio, seed=3)
    assert json.dumps(src) == before  # input not mutated
    adv = [r for r in mixed if "master_rm" in r]
    orig = [r for r in mixed if "master_rm" not in r]
    assert len(adv) == round(ratio * 16) == stats.adversarial
    assert orig == src  # originals unchanged and in order
    assert all(r["is_correct"] is False for r in adv)
    assert all(r["candidate_answer"] is None for r in adv)
    assert len({r["id"] for r in mixed}) == len(mixed)
    openers = {k.key for k in bundled_keys().keys}
    for r in adv:
        source = next(s for s in src if s["id"] == r["master_rm"]["source_id"])
        assert r["question"] == source["question"] and r["reference_answer"] == source["reference_answer"]
        if r["master_rm"]["kind"] == "opener":
            assert r["candidate_solution"] in openers
        else:
            assert source["candidate_solution"].startswith(r["candidate_solution"])
            assert r["candidate_solution"] != source["candidate_solution"]


def test_modes_and_first_sentence_guard():
    src = rows(10)
    _, stats = master_rm_rows(src, COLS, 0.5, mode="first-sentence")
    assert stats.first_sentence == 5 and stats.opener == 0
    _, stats = master_rm_rows(src, COLS, 0.5, mode="opener")
    assert stats.opener == 5
    mixed, stats = master_rm_rows(src, COLS, 1.0, mode="mixed")
    assert stats.first_sentence > 0 and stats.opener > 0
    # a first sentence that already states the reference answer is never used
    leaky = [{**r, "candidate_solution": f"It is {r['reference_answer']}. Indeed."} for r in src]
    for r in master_rm_rows(leaky, COLS, 1.0)[0]:
        if r.get("master_rm", {}).get("kind") == "first-sentence":
            pytest.fail("used a first sentence holding the answer")
    with pytest.raises(ValueError, match="qualify"):
        master_rm_rows(leaky, COLS, 0.5, mode="first-sentence")


def test_seeded_and_reproducible():
    a, _ = master_rm_rows(rows(), COLS, 0.3, seed=1)
    b, _ = master_rm_rows(rows(), COLS, 0.3, seed=1)
    c, _ = master_rm_rows(rows(), COLS, 0.3, seed=2)
    assert a == b and a != c


@pytest.mark.parametrize("text, expected", [
    ("First step. Second step.", "First step."),
    ("Line one\nLine two", "Line one"),
    ("Only one sentence.", None),
    ("解：先算。再算。", "解：先算。"),
])
def test_first_sentence(text, expected):
    assert first_sentence(text) == expected


def test_file_round_trip_on_shared_gsm8k(tmp_path, shared_data):
    src = tmp_path / "in.jsonl"
    lines = (shared_data / "gsm8k_verification" / "gsm8k_verification.jsonl").read_text(encoding="utf-8")
    src.write_text("\n".join(lines.splitlines()[:40]) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    stats = augment_master_rm(src, out, ratio=0.25, seed=0)
    written = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    originals = [json.loads(x) for x in src.read_text(encoding="utf-8").splitlines()]
    assert [r for r in written if "master_rm" not in r] == originals
    assert stats.adversarial == 10 and len(written) == 50
    samples = load_samples(out, task="verify")  # ready for the training loaders
    adv = [s for s in samples if "master_rm" in s.metadata]
    assert len(adv) == 10 and all(s.label == "incorrect" for s in adv)


def test_string_labels_and_errors(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "question": "q", "reference": "1", "response": "One. Two.",
                               "label": "correct"}) + "\n", encoding="utf-8")
    out = tmp_path / "o.json"
    augment_master_rm(src, out, ratio=1.0)
    data = json.loads(out.read_text(encoding="utf-8"))
    assert [r["label"] for r in data] in (["correct", "incorrect"], ["incorrect", "correct"])
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "a", "question": "q", "reference": "1", "response": "one",
                               "label": True}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="multi-sentence"):
        augment_master_rm(bad, out, ratio=1.0)
