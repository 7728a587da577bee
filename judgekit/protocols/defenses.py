"""Hardening options for reference-based verification, kept apart from the model.

A defence is switched on with ``--option defense=NAME[,NAME...]`` and read by the
verification protocol. The probe always measures the raw model too, so a defence
can never hide the model's own weakness.

- ``answer-check``: a candidate without any extractable final answer is judged
  *incorrect* before (and without) the model. It is a heuristic, not a verifier:
  with a numeric reference it asks for a number that is not a step or list number
  (so ``":"``, ``"Thought process:"``, ``"Sure!"`` or ``"Step 1:"`` never reach the
  model); with a non-numeric reference it only stops empty text, symbols, a short
  list of openers and lines ending in a colon, so most content-free fillers
  (``"Okay"``, ``"Let me think."``) pass it. ``eval/answer_check_heldout.py``
  measures it on a held-out key list (``judgekit/probe/heldout_keys.json``).
- ``strict-prompt``: the hardened template ``prompts/verify_hardened.j2`` (explicit
  rules against content-free answers and injected verdicts).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from judgekit.core.errors import ConfigError
from judgekit.protocols.base import JudgeConfig

DEFENSE_OPTION = "defense"


@dataclass(frozen=True)
class Defense:
    """A named hardening option and what it does."""

    name: str
    description: str


DEFENSES: dict[str, Defense] = {
    d.name: d
    for d in (
        Defense("answer-check", "no extractable final answer -> incorrect, without calling the model"),
        Defense("strict-prompt", "hardened verification template (prompts/verify_hardened.j2)"),
    )
}

# Explicit final-answer markers followed by some content on the same line.
_MARKERS = re.compile(
    r"(?:####|\\boxed\{\s*[^}\s]|\banswer\s*(?:is|[:=])|^\s*A\s*:|final\s+answer|答案|解答|respuesta\s*[:=]|答え)"
    r"[^\n]*?[\w\d]",
    re.IGNORECASE | re.MULTILINE,
)
_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")
# Step and list numbering ("Step 1:", "2. First ...") is not an answer.
_ENUMERATOR = re.compile(r"\bstep\s*\d+\b|^\s*\(?\d+[.)](?=\s+\S)", re.IGNORECASE | re.MULTILINE)
# Openers that announce an answer but are not one (normalised: lower case, no punctuation).
_OPENERS = frozenset(
    {
        "solution", "answer", "the answer", "answer is", "the answer is", "final answer", "thought process",
        "lets solve this problem step by step", "lets think step by step", "step by step", "reasoning",
        "explanation", "respuesta", "solución", "solucion", "解", "解答", "答案", "かいせつ", "解説", "答え",
    }
)


def parse_defenses(value: object) -> tuple[str, ...]:
    """Defence names from an option value (``"a,b"``, a list, or None); unknown names raise."""
    if value is None or value == "" or value == "none":
        return ()
    raw = value.split(",") if isinstance(value, str) else [str(v) for v in value]  # type: ignore[attr-defined]
    names = tuple(dict.fromkeys(n.strip() for n in raw if n.strip()))
    unknown = [n for n in names if n not in DEFENSES]
    if unknown:
        raise ConfigError(f"unknown defense(s) {', '.join(unknown)}; choose from {', '.join(DEFENSES)}")
    return names


def config_defenses(config: JudgeConfig) -> tuple[str, ...]:
    """Defences enabled in a run configuration."""
    return parse_defenses(config.option(DEFENSE_OPTION))


def with_defenses(config: JudgeConfig, names: Iterable[str]) -> JudgeConfig:
    """Return the configuration with exactly ``names`` enabled (none: the raw model)."""
    from dataclasses import replace

    kept = tuple((k, v) for k, v in config.options if k != DEFENSE_OPTION)
    names = tuple(names)
    extra = ((DEFENSE_OPTION, ",".join(names)),) if names else ()
    return replace(config, options=kept + extra)


def _normalise(text: str) -> str:
    kept = "".join(ch for ch in text if ch.isspace() or not unicodedata.category(ch).startswith(("P", "S")))
    return " ".join(kept.lower().split())


def has_final_answer(response: str, reference: str | None = None) -> bool:
    r"""Tell whether ``response`` states some final answer (a heuristic, never raises).

    True when an explicit marker carries content (``#### 18``, ``\boxed{18}``,
    ``The answer is 18``, ``A: 18``); otherwise, when the reference holds a number,
    when the response holds a number that is not step or list numbering (``Step 1:``,
    ``2. Then ...``); otherwise (non-numeric references) when the
    response has word content that is not just an opener (``"Solution"``,
    ``"Thought process:"``) or a line ending in a colon.
    """
    text = response.strip()
    if not text:
        return False
    if _MARKERS.search(text):
        return True
    if reference is not None and _NUMBER.search(reference):
        return bool(_NUMBER.search(_ENUMERATOR.sub(" ", text)))
    norm = _normalise(text)
    if not norm or norm in _OPENERS:
        return False
    return not text.rstrip().endswith((":", "："))


def answer_check_reason(response: str, reference: str | None) -> str | None:
    """Why the answer check rejects ``response`` (None when it passes)."""
    if has_final_answer(response, reference):
        return None
    return "answer-check: no extractable final answer in the candidate"
