"""Process-labelled solutions from GSM8K's ``<<a*b=c>>`` annotations (labels by construction), and the rule.

GSM8K reference solutions annotate every computation as ``<<expr=result>>`` followed by the
result as written (``16 - 3 - 4 = <<16-3-4=9>>9 duck eggs``). Each line is one step.

* :func:`annotation_errors` re-computes every annotation with judgekit's sandboxed
  calculator (:mod:`judgekit.tools.calc`); :func:`rule_first_error` is the rule baseline:
  the index of the first step holding a wrong computation, ``-1`` when none is wrong.
* :func:`perturb` makes an erroneous solution: one annotation's result (inside ``<<...>>``
  and as written right after it) is replaced by a wrong value; every other step stays as
  it was, so the first error is that step by construction.
* :func:`process_rows` writes both versions of a solution in ProcessBench's layout
  (``id``, ``generator``, ``problem``, ``steps``, ``final_answer_correct``, ``label``); the
  ``#### answer`` line is not a step.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from judgekit.tools.calc import CalcError, evaluate, format_number

ANNOTATION = re.compile(r"<<([^<>=]+)=([^<>]+)>>")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _value(text: str) -> Fraction | None:
    try:
        return Fraction(evaluate(text.replace(",", "")))
    except (CalcError, ValueError, ZeroDivisionError):
        return None


def annotation_errors(step: str) -> list[str]:
    """The annotations of one step whose stated result differs from the recomputed one."""
    wrong = []
    for m in ANNOTATION.finditer(step):
        expr, stated = _value(m.group(1)), _value(m.group(2))
        if expr is not None and stated is not None and abs(expr - stated) > Fraction(1, 100):
            wrong.append(m.group(0))
    return wrong


def rule_first_error(steps: Sequence[str]) -> int:
    """Index of the first step with a wrong ``<<...>>`` computation, ``-1`` when there is none."""
    for i, step in enumerate(steps):
        if annotation_errors(step):
            return i
    return -1


def solution_steps(solution: str) -> tuple[list[str], str | None]:
    """A GSM8K solution's steps (its non-blank lines) and the ``#### answer``, if any."""
    steps, answer = [], None
    for line in solution.split("\n"):
        if line.strip().startswith("####"):
            answer = line.strip()[4:].strip()
        elif line.strip():
            steps.append(line.strip())
    return steps, answer


def _wrong_value(value: str, rng: random.Random) -> str:
    """A different number written like ``value`` (integers stay integers)."""
    number = Fraction(value.replace(",", ""))
    delta = rng.choice([-1, 1]) * rng.choice([1, 2, 3, 5, 10])
    new = number + delta if number + delta != 0 else number + abs(delta) + 1
    if new.denominator == 1:
        return str(new.numerator)
    return f"{float(new):g}"


def perturb(steps: Sequence[str], rng: random.Random) -> tuple[list[str], int] | None:
    """Steps with one annotation's result made wrong, and that step's index (None: no usable annotation)."""
    spots = [(i, m) for i, s in enumerate(steps) for m in ANNOTATION.finditer(s)
             if _NUMBER.fullmatch(m.group(2).replace(",", "").strip())]
    if not spots:
        return None
    i, m = rng.choice(spots)
    stated = m.group(2).strip()
    wrong = _wrong_value(stated, rng)
    step = steps[i]
    after = step[m.end():]
    shown = re.match(r"\$?" + re.escape(stated), after)  # the result as written right after >>
    if shown:
        after = after[: shown.start()] + shown.group(0).replace(stated, wrong, 1) + after[shown.end():]
    new = step[: m.start()] + f"<<{m.group(1)}={wrong}>>" + after
    out = list(steps)
    out[i] = new
    return out, i


def final_answer_correct(steps: Sequence[str], answer: str | None) -> bool | None:
    """Whether the last number of the last step equals the reference answer."""
    if answer is None or not steps:
        return None
    found = _NUMBER.findall(ANNOTATION.sub("", steps[-1]).replace(",", ""))
    ref = _value(answer)
    return bool(found) and ref is not None and _value(found[-1]) == ref


def process_rows(key: str, problem: str, solution: str, seed: int = 0) -> list[dict[str, Any]]:
    """The correct solution (label -1) and one perturbed copy (label = the perturbed step), ProcessBench layout."""
    steps, answer = solution_steps(solution)
    if not steps or rule_first_error(steps) != -1:
        return []  # no steps, or the reference itself fails the recomputation: not a clean correct solution
    rows = [{"id": f"{key}-correct", "generator": "gsm8k-reference", "problem": problem, "steps": steps,
             "final_answer_correct": final_answer_correct(steps, answer), "label": -1}]
    made = perturb(steps, random.Random(f"{seed}|{key}"))
    if made is not None:
        bad, at = made
        rows.append({"id": f"{key}-perturbed", "generator": "gsm8k-reference-perturbed", "problem": problem,
                     "steps": bad, "final_answer_correct": final_answer_correct(bad, answer), "label": at})
    return rows


def _trace_expr(text: str) -> str:
    """An annotation's expression as the trace writes it (no brackets, no line breaks, no thousands commas)."""
    return re.sub(r"[\[\]\n]", " ", text.replace(",", "")).strip()


def step_check(index: int, step: str) -> tuple[str, bool]:
    """One step's rule-written check (``step 2: 18+5 = 23, stated 21, wrong``) and whether it passed."""
    parts, ok = [], True
    for m in ANNOTATION.finditer(step):
        expr, stated = _value(m.group(1)), _value(m.group(2))
        if expr is None or stated is None:
            parts.append(f"{_trace_expr(m.group(1))} not checkable")
            continue
        shown = format_number(expr)
        if abs(expr - stated) > Fraction(1, 100):
            ok = False
            parts.append(f"{_trace_expr(m.group(1))} = {shown}, stated {_trace_expr(m.group(2))}, wrong")
        else:
            parts.append(f"{_trace_expr(m.group(1))} = {shown}, right")
    return f"step {index}: " + ("; ".join(parts) if parts else "no computation"), ok


def first_error_trace(steps: Sequence[str]) -> str:
    """The rule-written answer in ``-p prm``'s first-error format (an SFT target).

    Each step's recomputation up to the first wrong one, then ``First error: [[k]]``
    (``-1`` when every annotation recomputes).
    """
    checks = []
    for i, step in enumerate(steps):
        text, ok = step_check(i, step)
        checks.append(text)
        if not ok:
            break
    first = rule_first_error(steps)
    return f"Reasoning: {'. '.join(checks)}.\nFirst error: [[{first}]]"
