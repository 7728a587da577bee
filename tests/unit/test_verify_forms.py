"""The varied-form GSM8K verification set: kept split holds, forms keep the value, labels by construction."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

import pytest

from judgekit.core.data import read_rows
from judgekit.core.rule_verify import rule_verify, to_number
from judgekit.train.recipe.split import SOURCES, file_sha256, read_split
from judgekit.train.recipe.verify_forms import FORMS, build, number_words, render_form, split_file_payload

ROOT = Path(__file__).resolve().parents[2]
KEPT = ROOT / "training" / "verify_forms_split.json"


@pytest.mark.parametrize(("value", "words"), [
    ("0", "zero"), ("18", "eighteen"), ("320", "three hundred twenty"), ("1200", "one thousand two hundred"),
    ("2.5", "two point five"), ("-7", "minus seven"), ("1000000", "one million"), ("45", "forty-five"),
])
def test_number_words(value: str, words: str) -> None:
    assert number_words(Decimal(value)) == words


@pytest.mark.parametrize("value", ["18", "320", "1200", "2.5", "0.75", "105"])
@pytest.mark.parametrize("form", [f for f in FORMS if f != "words"])
def test_every_numeric_form_keeps_the_value(value: str, form: str) -> None:
    text = render_form(Decimal(value), form, random.Random(0))
    inner = text.removeprefix("\\boxed{").removesuffix("}")
    assert to_number(inner) == to_number(value), text


def test_the_kept_split_holds(shared_data: Path) -> None:
    path = shared_data / SOURCES["gsm8k"].relpath
    rows = [row for _, row in read_rows(path)]
    heldout = read_split(ROOT / "training" / "split.json")["gsm8k"]
    parts, items = build(rows, heldout, seed=0)
    kept = json.loads(KEPT.read_text(encoding="utf-8"))
    assert kept == json.loads(split_file_payload(parts, file_sha256(path), 0))  # same data, same seed, same split
    qs = {p: set(v) for p, v in kept["parts"].items()}
    assert not (qs["train"] & qs["dev"]) and not (qs["train"] & qs["test"]) and not (qs["dev"] & qs["test"])
    held_q = {int(r["question_index"]) for r in rows if r["id"] in heldout}
    assert held_q and not (held_q & set().union(*qs.values()))  # nothing from the held-out side of split.json
    for part, its in items.items():
        assert its and {i.question_index for i in its} <= qs[part]
        assert all(i.source_id not in heldout for i in its)
    test_items = items["test"]
    assert {i.form for i in test_items} >= set(FORMS) - {"percent"}
    assert {i.with_solution for i in test_items} == {True, False}
    by_id = {r["id"]: r for r in rows}
    for item in test_items:  # labels by construction: upstream's grade, the reference solution is correct
        source = by_id[item.source_id]
        expected = "correct" if "-ref-" in item.id or source["is_correct"] else "incorrect"
        assert item.label == expected and item.reference == source["reference_answer"]


def test_confident_rule_verdicts_are_right_and_only_word_answers_can_be_unsure(shared_data: Path) -> None:
    rows = [row for _, row in read_rows(shared_data / SOURCES["gsm8k"].relpath)]
    _, items = build(rows, read_split(ROOT / "training" / "split.json")["gsm8k"], seed=0)
    sample = items["dev"]
    verdicts = [rule_verify(i.response, i.reference) for i in sample]
    confident = [(v, i) for v, i in zip(verdicts, sample, strict=True) if v.confident]
    assert all(v.label == i.label for v, i in confident)  # confident rule verdicts are right on dev
    assert {i.form for v, i in zip(verdicts, sample, strict=True) if not v.confident} <= {"words"}
    assert any(v.rule == "number-words" for v in verdicts)


def test_sft_rows_hold_no_gsm8k_dev_or_test_question_and_only_number_word_answers(shared_data: Path,
                                                                                  tmp_path: Path) -> None:
    import sys

    from judgekit.train.recipe.split import read_never_train

    sys.path.insert(0, str(ROOT / "training"))
    import verify_forms_sft

    out = tmp_path / "sft.jsonl"
    assert verify_forms_sft.main(["--data", str(shared_data), "--out", str(out)]) == 0
    records = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    rows = {r["id"]: r for _, r in read_rows(shared_data / SOURCES["gsm8k"].relpath)}
    never = read_never_train(ROOT / "training" / "split.json")["gsm8k"]
    never_q = {rows[i]["question_index"] for i in never}
    assert len(records) > 500
    for rec in records:
        assert rows[rec["item_id"].split("::")[0]]["question_index"] not in never_q
        assert "-words-" in rec["item_id"], rec["item_id"]  # what only the number-words reader reads
        assert rec["completion"][0]["content"].rsplit("Verdict: ", 1)[1] in ("correct", "incorrect")
    # the rule stage is confident on all of them, so `--select unsure` has nothing left
    assert verify_forms_sft.main(["--data", str(shared_data), "--out", str(out), "--select", "unsure"]) == 0
    assert out.read_text(encoding="utf-8") == ""
