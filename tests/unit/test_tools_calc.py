"""The ``<calc>`` evaluator: a table of valid inputs, hostile inputs that must fail cleanly and fast,
a seeded fuzzer (any input gives a result or a :class:`CalcError`, nothing else), and a CLI run whose
judge writes a number too large for a float."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgekit.backends import fake
from judgekit.cli import app
from judgekit.core.runner import Runner
from judgekit.core.types import GenerationParams, Prompt
from judgekit.protocols import JudgeConfig, get_protocol
from judgekit.reward.policy import PolicyReward, RewardItem
from judgekit.tools import get_tools
from judgekit.tools.calc import MAX_INPUT, CalcError, calculate

VALID = [
    ("48/2", "24"), ("1/3", "0.3333333333"), ("7/2", "3.5"), ("-7/4", "-1.75"), ("0.1+0.2", "0.3"),
    ("2**10", "1024"), ("2^-2", "0.25"), ("2**3**2", "512"), ("-2**2", "-4"), ("(1+2)*3", "9"),
    ("1,000*3", "3000"), ("$48/2", "24"), ("10/4=", "2.5"), ("3 x 4", "12"), ("12 ÷ 4 × 2", "6"),
    ("15%", "0.15"), ("50% * 80", "40"), ("15 % 4", "3"), ("7//2", "3"), ("2.5e3", "2500"),
    ("1e-5", "0.00001"), ("sqrt(16)", "4"), ("sqrt(2)", "1.414213562"), ("round(2.567, 2)", "2.57"),
    ("max(1, 200)", "200"), ("max(5)", "5"), ("min(3, -1, 2)", "-1"), ("abs(-3.5)", "3.5"), ("floor(7/2)", "3"),
    ("ceil(7/2)", "4"), ("2**0.5", "1.414213562"), ("  12 + 30  ", "42"), ("10**100", "1" + "0" * 100),
    # beyond the float range: exact values printed to 10 significant digits, never a crash or 0
    ("10^1000/3", "3.333333333e+999"), ("(1/3)**1000", "7.563891323e-478"), ("-10**1000/7", "-1.428571429e+999"),
    ("10**400 * 3", "3e+400"), ("10**-400", "1e-400"), ("sqrt(10**400)", "1e+200"), ("(10**400)**0.5", "1e+200"),
    ("sqrt(2*10**400)", "1.414213562e+200"), ("2**-1000", "9.332636185e-302"), ("10**121", "1e+121"),
    ("٣ + ３", "6"), ("١٢/٤", "3"),
]

HOSTILE = [
    ("__import__('os').system('true')", "unexpected character"),
    ("import os", "unknown name 'import'"),
    ("open", "unknown name 'open'"),
    ("(lambda: 1)()", "unknown name 'lambda'"),
    ("[1]*10", "unexpected character '['"),
    ("'a'*10", "unexpected character"),
    ("9**9**9", "exponent larger than"),
    ("2**5000", "exponent larger than"),
    ("10**999*10**999", "larger than 4096 bits"),
    ("1e5000", "exponent larger than"),
    ("1" * 60, "more than 40 digits"),
    ("(" * 60 + "1" + ")" * 60, "nested deeper than"),
    ("-" * 200 + "1", None),  # a long chain of signs is fine: it is bounded by the input length
    ("1" + "+1" * 200, "longer than"),
    ("1/0", "division by zero"),
    ("5 % 0", "division by zero"),
    ("0**-1", "division by zero"),
    ("(-8)**0.5", "fractional power of a negative"),
    ("sqrt(-1)", "sqrt of a negative"),
    ("round(1, 0.5)", "whole number"),
    ("max()", "unexpected"),
    ("1+", "unexpected end"),
    ("(1+2", "expected ')'"),
    ("1 2", "unexpected '2'"),
    ("", "empty expression"),
    ("x" * (MAX_INPUT + 1), "longer than"),
    ("2**0.5*10**400", "too large for a floating-point number"),
    ("2**(10**400+0.5)", "exponent larger than"),
    ("(10**1000)**0.5 * 10**1000 * 2**0.5", "too large for a floating-point number"),
    ("(1/3)**1000 * 2**0.5", "too small for a floating-point number"),
    ("10**300 * 10**300 + 2**0.5", "too large for a floating-point number"),
    ("²", "unexpected character"),
]


@pytest.mark.parametrize(("expr", "expected"), VALID)
def test_valid_expressions(expr: str, expected: str) -> None:
    assert calculate(expr) == expected


@pytest.mark.parametrize(("expr", "reason"), HOSTILE)
def test_hostile_expressions_fail_with_a_reason(expr: str, reason: str | None) -> None:
    if reason is None:
        assert calculate(expr) == "1"
        return
    with pytest.raises(CalcError, match=None) as info:
        calculate(expr)
    assert reason in str(info.value)


def test_the_tool_turns_errors_into_data() -> None:
    (calc,) = get_tools(["calc"])
    assert (calc.run("48/2").ok, calc.run("48/2").output) == (True, "24")
    bad = calc.run("1/0")
    assert not bad.ok and bad.output == "error: division by zero"


ATOMS = ["0", "1", "2", "3", "7", "0.5", "1e-300", "9" * 40, "1e1000", "10**400", "10^-400", "2**0.5", "(1/3)",
         "1,000", "15%", "٣", "３", "sqrt(2)", "sqrt(10**400)", "round(2.567, 2)", "max(1, 1e999)", "abs(-1e-999)",
         "floor(1e400/3)", "ceil(-7/2)", "0.1"]
OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "^", " x ", "×", "÷"]
NOISE = ["(", ")", ",", "e", "9" * 41, ".", "**-", "--", "sqrt(", "\u0663\u0663", "\x00", "𝟗", "∞", "nan", "inf"]


def _random_expression(rng: random.Random, depth: int = 0) -> str:
    if depth > 4 or rng.random() < 0.3:
        return rng.choice(ATOMS)
    left, right = _random_expression(rng, depth + 1), _random_expression(rng, depth + 1)
    text = f"{left}{rng.choice(OPERATORS)}{right}"
    roll = rng.random()
    if roll < 0.25:
        text = f"({text})"
    elif roll < 0.35:
        text = f"-{text}"
    elif roll < 0.45:
        text = f"{rng.choice(['sqrt', 'abs', 'round', 'floor', 'ceil', 'min', 'max'])}({text})"
    if rng.random() < 0.05:  # a malformed spot somewhere
        at = rng.randrange(len(text) + 1)
        text = text[:at] + rng.choice(NOISE) + text[at:]
    return text


def test_fuzz_any_input_gives_a_result_or_a_calculator_error() -> None:
    """3,000 seeded expressions over every operator, huge and tiny magnitudes, nesting, unicode digits."""
    rng = random.Random(29)
    results = errors = 0
    for _ in range(3000):
        text = _random_expression(rng)
        try:
            out = calculate(text)
        except CalcError as exc:
            assert str(exc) and not str(exc).startswith("cannot evaluate"), (text, exc)  # bounded at the root
            errors += 1
            continue
        assert out and out not in ("inf", "-inf", "nan") and len(out) <= 130, (text, out)
        results += 1
    assert results > 500 and errors > 200  # both paths are exercised


def test_a_judge_that_calculates_a_huge_number_finishes_and_reruns(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """``judgekit judge -p tool-verify`` whose judge writes ``<calc>10^1000/3</calc>``: exit 0, twice."""
    def respond(prompt: Prompt, index: int, params: GenerationParams) -> str:
        if params.constraint is not None or "<result>" in prompt.assistant_prefix:
            return "Verdict: correct"
        return "Let me check <calc>10^1000/3</calc>"

    monkeypatch.setattr(fake, "default_responder", respond)
    data = tmp_path / "items.jsonl"
    data.write_text(json.dumps({"id": "big", "question": "What is 10^1000/3?", "reference": "3.33e999",
                                "response": "About 3.33e999."}) + "\n")
    for run in ("first", "rerun"):  # the re-run replays the cached generation and runs the tool again
        out = tmp_path / run
        args = ["judge", str(data), "--backend", "fake", "-p", "tool-verify", "-o", str(out)]
        result = CliRunner().invoke(app, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        (row,) = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
        (call,) = row["trace"][0]["parsed"]["calls"]
        assert (call["ok"], call["output"]) == (True, "3.333333333e+999")


def test_a_huge_number_in_one_judgment_does_not_fail_the_reward_batch() -> None:
    """One judge transcript computes ``10^1000/3``; every item of the batch still gets its reward."""
    def respond(prompt: Prompt, index: int, params: GenerationParams) -> str:
        if params.constraint is not None or "<result>" in prompt.assistant_prefix:
            return "Verdict: correct"
        return "Check <calc>10^1000/3</calc>" if "huge" in prompt.as_text() else "Check <calc>48/2</calc>"

    reward = PolicyReward(get_protocol("tool-verify", JudgeConfig()), Runner(fake.FakeBackend(responder=respond)))
    items = [RewardItem(id=f"r{i}", prompt=q, completion="72", reference="72")
             for i, q in enumerate(["How many clips?", "What is huge/3?", "How many pens?"])]
    assert reward.rewards(items) == [1.0, 1.0, 1.0]
