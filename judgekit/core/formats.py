"""Verdict formats: each owns its constraint, its instructions and its parser.

Keeping the three in one object means the regex that constrains decoding, the text
that tells the model what to write, and the code that reads the answer back cannot
drift apart. Parsers never raise on model output: they return a ``Verdict`` or a
``ParseFailure`` that records why (a parser may also raise :class:`ParseError`, which
:meth:`Format.parse` records the same way). Any other exception is a bug in the
parser and propagates: it must not pass for a wrong verdict.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from judgekit.core.types import Constraint, Parsed, ParseFailure, Verdict

# Reasoning text allowed before the verdict: one line, no brackets (so the reasoning
# cannot itself contain a verdict marker). It is open-ended on purpose: a counted
# repetition such as {1,240} costs minutes and gigabytes to compile into an outlines
# index over a 49k vocabulary, while the transformers backend's budget-aware
# processor already guarantees the verdict is written within max_new_tokens.
REASONING_RE = r"[^\n\[\]]+"


class ParseError(ValueError):
    """Model output a parser cannot read; :meth:`Format.parse` records it as a failure."""


@dataclass(frozen=True)
class Format:
    """A verdict format: how the model must answer and how the answer is read.

    ``regex`` constrains generative decoding (reasoning line, then the verdict line);
    ``logit_prefix`` and ``logit_choices`` drive logit mode (one forward pass, the
    next-token distribution over the choice strings, keyed by verdict label).
    """

    name: str
    labels: tuple[str, ...]
    instructions: str
    logit_instructions: str
    regex: str
    parser: Callable[[str], Parsed]
    logit_prefix: str = ""
    logit_choices: Mapping[str, str] = field(default_factory=dict)

    def constraint(self) -> Constraint:
        """The outlines constraint for generative decoding."""
        return Constraint(kind="regex", pattern=self.regex)

    def parse(self, text: str) -> Parsed:
        """Read a verdict from model output.

        A :class:`ParseError` becomes a recorded ``ParseFailure``; any other exception
        is a parser bug and is raised, never turned into a verdict or a failure.
        """
        try:
            return self.parser(text)
        except ParseError as exc:
            return ParseFailure(reason=str(exc), raw=text)

    def from_probs(self, probs: Mapping[str, float]) -> Parsed:
        """Turn logit-mode probabilities (keyed by choice label) into a verdict.

        No probability mass on any choice (the backend found none of the choice tokens
        among its top alternatives) and an exact tie for the highest probability are
        recorded failures with their reason, never a verdict.
        """
        mass = {lab: float(probs.get(lab, 0.0)) for lab in self.labels}
        if sum(mass.values()) <= 0:
            return ParseFailure(
                reason="no choice token among the backend's top logprobs (no probability for "
                + ", ".join(self.labels) + ")",
                raw="",
            )
        top = max(mass.values())
        leaders = [lab for lab, p in mass.items() if p == top]
        if len(leaders) > 1:
            return ParseFailure(reason=f"exact tie in logit probabilities: {' = '.join(leaders)} = {top:.6g}", raw="")
        return Verdict(label=leaders[0], probs=dict(probs))


def _labels_in(text: str, pattern: re.Pattern[str], canon: Mapping[str, str]) -> list[str]:
    return [canon[m.group(1).lower()] for m in pattern.finditer(text)]


def _single_label(found: list[str], text: str, what: str) -> Parsed:
    """One distinct label -> verdict; none or conflicting -> recorded failure."""
    distinct = sorted(set(found))
    if not distinct:
        return ParseFailure(reason=f"no {what} found", raw=text)
    if len(distinct) > 1:
        return ParseFailure(reason=f"conflicting {what}s: {', '.join(distinct)}", raw=text)
    return Verdict(label=distinct[0])


# ---------------------------------------------------------------- pairwise
_PAIR_CANON = {"a": "A", "b": "B", "tie": "tie"}
_PAIR_BRACKET = re.compile(r"\[\[\s*(A|B|tie)\s*\]\]", re.IGNORECASE)
_PAIR_LOOSE = re.compile(r"verdict\s*[:=]\s*\**\s*(A|B|tie)\b", re.IGNORECASE)


def parse_pairwise(text: str) -> Parsed:
    """Read ``[[A]]``, ``[[B]]`` or ``[[tie]]``; fall back to ``Verdict: A``.

    Only the text after the last ``Verdict:`` marker is read when one exists, so a
    verdict-like string quoted earlier in the reasoning does not count.
    """
    tail = _after_last_marker(text, "verdict")
    found = _labels_in(tail, _PAIR_BRACKET, _PAIR_CANON)
    if not found:
        found = _labels_in(tail, _PAIR_LOOSE, _PAIR_CANON)
    return _single_label(found, text, "pairwise verdict")


def _after_last_marker(text: str, marker: str) -> str:
    idx = text.lower().rfind(marker + ":")
    return text[idx:] if idx >= 0 else text


PAIRWISE = Format(
    name="pairwise",
    labels=("A", "B", "tie"),
    instructions=(
        "First write one line starting with 'Reasoning:' that compares the two "
        "responses briefly. Then write a final line 'Verdict: [[A]]' if Response A is "
        "better, 'Verdict: [[B]]' if Response B is better, or 'Verdict: [[tie]]' if "
        "they are equally good."
    ),
    logit_instructions=(
        "Answer with the verdict only: [[A]] if Response A is better, [[B]] if "
        "Response B is better, [[tie]] if they are equally good."
    ),
    regex=rf"Reasoning: {REASONING_RE}\nVerdict: \[\[(A|B|tie)\]\]",
    parser=parse_pairwise,
    logit_prefix="Verdict: [[",
    logit_choices={"A": "A", "B": "B", "tie": "tie"},
)

# ---------------------------------------------------------------- pointwise
_SCORE = re.compile(r"score\s*[:=]\s*\**\s*(-?\d+(?:\.\d+)?)\s*(?:/\s*10)?", re.IGNORECASE)


def parse_pointwise(text: str) -> Parsed:
    """Read ``Score: N`` with N an integer from 1 to 10 (the last one counts)."""
    matches = list(_SCORE.finditer(text))
    if not matches:
        return ParseFailure(reason="no score found", raw=text)
    raw_value = matches[-1].group(1)
    if not re.fullmatch(r"\d+", raw_value):
        return ParseFailure(reason=f"score {raw_value} is not an integer", raw=text)
    value = int(raw_value)
    if not 1 <= value <= 10:
        return ParseFailure(reason=f"score {value} out of range 1-10", raw=text)
    return Verdict(label=str(value), scores=(float(value),))


POINTWISE = Format(
    name="pointwise",
    labels=tuple(str(i) for i in range(1, 11)),
    instructions=(
        "First write one line starting with 'Reasoning:' that assesses the response "
        "against the rubric. Then write a final line 'Score: N' where N is an integer "
        "from 1 (worst) to 10 (best)."
    ),
    logit_instructions="Answer with the score only, an integer from 1 (worst) to 10 (best).",
    regex=rf"Reasoning: {REASONING_RE}\nScore: (10|[1-9])",
    parser=parse_pointwise,
)

# ---------------------------------------------------------------- verification
_VERIFY_CANON = {"correct": "correct", "incorrect": "incorrect"}
_VERIFY_WORD = re.compile(r"\b(correct|incorrect)\b", re.IGNORECASE)


def parse_verify(text: str) -> Parsed:
    """Read ``Verdict: correct`` or ``Verdict: incorrect`` (the last marker's line).

    Both words on the verdict line (``correct or incorrect``) is a conflict, not a
    verdict; no ``Verdict:`` marker at all is a failure.
    """
    idx = text.lower().rfind("verdict")
    if idx < 0 or ":" not in text[idx : idx + 12]:
        return ParseFailure(reason="no correctness verdict found", raw=text)
    line = text[idx:].split(":", 1)[1].split("\n", 1)[0]
    return _single_label(_labels_in(line, _VERIFY_WORD, _VERIFY_CANON), text, "correctness verdict")


VERIFY = Format(
    name="verify",
    labels=("correct", "incorrect"),
    instructions=(
        "First write one line starting with 'Reasoning:' that checks whether the "
        "candidate's final answer matches the reference answer. Then write a final line "
        "'Verdict: correct' or 'Verdict: incorrect'."
    ),
    logit_instructions="Answer with one word: correct or incorrect.",
    regex=rf"Reasoning: {REASONING_RE}\nVerdict: (correct|incorrect)",
    parser=parse_verify,
    # "Verdict:" + " correct": the space belongs to the choice, as the tokenizer writes it
    # ("Ġcorrect" is one token); a prefix ending in a bare space would ask the model for
    # a token it never writes after "Verdict: ".
    logit_prefix="Verdict:",
    logit_choices={"correct": " correct", "incorrect": " incorrect"},
)

FORMATS: dict[str, Format] = {f.name: f for f in (PAIRWISE, POINTWISE, VERIFY)}


def swap_pairwise(label: str | None) -> str | None:
    """Map a verdict given on the swapped order back to the original order."""
    return {"A": "B", "B": "A"}.get(label or "", label)
