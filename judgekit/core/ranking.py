"""Listwise rankings: position labels, the permutation constraint, the strict parser, display orders.

A listwise judge sees N responses labelled ``A``, ``B``, ... in one prompt and writes
``Ranking: [[C > A > B]]``: every label exactly once, best first. The constraint admits
only permutations: for N up to :data:`EXACT_REGEX_MAX` the regex is a trie of all N!
orders (``(A > (B > C|C > B)|B > ...)``), small enough for outlines and for llama.cpp's
GBNF; above it the regex admits any N labels and the parser rejects repeats. Either way
the parser is strict: a repeated, missing or unknown label is a :class:`ParseFailure`
naming what is wrong, never a partial ranking.

Logit form: after the prefix ``Best: [[`` the backend scores the first token of each
position label; the probabilities say which response is best (best-of-N).

Position bias is handled like pairwise handles orders: each item is shown in several
display orders (:func:`display_orders`) and the per-order rankings are combined by
:mod:`judgekit.core.rank_aggregate`.
"""

from __future__ import annotations

import itertools
import random
import re
from functools import lru_cache

from judgekit.core.formats import REASONING_RE, Format, ParseError
from judgekit.core.types import Parsed, Verdict

MAX_RESPONSES = 26
EXACT_REGEX_MAX = 6  # 6! = 720 orders -> ~2k trie nodes; 7! would be ~14k
SCHEMES = ("auto", "all", "latin", "random", "identity")
_RANKING = re.compile(r"\[\[([^\[\]]*)\]\]")


def position_labels(n: int) -> tuple[str, ...]:
    """Labels of the N displayed positions: ``A``, ``B``, ..."""
    if not 2 <= n <= MAX_RESPONSES:
        raise ValueError(f"listwise judging needs 2 to {MAX_RESPONSES} responses, got {n}")
    return tuple(chr(ord("A") + i) for i in range(n))


def permutation_regex(labels: tuple[str, ...]) -> str:
    """A regex matching exactly the orders of ``labels`` joined by ``" > "`` (a trie, no repeats)."""
    if len(labels) == 1:
        return labels[0]
    options = [f"{lab} > {permutation_regex(tuple(x for x in labels if x != lab))}" for lab in labels]
    return "(" + "|".join(options) + ")"


def ranking_regex(n: int) -> str:
    """The ranking part of the constraint: exact permutations for small N, N labels otherwise."""
    labels = position_labels(n)
    if n <= EXACT_REGEX_MAX:
        return permutation_regex(labels)
    one = f"[A-{labels[-1]}]"
    return f"{one}( > {one}){{{n - 1}}}"


def parse_ranking(text: str, n: int) -> Parsed:
    """Read ``Ranking: [[X > Y > ...]]`` (after the last ``Ranking:`` marker) as a permutation.

    The verdict's ``label`` is the ranking written without spaces (``"C>A>B"``, display
    labels, best first) and ``scores`` the Borda points of each displayed position
    (``n - 1`` for the best, 0 for the worst). Anything but a permutation of the N
    labels raises :class:`ParseError` with the reason.
    """
    labels = position_labels(n)
    idx = text.lower().rfind("ranking:")
    if idx < 0:
        raise ParseError("no 'Ranking:' line found")
    found = _RANKING.findall(text[idx:])
    if len(found) != 1:
        raise ParseError("no [[...]] ranking after 'Ranking:'" if not found else "more than one [[...]] ranking")
    items = [p.strip().upper() for p in found[0].split(">")]
    unknown = [p for p in items if p not in labels]
    if unknown:
        raise ParseError(f"unknown label(s) {', '.join(repr(u) for u in unknown)}; expected {', '.join(labels)}")
    repeated = sorted({p for p in items if items.count(p) > 1})
    if repeated:
        raise ParseError(f"label(s) {', '.join(repeated)} ranked more than once: not a permutation")
    missing = [lab for lab in labels if lab not in items]
    if missing:
        raise ParseError(f"label(s) {', '.join(missing)} missing from the ranking: not a permutation")
    points = tuple(float(n - 1 - items.index(lab)) for lab in labels)
    return Verdict(label=">".join(items), scores=points)


@lru_cache(maxsize=64)
def listwise_format(n: int) -> Format:
    """The verdict format for N responses (cached per N)."""
    labels = position_labels(n)
    listed = ", ".join(labels)
    example = " > ".join(labels)
    return Format(
        name=f"listwise-{n}",
        labels=labels,
        instructions=(
            "First write one line starting with 'Reasoning:' that compares the responses briefly. "
            f"Then write a final line 'Ranking: [[{example}]]' that ranks all {n} responses from best to "
            f"worst: every label ({listed}) exactly once, separated by ' > ', best first."
        ),
        logit_instructions=f"Answer with the label of the best response only: one of {listed}.",
        regex=rf"Reasoning: {REASONING_RE}\nRanking: \[\[{ranking_regex(n)}\]\]",
        parser=lambda text: parse_ranking(text, n),
        logit_prefix="Best: [[",
        logit_choices={lab: lab for lab in labels},
    )


def display_orders(n: int, scheme: str = "auto", k: int | None = None, seed: int = 0,
                   key: str = "") -> list[tuple[int, ...]]:
    """The display orders of one item: ``order[pos]`` is the response shown at position ``pos``.

    * ``all``: every one of the N! orders (``auto`` for N <= 3);
    * ``latin``: the N cyclic shifts of the input order, a Latin square: every response is
      shown once at every position (``auto`` for N > 3); ``k`` keeps the first k shifts;
    * ``random``: the input order plus ``k - 1`` distinct orders drawn from ``seed`` and ``key``;
    * ``identity``: the input order only (no position-bias control).

    The input order always comes first.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"permutations {scheme!r}: choose {', '.join(SCHEMES)}")
    if k is not None and k < 1:
        raise ValueError(f"permutations k={k}: must be at least 1")
    base = tuple(range(n))
    if scheme == "auto":
        scheme = "all" if n <= 3 else "latin"
    if scheme == "identity":
        return [base]
    if scheme == "all":
        orders = list(itertools.permutations(base))
        return orders[:k] if k else orders
    if scheme == "latin":
        orders = [base[s:] + base[:s] for s in range(n)]
        return orders[:k] if k else orders
    want = min(k or n, _factorial(n))
    rng = random.Random(f"{seed}|{key}")
    chosen = [base]
    while len(chosen) < want:
        order = tuple(rng.sample(base, n))
        if order not in chosen:
            chosen.append(order)
    return chosen


def _factorial(n: int) -> int:
    out = 1
    for i in range(2, n + 1):
        out *= i
    return out


def to_original(ranking_label: str, order: tuple[int, ...]) -> tuple[int, ...]:
    """A parsed ranking (``"C>A>B"`` in display labels) as original response indices, best first."""
    return tuple(order[ord(lab) - ord("A")] for lab in ranking_label.split(">"))
