"""Process verification: split a solution into steps, the PRM verdict formats, step rewards (pure).

Splitting rule (:func:`split_steps`), first that applies:

1. explicit markers: lines starting ``Step k:`` / ``Step k.`` (case-insensitive) open a step;
   text before the first marker is its own step when not blank;
2. paragraphs: two or more blocks separated by blank lines;
3. lines: two or more non-blank lines (GSM8K-style solutions, one computation a line);
4. sentences: split after ``.``, ``!`` or ``?`` followed by white space;
5. otherwise the whole text is one step.

A row that already gives its steps (ProcessBench's ``steps`` list) is not re-split.

Two ways to judge (``--option prm_mode``):

* ``first-error`` (one call): the solution is shown with numbered steps and the judge
  writes ``First error: [[k]]`` (k a step index from 0, or ``-1`` when every step is
  correct), the constraint admitting exactly ``-1 .. n-1``;
* ``per-step`` (n calls): step k is shown after steps 0..k-1 and the judge writes a short
  critique and ``Step: correct`` / ``Step: incorrect``; logit mode reads P(correct). The
  first error is the first step judged incorrect (P(correct) < 0.5).

Rewards (:func:`step_reward`) from per-step P(correct) (1 / 0 for generative labels):
``min`` over steps, ``product`` over steps, ``first-error`` = the share of steps before the
first error (1.0 when none). In first-error mode only the steps up to the first error
are judged (correct before it, incorrect at it); the later steps carry no label.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache

from judgekit.core.formats import REASONING_RE, Format, ParseError
from judgekit.core.types import Parsed, Verdict

SPLIT_RULES = ("markers", "paragraphs", "lines", "sentences", "single")
STEP_REWARDS = ("min", "product", "first-error")
_MARKER = re.compile(r"^[ \t]*step\s*\d+\s*[:.)]", re.IGNORECASE | re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_steps(text: str) -> tuple[tuple[str, ...], str]:
    """``(steps, rule)`` by the documented rule (see the module docstring)."""
    marks = [m.start() for m in _MARKER.finditer(text)]
    if marks:
        cuts = ([0] if text[: marks[0]].strip() else []) + marks + [len(text)]
        return tuple(text[a:b].strip() for a, b in zip(cuts, cuts[1:], strict=False)), "markers"
    paragraphs = [p.strip() for p in re.split(r"\n[ \t]*\n", text) if p.strip()]
    if len(paragraphs) >= 2:
        return tuple(paragraphs), "paragraphs"
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    if len(lines) >= 2:
        return tuple(lines), "lines"
    sentences = [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]
    if len(sentences) >= 2:
        return tuple(sentences), "sentences"
    return (text.strip(),), "single"


def _index_alternatives(n: int) -> str:
    return "|".join(["-1", *(str(i) for i in range(n))])


def parse_first_error(text: str, n: int) -> Parsed:
    """Read ``First error: [[k]]`` with k in ``-1 .. n-1`` (the last marker counts)."""
    idx = text.lower().rfind("first error:")
    if idx < 0:
        raise ParseError("no 'First error:' line found")
    m = re.search(r"\[\[\s*(-?\d+)\s*\]\]", text[idx:])
    if m is None:
        raise ParseError("no [[k]] after 'First error:'")
    k = int(m.group(1))
    if not -1 <= k < n:
        raise ParseError(f"first error {k} is not -1 or a step index 0..{n - 1}")
    return Verdict(label=str(k))


@lru_cache(maxsize=128)
def first_error_format(n: int) -> Format:
    """The one-pass format for a solution of ``n`` steps."""
    return Format(
        name=f"prm-first-error-{n}",
        labels=tuple(["-1", *(str(i) for i in range(n))]),
        instructions=(
            "First write one line starting with 'Reasoning:' that checks the steps in order. Then write a final "
            f"line 'First error: [[k]]' where k is the index (0 to {n - 1}) of the earliest incorrect step, "
            "or 'First error: [[-1]]' if every step is correct."
        ),
        logit_instructions="",
        regex=rf"Reasoning: {REASONING_RE}\nFirst error: \[\[({_index_alternatives(n)})\]\]",
        parser=lambda text: parse_first_error(text, n),
    )


_STEP_WORD = re.compile(r"\b(correct|incorrect)\b", re.IGNORECASE)


def parse_step(text: str) -> Parsed:
    """Read ``Step: correct`` / ``Step: incorrect`` (the last ``Step:`` line)."""
    idx = text.lower().rfind("step:")
    if idx < 0:
        raise ParseError("no 'Step:' verdict found")
    words = {w.lower() for w in _STEP_WORD.findall(text[idx + 5 :].split("\n", 1)[0])}
    if len(words) != 1:
        raise ParseError("no step verdict" if not words else "conflicting step verdicts: correct, incorrect")
    return Verdict(label=words.pop())


STEP = Format(
    name="prm-step",
    labels=("correct", "incorrect"),
    instructions=(
        "First write one line starting with 'Critique:' that checks the new step (its arithmetic and its "
        "logic given the earlier steps). Then write a final line 'Step: correct' or 'Step: incorrect'."
    ),
    logit_instructions="Answer with one word: is the new step correct or incorrect?",
    regex=rf"Critique: {REASONING_RE}\nStep: (correct|incorrect)",
    parser=parse_step,
    logit_prefix="Step:",
    logit_choices={"correct": " correct", "incorrect": " incorrect"},
)


def first_error_of(step_probs: Sequence[float | None]) -> int:
    """Index of the first step with P(correct) < 0.5 (unjudged steps end the scan), -1 if none."""
    for i, p in enumerate(step_probs):
        if p is None:
            break
        if p < 0.5:
            return i
    return -1


def step_reward(step_probs: Sequence[float | None], rule: str, first_error: int) -> float | None:
    """Solution reward from per-step P(correct) (``None`` = not judged) by ``rule``."""
    judged = [p for p in step_probs if p is not None]
    if not judged:
        return None
    if rule == "min":
        return min(judged)
    if rule == "product":
        return math.prod(judged)
    if rule == "first-error":
        return 1.0 if first_error < 0 else first_error / len(step_probs)
    raise ValueError(f"step reward {rule!r}: choose {', '.join(STEP_REWARDS)}")
