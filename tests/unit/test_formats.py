"""Table-driven parser tests, with malformed outputs of the kind small models write."""

from __future__ import annotations

import re

import pytest

from judgekit.core.formats import PAIRWISE, POINTWISE, VERIFY
from judgekit.core.types import ParseFailure, Verdict

PAIRWISE_CASES = [
    ("Reasoning: A is concise.\nVerdict: [[A]]", "A"),
    ("Reasoning: B covers more.\nVerdict: [[B]]", "B"),
    ("Reasoning: both fine.\nVerdict: [[tie]]", "tie"),
    ("Reasoning: x\nVerdict: [[ b ]]", "B"),
    ("Reasoning: x\nverdict: [[TIE]]", "tie"),
    ("Verdict: A", "A"),
    ("The answer [[B]] is quoted. Verdict: [[A]]", "A"),  # only the text after the marker counts
    ("**Verdict:** B is better", "B"),  # markdown bold around the marker
    ("Verdict - B", None),  # no colon: not the format
    ("Reasoning: x\nVerdict: [[A]] or maybe [[B]]", None),  # conflicting
    ("Reasoning: A is clearly better because it", None),  # truncated before the verdict
    ("", None),
    ("Verdict: [[C]]", None),
    ("I think Response A is better.", None),  # prose, no verdict
    ("Reasoning: ok\nVerdict: [[A]]\n\nExtra text after.", "A"),
]


@pytest.mark.parametrize(("text", "expected"), PAIRWISE_CASES)
def test_pairwise_parser(text: str, expected: str | None) -> None:
    parsed = PAIRWISE.parse(text)
    if expected is None:
        assert isinstance(parsed, ParseFailure)
        assert parsed.raw == text and parsed.reason
    else:
        assert isinstance(parsed, Verdict) and parsed.label == expected


POINTWISE_CASES = [
    ("Reasoning: fine.\nScore: 7", 7.0),
    ("Reasoning: great.\nScore: 10", 10.0),
    ("Score: 3/10", 3.0),
    ("score = 9", 9.0),
    ("Reasoning: first Score: 2 then revised\nScore: 8", 8.0),
    ("Score: 11", None),
    ("Score: 0", None),
    ("Score: 7.5", None),
    ("Score: -3", None),
    ("Reasoning: I would give it", None),
    ("Eight out of ten.", None),
]


@pytest.mark.parametrize(("text", "expected"), POINTWISE_CASES)
def test_pointwise_parser(text: str, expected: float | None) -> None:
    parsed = POINTWISE.parse(text)
    if expected is None:
        assert isinstance(parsed, ParseFailure)
    else:
        assert isinstance(parsed, Verdict) and parsed.scores == (expected,)


VERIFY_CASES = [
    ("Reasoning: both say 18.\nVerdict: correct", "correct"),
    ("Reasoning: 26 != 18.\nVerdict: incorrect", "incorrect"),
    ("Verdict: Correct.", "correct"),
    ("Verdict: [incorrect]", "incorrect"),
    ("Verdict: correct\nVerdict: incorrect", "incorrect"),  # the last marker counts
    ("Verdict: correct or incorrect", None),
    ("The candidate is correct.", None),
    ("Verdict:", None),
]


@pytest.mark.parametrize(("text", "expected"), VERIFY_CASES)
def test_verify_parser(text: str, expected: str | None) -> None:
    parsed = VERIFY.parse(text)
    if expected is None:
        assert isinstance(parsed, ParseFailure)
    else:
        assert isinstance(parsed, Verdict) and parsed.label == expected


@pytest.mark.parametrize("fmt", [PAIRWISE, POINTWISE, VERIFY])
def test_constraint_examples_parse(fmt) -> None:  # type: ignore[no-untyped-def]
    """Whatever the constraint admits, the parser reads: they cannot drift apart."""
    examples = {
        "pairwise": ["Reasoning: r\nVerdict: [[A]]", "Reasoning: r\nVerdict: [[tie]]"],
        "pointwise": ["Reasoning: r\nScore: 10", "Reasoning: r\nScore: 1"],
        "verify": ["Reasoning: r\nVerdict: incorrect", "Reasoning: r\nVerdict: correct"],
    }[fmt.name]
    for ex in examples:
        assert re.fullmatch(fmt.regex, ex)
        assert isinstance(fmt.parse(ex), Verdict)


def test_parser_never_raises_on_odd_input() -> None:
    # the raw parsers, not Format.parse: a parser that raised would fail here
    for text in ["\x00\x01", "[[" * 1000, "Verdict: " + "]" * 500, "分数: 7", "Score: 99999999999999999999"]:
        for fmt in (PAIRWISE, POINTWISE, VERIFY):
            parsed = fmt.parser(text)
            assert isinstance(parsed, ParseFailure) and parsed.raw == text and parsed.reason, (fmt.name, text[:20])
