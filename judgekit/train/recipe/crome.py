"""Crome-style causal and neutral augmentations, written by rules (no oracle LLM).

Crome (*Robust Reward Modeling via Causal Rubrics*) trains a reward model on two
kinds of counterfactual pairs: **causal** ones, where a response is degraded along
an attribute that decides quality and must lose, and **neutral** ones, where a
response changes only in a spurious attribute and the verdict must not move. The
paper writes them with an oracle LLM; here each intervention is a rule, so every
row is reproducible and its kind is recorded in ``augment``:

verification
  causal ``wrong-number``: a correct solution whose stated final answer is changed
  to a different number → *incorrect*;
  neutral ``polite`` / ``padding`` / ``lines``: a greeting prepended, a closing
  sentence appended, or sentences put one per line → label unchanged.
pairwise
  causal ``truncated``: the better response against its own first half → the full
  one wins;
  neutral ``polite`` / ``padding`` / ``lines``: a response against its spurious
  variant → *tie*.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import replace

from judgekit.core.types import Sample
from judgekit.train.recipe.traces import final_answer

NEUTRAL_KINDS = ("polite", "padding", "lines")
_POLITE = ("Sure! Here is my answer.", "Happy to help with this.", "Great question!")
_PADDING = ("I hope this helps.", "Let me know if you have any other questions.", "Thanks for asking.")
_SENTENCES = re.compile(r"(?<=[.!?])\s+")


def neutral_variant(text: str, kind: str, rng: random.Random) -> str:
    """``text`` changed only in a spurious attribute (greeting, closing filler, line breaks)."""
    if kind == "polite":
        return f"{rng.choice(_POLITE)}\n{text}"
    if kind == "padding":
        return f"{text.rstrip()}\n{rng.choice(_PADDING)}"
    if kind == "lines":
        return "\n".join(s for s in _SENTENCES.split(text.strip()) if s)
    raise ValueError(f"unknown neutral kind {kind!r}; expected one of {', '.join(NEUTRAL_KINDS)}")


def wrong_number(text: str, answer: str, rng: random.Random) -> str | None:
    """``text`` with every standalone occurrence of ``answer`` replaced by another number; None if absent."""
    pattern = re.compile(rf"(?<![\d.]){re.escape(answer)}(?![\d]|\.\d)")
    if not pattern.search(text):
        return None
    try:
        value = float(answer)
    except ValueError:
        return None
    shift = rng.choice((1, 2, 10, -1))
    wrong = value * 2 if value and rng.random() < 0.3 else value + shift
    new = str(int(wrong)) if wrong == int(wrong) else f"{wrong:g}"
    return pattern.sub(new, text) if new != answer else None


def truncated(text: str) -> str | None:
    """The first half of ``text``'s sentences (None when it has fewer than two)."""
    parts = [p for p in _SENTENCES.split(text.strip()) if p]
    if len(parts) < 2:
        return None
    return " ".join(parts[: len(parts) // 2])


def _tag(
    sample: Sample, suffix: str, kind: str, responses: tuple[str, ...], label: str | None = None,
    **meta_changes: object,
) -> Sample:
    meta = {**sample.metadata, **meta_changes, "augment": {"kind": kind, "source_id": sample.id}}
    return replace(sample, id=f"{sample.id}::{suffix}", responses=responses, metadata=meta,
                   label=sample.label if label is None else label)


def crome_verify(samples: Sequence[Sample], seed: int = 0, per_item: int = 1) -> list[Sample]:
    """Causal and neutral counterfactuals of verification samples (``per_item`` neutral each)."""
    rng = random.Random(seed)
    out: list[Sample] = []
    for s in samples:
        response = s.responses[0]
        if s.label == "correct":
            answer = final_answer(response)
            changed = wrong_number(response, answer, rng) if answer else None
            if changed is not None:
                out.append(_tag(s, "crome-wrong-number", "crome-causal:wrong-number",
                                responses=(changed,), label="incorrect", candidate_answer=final_answer(changed)))
        for kind in rng.sample(NEUTRAL_KINDS, k=min(per_item, len(NEUTRAL_KINDS))):
            out.append(_tag(s, f"crome-{kind}", f"crome-neutral:{kind}",
                            responses=(neutral_variant(response, kind, rng),)))
    return out


def crome_pairwise(samples: Sequence[Sample], seed: int = 0) -> list[Sample]:
    """Per labelled pair: the winner against its truncation (winner wins) and against a neutral variant (tie)."""
    rng = random.Random(seed)
    out: list[Sample] = []
    for s in samples:
        if s.label not in ("A", "B") or len(s.responses) != 2:
            continue
        winner = s.responses[0] if s.label == "A" else s.responses[1]
        cut = truncated(winner)
        if cut is not None:
            first = rng.random() < 0.5
            pair = (winner, cut) if first else (cut, winner)
            out.append(_tag(s, "crome-truncated", "crome-causal:truncated", responses=pair,
                            label="A" if first else "B"))
        kind = rng.choice(NEUTRAL_KINDS)
        variant = neutral_variant(winner, kind, rng)
        if variant.strip() != winner.strip():
            out.append(_tag(s, f"crome-{kind}", f"crome-neutral:{kind}", responses=(winner, variant), label="tie"))
    return out
