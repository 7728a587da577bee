"""Contrast instructions as a probe (arXiv 2309.16155): consistency across similar instructions.

From the user's labelled pairwise items, each item's prompt is matched with the
most lexically similar other prompt (word-set Jaccard, at least
:data:`MIN_SIMILARITY`, a different preferred answer), as the paper retrieves its
contrast instructions. For each matched pair (x, y_x) / (x', y_x') the judge sees
both instructions, each with the two preferred answers (order fixed by a seeded
coin): a consistent judge prefers y_x under x **and** y_x' under x'. Rows:

* ``own-answer``: share of judged sides where the instruction's own answer wins;
* ``consistency``: share of pairs right on both sides (the paper's consistent RM);
* ``instruction-blind``: share of pairs where the same answer text wins under both
  instructions (the judge ignored the instruction).

A parse failure is never a win; a pair with a failed side counts in neither
``consistency`` nor ``instruction-blind`` as right or blind (it is not skipped).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from judgekit.core.types import Judgment, Sample
from judgekit.probe.items import ProbeItem, Rate, _probe, _rate, swap_seeded

MIN_SIMILARITY = 0.4


class Seeded(Protocol):
    """What the builder reads from the attack settings."""

    @property
    def seed(self) -> int:
        """The seed of the order coin."""
_WORD = re.compile(r"\w+", re.UNICODE)


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the lower-cased word sets (0 when both are empty)."""
    wa, wb = set(_WORD.findall(a.lower())), set(_WORD.findall(b.lower()))
    return len(wa & wb) / len(wa | wb) if wa | wb else 0.0


def _preferred(s: Sample) -> str | None:
    return s.responses[0] if s.label == "A" else s.responses[1] if s.label == "B" else None


def contrast_pairs(samples: Sequence[Sample], min_similarity: float = MIN_SIMILARITY) -> list[tuple[int, int, float]]:
    """Unordered (i, j, similarity) pairs: each labelled item with its most similar distinct neighbour."""
    usable = [(i, s) for i, s in enumerate(samples) if len(s.responses) == 2 and _preferred(s) is not None]
    seen: set[tuple[int, int]] = set()
    out = []
    for i, s in usable:
        best: tuple[float, int] | None = None
        for j, t in usable:
            if j == i or t.prompt.strip() == s.prompt.strip() or _preferred(t) == _preferred(s):
                continue
            sim = similarity(s.prompt, t.prompt)
            if sim >= min_similarity and (best is None or sim > best[0]):
                best = (sim, j)
        if best is not None:
            key = (min(i, best[1]), max(i, best[1]))
            if key not in seen:
                seen.add(key)
                out.append((*key, best[0]))
    return out


def contrast_items(samples: Sequence[Sample], settings: Seeded) -> list[ProbeItem]:
    """Two items per matched pair: each instruction with its own and the other's preferred answer."""
    out = []
    for i, j, sim in contrast_pairs(samples):
        s, t = samples[i], samples[j]
        pair = f"{s.id}~{t.id}"
        sides = (("x", (s, _preferred(s), _preferred(t))), ("x'", (t, _preferred(t), _preferred(s))))
        for side, (q, own, other) in sides:
            assert own is not None and other is not None
            swap = swap_seeded(f"{pair}:{side}", settings.seed)
            responses = (other, own) if swap else (own, other)
            label = "B" if swap else "A"
            base = Sample(id=pair, prompt=q.prompt, responses=responses, label=label,
                          metadata={"similarity": round(sim, 3), "own": own})
            out.append(_probe(base, "contrast", side, "contrast", None, responses=responses, label=label))
    return out


def _winner_text(it: ProbeItem, j: Judgment) -> str | None:
    if j.verdict == "A":
        return it.sample.responses[0]
    if j.verdict == "B":
        return it.sample.responses[1]
    return None


def contrast_rates(pairs: Sequence[tuple[ProbeItem, Judgment]]) -> list[Rate]:
    """Own-answer win rate per side, then per pair: right on both sides, same answer on both sides."""
    rows = [_rate("own-answer", "sides", "instruction's own answer wins", pairs,
                  lambda it, j: j.verdict is not None and j.verdict == it.sample.label)]
    judged = [(it, j) for it, j in pairs if "skipped" not in j.extra]
    by: dict[str, list[tuple[ProbeItem, Judgment]]] = {}
    for it, j in judged:
        by.setdefault(it.source_id, []).append((it, j))
    full = [ps for ps in by.values() if len(ps) == 2]
    right = sum(1 for ps in full if all(j.verdict is not None and j.verdict == it.sample.label for it, j in ps))
    texts = [[_winner_text(it, j) for it, j in ps] for ps in full]
    blind = sum(1 for w in texts if w[0] is not None and w[0] == w[1])
    failures = sum(1 for ps in full if any(j.parse_failure for _, j in ps))
    rows.append(Rate("consistency", "pairs", "own answer wins under both instructions", right, len(full), failures))
    rows.append(Rate("instruction-blind", "pairs", "same answer wins under both instructions", blind, len(full),
                     failures))
    return rows
