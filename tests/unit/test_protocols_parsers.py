"""Table-driven parser tests for the literature protocols, with the malformed outputs small models write."""

from __future__ import annotations

import re

import pytest

from judgekit.core.types import ParseFailure, Verdict
from judgekit.protocols.chain_rubrics import RMR1, task_type
from judgekit.protocols.rethink import BOXED, Branch, branch_regex, load_dimensions, parse_branch
from judgekit.protocols.rubric.generate import GENERATE_REGEX, parse_generated
from judgekit.protocols.rubric.protocol import RubricChecks, items_verdict, parse_checks, rubric_format
from judgekit.protocols.rubric.schema import Rubric, RubricItem
from judgekit.protocols.spct import parse_parts, spct_format

# ------------------------------------------------------------------ BR-RM turn 2 (strict \boxed)
BOXED_CASES = [
    ("Rethink: 1 is right.\nVerdict: \\boxed{1}", "A", None),
    ("Rethink: 2 is right.\nVerdict: \\boxed{2}", "B", None),
    ("Rethink: ok\nVerdict: \\boxed{2}\n  ", "B", None),  # trailing whitespace is fine
    ("Rethink: ok\nVerdict: \\boxed{ 1 }", None, "is not 1 or 2"),  # not exactly the format
    ("Rethink: Response 1 is better.\nVerdict: 1", None, "no \\boxed"),  # missing box
    ("Rethink: hmm \\boxed{1} or \\boxed{2}", None, "both verdicts"),
    ("Rethink: sure \\boxed{1}\nVerdict: \\boxed{1}", None, "2 boxed verdicts"),
    ("Rethink: ok\nVerdict: \\boxed{1}\nBecause Response 1 is right.", None, "text after the verdict"),
    ("Rethink: ok\nVerdict: \\boxed{A}", None, "is not 1 or 2"),
    ("Rethink: ok\nVerdict: \\boxed{3}", None, "is not 1 or 2"),
    ("Rethink: Response 1 handles the carry but", None, "no \\boxed"),  # truncated
    ("Rethink: ok\nVerdict: \\boxed{1", None, "unclosed"),  # truncated inside the box
    ("", None, "no \\boxed"),
]


@pytest.mark.parametrize(("text", "label", "reason"), BOXED_CASES)
def test_boxed_parser(text: str, label: str | None, reason: str | None) -> None:
    parsed = BOXED.parse(text)
    if label is None:
        assert isinstance(parsed, ParseFailure) and parsed.raw == text
        assert parsed.reason.startswith("format violation") and reason in parsed.reason
    else:
        assert parsed == Verdict(label=label)


def test_boxed_regex_accepts_what_the_parser_reads() -> None:
    assert re.fullmatch(BOXED.regex, "Rethink: fine.\nVerdict: \\boxed{2}")
    assert not re.fullmatch(BOXED.regex, "Rethink: fine.\nVerdict: \\boxed{3}")


# ------------------------------------------------------------------ BR-RM turn 1 (branching)
DIMS = load_dimensions()
GOOD_BRANCH = ("Query type: Reasoning\nDimensions: correctness, reasoning quality\n"
               "Response 1 issues: none\nResponse 2 issues: 5+8 written as 14")
BRANCH_CASES = [
    (GOOD_BRANCH, Branch("Reasoning", ("correctness", "reasoning quality"), ("none", "5+8 written as 14"))),
    ("Query type: chat\nDimensions: Safety.\nResponse 1 issues: a\nResponse 2 issues: b",
     Branch("Chat", ("safety",), ("a", "b"))),
    ("Query type: Reasoning\nDimensions: correctness, humour\nResponse 1 issues: a\nResponse 2 issues: b",
     "unknown dimension(s) humour"),
    ("Query type: Reasoning\nDimensions: correctness, clarity, safety, conciseness\n"
     "Response 1 issues: a\nResponse 2 issues: b", "need 1-3 distinct"),
    ("Query type: Reasoning\nDimensions: clarity, clarity\nResponse 1 issues: a\nResponse 2 issues: b",
     "need 1-3 distinct"),
    ("Query type: Poetry\nDimensions: clarity\nResponse 1 issues: a\nResponse 2 issues: b", "unknown query type"),
    ("Query type: Reasoning\nDimensions: correctness\nResponse 1 issues: the sum", "no 'Response 2 issues:'"),
    ("Dimensions: correctness\nResponse 1 issues: a\nResponse 2 issues: b", "no 'Query type:'"),
    ("I think response 1 is better.", "no 'Query type:'"),
]


@pytest.mark.parametrize(("text", "expected"), BRANCH_CASES)
def test_branch_parser(text: str, expected: Branch | str) -> None:
    parsed = parse_branch(text, DIMS)
    if isinstance(expected, str):
        assert isinstance(parsed, ParseFailure) and expected in parsed.reason
    else:
        assert parsed == expected


def test_branch_regex_matches_the_dimension_list() -> None:
    rx = branch_regex(DIMS)
    assert re.fullmatch(rx, GOOD_BRANCH)
    assert not re.fullmatch(rx, GOOD_BRANCH.replace("correctness", "humour"))
    four = GOOD_BRANCH.replace("correctness, reasoning quality", "correctness, clarity, safety, conciseness")
    assert not re.fullmatch(rx, four)


# ------------------------------------------------------------------ SPCT
SPCT_CASES = [
    ("Principles: Correctness (60%); Clarity (40%)\nCritique: 1 is right, 2 is wrong.\nScores: [8, 3]", 2, (8, 3)),
    ("Principles: a\nCritique: b\nScores: [10, 10]", 2, (10, 10)),  # equal scores are a tie, not an error
    ("Principles: a\nCritique: b\nScores: [2, 9, 9]", 3, (2, 9, 9)),
    ("**Principles:** a\n**Critique:** b\nScores: [7,4]", 2, (7, 4)),
    ("Principles: a\nCritique: b\nScores: [11, 3]", 2, "out of range"),
    ("Principles: a\nCritique: b\nScores: [0, 3]", 2, "out of range"),
    ("Principles: a\nCritique: b\nScores: [7.5, 3]", 2, "not an integer"),
    ("Principles: a\nCritique: b\nScores: [7]", 2, "expected 2 scores, got 1"),
    ("Principles: a\nCritique: b\nScores: [7, 3, 2]", 2, "expected 2 scores, got 3"),
    ("Principles: a\nCritique: b\nScores: [7, 3", 2, "truncated"),
    ("Principles: a\nCritique: Response 1 is clearly", 2, "no 'Scores: [...]' line"),
    ("Principles: a\nCritique: b\nScores: [7, 3]\nSo Response 1 wins.", 2, "text after the scores"),
    ("Principles: a\nCritique: b\nScores: [7, 3]\nScores: [3, 7]", 2, "2 score lists"),
    ("Critique: b\nScores: [7, 3]", 2, "no 'Principles:' line"),
    ("Principles: a\nScores: [7, 3]", 2, "no 'Critique:' line"),
    ("Response 1: 7/10, Response 2: 3/10", 2, "no 'Principles:' line"),
]


@pytest.mark.parametrize(("text", "n", "expected"), SPCT_CASES)
def test_spct_parser(text: str, n: int, expected: tuple[int, ...] | str) -> None:
    parsed = spct_format(n).parse(text)
    if isinstance(expected, str):
        assert isinstance(parsed, ParseFailure) and expected in parsed.reason, parsed
    else:
        assert isinstance(parsed, Verdict) and parsed.scores == tuple(float(s) for s in expected)
        best = max(expected)
        assert parsed.label == ("tie" if expected.count(best) > 1 else "ABC"[expected.index(best)])


def test_spct_regex_and_parts() -> None:
    text = "Principles: Correctness (60%); Clarity (weight 40)\nCritique: fine\nScores: [10, 1]"
    assert re.fullmatch(spct_format(2).regex, text)
    assert not re.fullmatch(spct_format(2).regex, text.replace("[10, 1]", "[10, 1, 2]"))
    assert parse_parts(text) == {
        "principles": [{"text": "Correctness", "weight": 60.0}, {"text": "Clarity", "weight": 40.0}],
        "critique": "fine",
    }


# ------------------------------------------------------------------ RM-R1
RMR1_CASES = [
    ("Type: Reasoning\nSolution: 123\nEvaluation: A right.\n<answer>[[A]]</answer>", "A"),
    ("Type: Chat\nRubric: polite\nEvaluation: B better.\n<answer>[[B]]</answer>\n", "B"),
    ("<answer> [[b]] </answer>", "B"),
    ("Type: Chat\nRubric: x\nEvaluation: y\n<answer>[[A]] [[B]]</answer>", "both verdicts"),
    ("<answer>[[A]]</answer> wait, <answer>[[B]]</answer>", "both verdicts"),
    ("<answer>[[A]]</answer><answer>[[A]]</answer>", "2 <answer> tags"),
    ("Type: Chat\nEvaluation: A is better.\n[[A]]", "no <answer> tag"),  # verdict outside the tags
    ("Type: Reasoning\nSolution: 123\nEvaluation: A is", "no <answer> tag"),  # truncated
    ("Type: Reasoning\nEvaluation: ok\n<answer>[[A", "unclosed <answer>"),
    ("<answer>A</answer>", "not [[A]] or [[B]]"),
    ("<answer>[[tie]]</answer>", "not [[A]] or [[B]]"),
    ("<answer>[[A]]</answer>\nResponse A is better because it adds correctly.", "text after </answer>"),
    ("", "no <answer> tag"),
]


@pytest.mark.parametrize(("text", "expected"), RMR1_CASES)
def test_rmr1_parser(text: str, expected: str) -> None:
    parsed = RMR1.parse(text)
    if expected in ("A", "B"):
        assert parsed == Verdict(label=expected)
    else:
        assert isinstance(parsed, ParseFailure) and expected in parsed.reason and parsed.raw == text


def test_rmr1_regex_and_type() -> None:
    chat = "Type: Chat\nRubric: be polite\nEvaluation: B is rude.\n<answer>[[A]]</answer>"
    assert re.fullmatch(RMR1.regex, chat)
    assert not re.fullmatch(RMR1.regex, chat.replace("Rubric", "Solution"))  # chat writes a rubric
    assert task_type(chat) == "chat" and task_type("**Type:** Reasoning\n") == "reasoning"
    assert task_type("<answer>[[A]]</answer>") is None


# ------------------------------------------------------------------ rubric judge
RUBRIC_CASES = [
    ("H1: A=pass B=fail\nP1: A\nP2: tie\nReasoning: B breaks H1.\nVerdict: [[A]]", "A"),
    ("H1: A=pass, B=pass\nP2: B\nP1: B\nReasoning: r\nVerdict: [[B]]", "B"),  # any order, comma ok
    ("H1: A=pass B=fail\nP1: A\nReasoning: r\nVerdict: [[A]]", "no line for item(s) P2"),
    ("H1: A=pass B=fail\nH1: A=fail B=fail\nP1: A\nP2: A\nVerdict: [[A]]", "answered twice"),
    ("H1: A=yes B=no\nP1: A\nP2: A\nVerdict: [[A]]", "malformed item line"),
    ("H1: A=pass B=pass\nP1: A\nP2: A\nP3: B\nVerdict: [[A]]", "unknown item P3"),
    ("H1: A=pass B=pass\nP1: A\nP2: A\nReasoning: A is", "no pairwise verdict"),  # truncated
    ("H1: A=pass B=pass\nP1: A\nP2: A\nVerdict: [[A]] or [[B]]", "conflicting"),
    ("Response A is better.", "no line for item(s) H1, P1, P2"),
]


@pytest.mark.parametrize(("text", "expected"), RUBRIC_CASES)
def test_rubric_judge_parser(text: str, expected: str) -> None:
    parsed = rubric_format(1, 2).parse(text)
    if expected in ("A", "B", "tie"):
        assert parsed == Verdict(label=expected)
    else:
        assert isinstance(parsed, ParseFailure) and expected in parsed.reason


def test_rubric_regex_and_items_verdict() -> None:
    text = "H1: A=pass B=fail\nP1: B\nP2: B\nReasoning: r\nVerdict: [[A]]"
    assert re.fullmatch(rubric_format(1, 2).regex, text)
    checks = parse_checks(text, 1, 2)
    assert checks == RubricChecks(hard=((True, False),), principles=("B", "B"))
    hard, prin = (RubricItem("The response x.", 5),), (RubricItem("The response y.", 1), RubricItem("z", 2))
    assert items_verdict(checks, hard, prin) == "A"  # the hard-rule gate beats the principles
    assert items_verdict(RubricChecks(((True, True),), ("A", "B")), hard, prin) == "B"  # weight 2 > 1
    assert items_verdict(RubricChecks(((False, False),), ("tie", "tie")), hard, prin) == "tie"
    assert checks.swapped() == RubricChecks(hard=((False, True),), principles=("A", "A"))


# ------------------------------------------------------------------ rubric generation
GEN_CASES = [
    ("Hard rule: The response ends with \\boxed{x}. (weight 5)\nPrinciple: The response adds right. (weight 3)\n"
     "End of rubric", (1, 1)),
    ("Sure! Here it is.\nPrinciple: The response is polite. (weight 2)\nPrinciple: The response is short. (weight 1)",
     (0, 2)),  # prose ignored; missing 'End of rubric' tolerated when items are complete
    ("Principle: The response is polite.\nEnd of rubric", "without '(weight N)'"),
    ("Principle: Politeness matters. (weight 2)\nEnd of rubric", "does not start with 'The response'"),
    ("Principle: The response is polite. (weight 9)", "outside 1-5"),
    ("Principle: The response is polite. (weight 2)\nPrinciple: The response is sh", "without '(weight N)'"),
    ("A good answer is correct.", "no rubric items"),
    ("End of rubric\nPrinciple: The response is late. (weight 2)", "no rubric items"),
]


@pytest.mark.parametrize(("text", "expected"), GEN_CASES)
def test_rubric_generation_parser(text: str, expected: tuple[int, int] | str) -> None:
    parsed = parse_generated(text)
    if isinstance(expected, str):
        assert isinstance(parsed, ParseFailure) and expected in parsed.reason
    else:
        assert isinstance(parsed, Rubric)
        assert (len(parsed.hard_rules), len(parsed.principles)) == expected
        assert all(i.text.startswith("The response") for i in (*parsed.hard_rules, *parsed.principles))


def test_generation_regex() -> None:
    ok = "Hard rule: The response uses base 10. (weight 4)\nPrinciple: The response is right. (weight 5)\nEnd of rubric"
    assert re.fullmatch(GENERATE_REGEX, ok)
    assert not re.fullmatch(GENERATE_REGEX, ok.replace("(weight 4)", "(weight 7)"))
    assert not re.fullmatch(GENERATE_REGEX, "End of rubric")  # at least one principle
