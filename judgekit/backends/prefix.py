"""Group prompts that share a token prefix, so the prefix is prefilled once.

The two orders of a pairwise item render the same system prompt and question and
differ only from the first response on; the ``k`` samples of an item are identical.
:func:`prefix_groups` finds such groups in a batch of token lists; the transformers
backend prefills each group's shared prefix once, copies its KV cache to the
group's rows and runs only the rest of each prompt.

Pure and torch-free (unit-tested on token lists).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PrefixGroup:
    """Prompt indices whose first ``shared`` tokens are identical.

    ``shared`` is at most each member's length minus one, so every row keeps at
    least one token of its own to run (its last position gives the logits).
    """

    members: tuple[int, ...]
    shared: int


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two token lists."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def prefix_groups(encoded: Sequence[Sequence[int]], min_shared: int = 16) -> list[PrefixGroup]:
    """Partition prompts into groups sharing their longest common prefix.

    Prompts are sorted by their tokens, so prompts with long common prefixes are
    neighbours. A group starts with a prompt and its neighbour (if they share at
    least ``min_shared`` tokens) and takes further neighbours only while they share
    the *same* prefix length: a prefix common to the whole batch (the system
    prompt alone) does not swallow the longer one each item's orders share.
    Ungrouped prompts form singleton groups with ``shared = len - 1``.
    """
    order = sorted(range(len(encoded)), key=lambda i: list(encoded[i]))
    groups: list[PrefixGroup] = []
    k = 0
    while k < len(order):
        first = order[k]
        members = [first]
        shared = len(encoded[first]) - 1
        if k + 1 < len(order):
            nxt = order[k + 1]
            pair = min(common_prefix(encoded[first], encoded[nxt]), shared, len(encoded[nxt]) - 1)
            if pair >= min_shared:
                members.append(nxt)
                shared = pair
                while k + len(members) < len(order):
                    cand = order[k + len(members)]
                    if min(common_prefix(encoded[first], encoded[cand]), len(encoded[cand]) - 1) < shared:
                        break
                    members.append(cand)
        groups.append(PrefixGroup(tuple(members), max(shared, 0)))
        k += len(members)
    return groups


def prefill_savings(encoded: Sequence[Sequence[int]], groups: Sequence[PrefixGroup]) -> tuple[int, int]:
    """``(tokens without sharing, tokens with sharing)`` run through the model for ``groups``."""
    total = sum(len(e) for e in encoded)
    shared = sum(g.shared * (len(g.members) - 1) for g in groups)
    return total, total - shared


def prompt_chains(texts: Sequence[str], min_shared: int = 64) -> list[list[int]]:
    """Indices of ``texts`` in chains that share a prefix, for servers with a prompt cache.

    An HTTP backend sends each chain's prompts one after the other from one worker (the
    two orders of an item, the repeats of a prompt), so a llama.cpp server finds the
    chain's common prefix in the slot that just served it instead of prefilling it
    again in another slot. Characters stand in for tokens (:func:`prefix_groups` with
    ``min_shared`` characters); chains are in order of their first prompt, members in
    input order.
    """
    groups = prefix_groups([[ord(c) for c in t] for t in texts], min_shared=min_shared)
    return sorted((sorted(g.members) for g in groups), key=lambda members: members[0])
