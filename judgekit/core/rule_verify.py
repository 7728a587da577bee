r"""Rule verifiers for reference-based answer checking: math-verify and the last-number rule.

Two rules, both pure functions of (candidate text, reference answer):

* **math-verify** (Hugging Face's maintained ``math-verify`` package): extracts the
  last LaTeX / plain expression of each text and compares them symbolically
  (``$1,200.00`` = ``1200``, ``45%`` = ``45``, ``\boxed{1/2}`` = ``0.5``). It runs
  under its own signal-based timeout in the main thread; elsewhere (the reward
  server's worker threads, where signals are unavailable) without one, on the last
  :data:`MAX_RULE_CHARS` characters only.
* **last number**: the last number of the text (calculator annotations ``<<...>>``
  removed; thousands separators, currency signs, percent signs and fractions read)
  equals the reference's number.

:func:`rule_verify` combines them into a :class:`RuleVerdict` that says how sure
it is. A match by either rule is a *confident* ``correct``. A mismatch is a
*confident* ``incorrect`` only when the candidate states a numeric final answer
explicitly (``#### 26``, ``A: 26``, ``The answer is 26``, ``\boxed{26}``, or a
bare number) or states no answer at all (``":"``, ``"Thought process:"``: no digit,
no number word, no answer marker). Everything else (``"three hundred twenty"``,
a worked solution whose last line is not the answer) is *unsure*: the rule's
verdict is its guess, and the hybrid verifier asks the model instead.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Literal

RuleLabel = Literal["correct", "incorrect"]
MAX_RULE_CHARS = 2000
RULE_TIMEOUT_S = 5

_CALC = re.compile(r"<<[^<>]*>>")
_NUM = re.compile(
    r"(?<![\w.])[-\u2212]?\$?\s?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s?/\s?\d+(?:\.\d+)?)?\s?%?"
)
_BOXED = re.compile(r"\\boxed\s*\{((?:[^{}]|\{[^{}]*\})*)\}")
_MARKED = re.compile(
    r"(?:^\s*####\s*|^\s*A\s*:\s*|final\s+answer\s*(?:is|:|=)?\s*|\banswer\s*(?:is|:|=)\s*)(?P<content>[^\n]*)",
    re.IGNORECASE | re.MULTILINE,
)
_BARE = re.compile(r"\s*(?:\$\s*)?[-\u2212]?[\d.,/\s]+%?\s*(?:dollars?)?\s*[.!]?\s*", re.IGNORECASE)
_NUMBER_WORDS = frozenset({
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty", "forty",
    "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "million", "billion", "half", "halves",
    "third", "thirds", "quarter", "quarters", "dozen", "none",
})


@dataclass(frozen=True)
class RuleVerdict:
    """What the rules say about one candidate, and how sure they are.

    ``label`` is the rules' verdict (a mismatch or an unreadable answer is
    ``incorrect``); ``confident`` tells the hybrid verifier whether it stands;
    ``rule`` names what decided (``math-verify``, ``last-number``,
    ``explicit-answer``, ``no-answer``, ``unsure``); ``extracted`` is the candidate's
    answer as the rules read it (None when they read nothing).
    """

    label: RuleLabel
    confident: bool
    rule: str
    extracted: str | None
    reason: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready view (recorded in a judgment's ``extra``)."""
        return {"label": self.label, "confident": self.confident, "rule": self.rule,
                "extracted": self.extracted, "reason": self.reason}


def to_number(text: str) -> Fraction | None:
    """A number from one numeric token (``$1,200.00``, ``45%``, ``3/4``, ``-7``); None if it is not one."""
    t = text.strip().replace("\u2212", "-").replace("$", "").replace(" ", "").rstrip(".")
    t = t.removesuffix("%")
    if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?", t):
        t = t.replace(",", "")
    try:
        if "/" in t:
            num, _, den = t.partition("/")
            value = Fraction(num) / Fraction(den)
        else:
            value = Fraction(t)
    except (ValueError, ZeroDivisionError):
        return None
    return value


def numbers(text: str) -> list[str]:
    """The numeric tokens of ``text`` in order (calculator annotations ``<<...>>`` removed)."""
    return [m.group(0).strip() for m in _NUM.finditer(_CALC.sub(" ", text))]


def last_number(text: str) -> Fraction | None:
    """The value of the last number in ``text`` (None when there is none)."""
    for token in reversed(numbers(text)):
        value = to_number(token)
        if value is not None:
            return value
    return None


def last_number_rule(response: str, reference: str) -> bool:
    """The five-line rule: the last number of the response equals the reference's number."""
    ref = last_number(reference)
    got = last_number(response)
    return ref is not None and got is not None and got == ref


def explicit_answer(response: str) -> str | None:
    r"""The final answer the response states explicitly (last ``\boxed{}``, ``####``, ``A:``, ``answer is``).

    A response that is nothing but a number (``"$1,200."``) is its own explicit answer.
    """
    text = _CALC.sub(" ", response)
    boxed = _BOXED.findall(text)
    if boxed:
        return str(boxed[-1]).strip()
    marked = [m.group("content").strip() for m in _MARKED.finditer(text) if m.group("content").strip()]
    if marked:
        return marked[-1]
    if text.strip() and _BARE.fullmatch(text) and numbers(text):
        return text.strip()
    return None


_UNIT_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
)
_UNITS = {w: i for i, w in enumerate(_UNIT_WORDS.split())}
_TENS_WORDS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
               "ninety": 90}
_SCALE_WORDS = {"thousand": 1000, "million": 10**6, "billion": 10**9}
_FILLER = frozenset({"and", "a", "dollars", "dollar", "only", "exactly"})


def words_to_number(text: str) -> Fraction | None:
    """The value of an answer written in English number words (``three hundred twenty``, ``two point five``).

    None unless every word is a number word (or ``and``, ``a``, ``dollars``...): a sentence
    that merely contains ``one`` is not a number.
    """
    words = [w for w in re.split(r"[\s\-]+", text.lower().strip().rstrip(".!").replace(",", " ")) if w]
    sign = 1
    if words and words[0] in ("minus", "negative"):
        sign, words = -1, words[1:]
    decimals: list[int] = []
    if "point" in words:
        i = words.index("point")
        tail = words[i + 1:]
        if not tail or any(w not in _UNITS or _UNITS[w] > 9 for w in tail):
            return None
        decimals, words = [_UNITS[w] for w in tail], words[:i]
    words = [w for w in words if w not in _FILLER]
    if not words:
        return None
    total, current = 0, 0
    for w in words:
        if w in _UNITS:
            current += _UNITS[w]
        elif w in _TENS_WORDS:
            current += _TENS_WORDS[w]
        elif w == "hundred":
            current = (current or 1) * 100
        elif w in _SCALE_WORDS:
            total += (current or 1) * _SCALE_WORDS[w]
            current = 0
        else:
            return None
    value = Fraction(total + current)
    for k, d in enumerate(decimals, start=1):
        value += Fraction(d, 10**k)
    return sign * value


def stated_in_words(response: str) -> Fraction | None:
    """The value of a final answer given in number words: the explicit answer, or the whole (short) response."""
    explicit = explicit_answer(response)
    for candidate in (explicit, response if len(response) <= 120 else None):
        if candidate:
            value = words_to_number(candidate)
            if value is not None:
                return value
    return None


def has_answer_content(response: str) -> bool:
    """Whether the response holds anything that could be an answer: a digit, a number word or a marked answer."""
    if any(ch.isdigit() for ch in response):
        return True
    words = re.findall(r"[a-z]+", response.lower())
    return any(w in _NUMBER_WORDS for w in words) or explicit_answer(response) is not None


def math_verify_version() -> str:
    """The installed math-verify version (recorded with rule verdicts)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("math-verify")
    except PackageNotFoundError:
        return "absent"


@cache
def _gold(reference: str) -> tuple[object, ...]:
    return tuple(_parse(reference))


def _parse(text: str) -> list[object]:
    from math_verify import parse

    in_main = threading.current_thread() is threading.main_thread()
    found: list[object] = parse(text[-MAX_RULE_CHARS:], parsing_timeout=RULE_TIMEOUT_S if in_main else None)
    return found


def math_verify_rule(response: str, reference: str) -> tuple[bool, bool]:
    """(match, parsed): math-verify's comparison, and whether it extracted anything from the response.

    Errors and timeouts inside math-verify count as "nothing extracted" (never raised).
    """
    from math_verify import verify

    gold = list(_gold(reference))
    pred = _parse(_CALC.sub(" ", response))
    if not gold or not pred:
        return False, bool(pred)
    in_main = threading.current_thread() is threading.main_thread()
    return bool(verify(gold, pred, timeout_seconds=RULE_TIMEOUT_S if in_main else None)), True


def _show(value: Fraction | None) -> str | None:
    """A number for the record, kept short (a runaway ``0.333...`` has thousands of digits)."""
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= 40 else f"{float(value):.6g}"


def rule_verify(response: str, reference: str) -> RuleVerdict:
    """Both rules, and whether their verdict is confident (see the module docstring)."""
    mv_match, mv_parsed = math_verify_rule(response, reference)
    explicit = explicit_answer(response)
    if mv_match:
        return RuleVerdict("correct", True, "math-verify", explicit, "math-verify: the answer equals the reference")
    if last_number_rule(response, reference):
        return RuleVerdict("correct", True, "last-number", _show(last_number(response)),
                           "last number equals the reference")
    ref_value = last_number(reference)
    in_words = stated_in_words(response)
    if in_words is not None and ref_value is not None:
        same = in_words == ref_value
        return RuleVerdict("correct" if same else "incorrect", True, "number-words", _show(in_words),
                           f"the final answer in words is {_show(in_words)}, "
                           f"{'equal to' if same else 'not'} the reference")
    if not has_answer_content(response):
        return RuleVerdict("incorrect", True, "no-answer", None,
                           "no answer: no digit, number word or answer marker in the candidate")
    if explicit is not None and ref_value is not None:
        stated = numbers(explicit)
        value = to_number(stated[-1]) if stated else None
        if value is not None and value != ref_value:
            return RuleVerdict("incorrect", True, "explicit-answer", explicit[:200],
                               f"explicit final answer {explicit!r} differs from the reference")
    got = last_number(response)
    why = "the rules read no number" if got is None and not mv_parsed else "no explicit numeric final answer"
    return RuleVerdict("incorrect", False, "unsure", _show(got),
                       f"unsure: {why}; the rules' guess is incorrect")
