r"""Varied-form GSM8K verification items: final answers rewritten, labels by construction.

A last-number rule is perfect on GSM8K's own ``A: 26`` lines and fails where a
policy writes its answer another way. This module rewrites the final answer of
GSM8K candidate (and reference) solutions into other forms of the *same value*:
words (``three hundred twenty``), currency (``$1,200.00``), thousands separators,
a fraction, percent (only for questions about percentages), LaTeX ``\boxed{}`` -
each answer-only and inside the worked solution. The value is unchanged, so the
label is upstream's (a reference solution is correct).

Only the training side of ``training/split.json`` is used; its questions are split
by ``question_index`` into train / dev / test (:func:`split_questions`), written to
``training/verify_forms_split.json`` and checked by ``tests/unit/test_verify_forms.py``.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

FORMS = ("words", "currency", "thousands", "fraction", "percent", "boxed")
PARTS = ("train", "dev", "test")
_ONES = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_FINAL_LINE = re.compile(r"\n?\s*A\s*:[^\n]*\s*$")


@dataclass(frozen=True)
class FormItem:
    """One varied-form verification item (the ``question/response/reference/label`` schema)."""

    id: str
    question_index: int
    question: str
    reference: str
    response: str
    label: str
    form: str
    with_solution: bool
    source_id: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (one JSONL row)."""
        return asdict(self)


def _under_thousand(n: int) -> str:
    words: list[str] = []
    if n >= 100:
        words += [_ONES[n // 100], "hundred"]
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10] + ("-" + _ONES[n % 10] if n % 10 else ""))
    elif n or not words:
        words.append(_ONES[n])
    return " ".join(words)


def number_words(value: Decimal) -> str:
    """English words for a number (``320`` -> ``three hundred twenty``, ``2.5`` -> ``two point five``)."""
    if value < 0:
        return "minus " + number_words(-value)
    whole = int(value)
    words: list[str] = []
    rest = whole
    for size, name in _SCALES:
        if rest >= size:
            words += [_under_thousand(rest // size), name]
            rest %= size
    if rest or not words:
        words.append(_under_thousand(rest))
    text = " ".join(words)
    frac = format(value - whole, "f").rstrip("0").rstrip(".")
    if frac not in ("", "0") and "." in frac:
        text += " point " + " ".join(_ONES[int(d)] for d in frac.split(".", 1)[1])
    return text


def parse_value(text: str | None) -> Decimal | None:
    """A GSM8K answer as a Decimal (commas dropped); None when it is not a plain number."""
    if text is None:
        return None
    try:
        value = Decimal(str(text).replace(",", "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f") if value != value.to_integral() else str(int(value))


def render_form(value: Decimal, form: str, rng: random.Random) -> str:
    """``value`` written in ``form`` (see :data:`FORMS`)."""
    if form == "words":
        return number_words(value)
    if form == "currency":
        return f"${value:,.2f}"
    if form == "thousands":
        return f"{value:,}" if value == value.to_integral() else f"{value:,.2f}"
    if form == "fraction":
        whole = [d for d in (2, 3, 4) if value * d == (value * d).to_integral()]
        den = rng.choice(whole) if value == value.to_integral() else next(
            (d for d in (2, 4, 5, 10, 20, 100) if value * d == (value * d).to_integral()), 1000)
        return f"{_plain(value * den)}/{den}"
    if form == "percent":
        return f"{_plain(value)}%"
    if form == "boxed":
        return f"\\boxed{{{_plain(value)}}}"
    raise ValueError(f"unknown form {form!r}")


def forms_for(question: str) -> tuple[str, ...]:
    """The forms that keep the value's meaning for this question (percent only where it asks for one)."""
    asks_percent = "%" in question or "percent" in question.lower()
    return FORMS if asks_percent else tuple(f for f in FORMS if f != "percent")


def answer_sentence(answer: str, rng: random.Random) -> str:
    """An answer-only response around the rewritten answer."""
    return rng.choice(("{a}", "The answer is {a}.", "Final answer: {a}", "{a}")).format(a=answer)


def with_solution(solution: str, answer: str) -> str:
    """The worked solution with its final ``A: ...`` line replaced by a sentence stating ``answer``."""
    body = _FINAL_LINE.sub("", solution.replace("\r\n", "\n")).rstrip()
    body = re.sub(r"\n?#### [^\n]*$", "", body).rstrip()
    return f"{body}\nSo the answer is {answer}."


def items_for_row(row: Mapping[str, Any], seed: int) -> list[FormItem]:
    """Varied-form items from one GSM8K row: its candidate (and, for candidate 0, its reference).

    Two per solution: answer-only and inside the worked solution, in two different
    forms drawn with a seed fixed by the row id. Rows whose answer is not a plain
    number give none.
    """
    rng = random.Random(f"{seed}:{row['id']}")
    ref_value = parse_value(row["reference_answer"])
    if ref_value is None:
        return []
    forms = forms_for(row["question"])
    sources: list[tuple[str, str, Decimal | None, str]] = [
        ("cand", row["candidate_solution"], parse_value(row.get("candidate_answer")),
         "correct" if row["is_correct"] else "incorrect")]
    if _is_first(row):  # one reference solution per question (it is the same for all four candidates)
        sources.append(("ref", row["reference_solution"], ref_value, "correct"))
    out: list[FormItem] = []
    for tag, solution, value, label in sources:
        if value is None:
            continue
        drawn = rng.sample(forms, 2)
        for form, full in zip(drawn, (False, True), strict=True):
            answer = render_form(value, form, rng)
            text = with_solution(solution, answer) if full else answer_sentence(answer, rng)
            out.append(FormItem(
                id=f"{row['id']}::forms-{tag}-{form}-{'sol' if full else 'ans'}",
                question_index=int(row["question_index"]), question=row["question"],
                reference=str(row["reference_answer"]), response=text, label=label, form=form,
                with_solution=full, source_id=str(row["id"])))
    return out


def _is_first(row: Mapping[str, Any]) -> bool:
    return str(row.get("candidate_model")) == "6b_finetuning"


def split_questions(question_indices: Iterable[int], seed: int, dev: int, test: int) -> dict[str, list[int]]:
    """Question indices shuffled with ``seed`` into ``test`` (first), ``dev``, then the rest for ``train``."""
    qs = sorted(set(question_indices))
    random.Random(seed).shuffle(qs)
    return {"test": sorted(qs[:test]), "dev": sorted(qs[test:test + dev]), "train": sorted(qs[test + dev:])}


def build(rows: Sequence[Mapping[str, Any]], heldout_ids: set[str], seed: int = 0, dev: int = 30,
          test: int = 60) -> tuple[dict[str, list[int]], dict[str, list[FormItem]]]:
    """Split the training-side questions and build each part's items (held-out rows never used)."""
    train_side = [r for r in rows if str(r["id"]) not in heldout_ids]
    held_q = {int(r["question_index"]) for r in rows if str(r["id"]) in heldout_ids}
    parts = split_questions((int(r["question_index"]) for r in train_side
                             if int(r["question_index"]) not in held_q), seed, dev, test)
    where = {q: part for part, qs in parts.items() for q in qs}
    items: dict[str, list[FormItem]] = {p: [] for p in PARTS}
    for row in train_side:
        part = where.get(int(row["question_index"]))
        if part is not None:
            items[part].extend(items_for_row(row, seed))
    return parts, items


def split_file_payload(parts: Mapping[str, Sequence[int]], source_sha256: str, seed: int) -> str:
    """The split file's text (question indices per part)."""
    data = {"about": "varied-form GSM8K verification: question indices per part, all from the training side "
                     "of training/split.json (built by training/verify_forms.py)",
            "source": "gsm8k_verification/gsm8k_verification.jsonl", "sha256": source_sha256, "seed": seed,
            "parts": {p: list(parts[p]) for p in PARTS}}
    return json.dumps(data, indent=1) + "\n"


def hard_case_target(item: FormItem, value_text: str) -> str:
    """The generative target for an item the rules cannot read: name the answer, its value, the verdict."""
    relation = "matches" if item.label == "correct" else "does not match"
    return (f"Reasoning: The candidate's final answer is {value_text}, which {relation} the reference answer "
            f"{item.reference}.\nVerdict: {item.label}")

