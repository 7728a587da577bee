"""Combine the rankings of several display orders into one, and turn ranks into rewards (pure).

Each display order of an item gives a full ranking in original response indices
(:func:`judgekit.core.ranking.to_original`). :func:`combine_rankings` averages the
positions (mean rank, 0 = best; Borda points are ``n - 1 - mean rank``), names the best
response, and says how far the orders agree:

* ``agreement``: the share of orders whose first choice is the aggregate's best;
* ``consistent``: every order put the same response first;
* ``full_agreement``: every order gave the same full ranking.

The best is ``None`` (a tie) when two responses share the lowest mean rank, or when the
orders disagree beyond the threshold: ``agreement < min_agreement`` (default 0.5, so with
two orders of two responses a disagreement is a tie, as in pairwise judging).

Rewards (:func:`rank_rewards`): ``linear`` maps mean rank r to ``1 - r / (n - 1)`` in
[0, 1]; ``centred`` to ``1 - 2 r / (n - 1)`` in [-1, 1] (mean zero over the group, the
GRPO-style default); ``best`` gives 1 to the best response, 0 to the others, and a tie
for first splits 1 evenly among the tied. Responses with equal mean ranks always get
equal rewards (ties share).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

REWARD_MAPPINGS = ("centred", "linear", "best")
DEFAULT_MIN_AGREEMENT = 0.5


@dataclass(frozen=True)
class RankResult:
    """The combined ranking of one item."""

    mean_ranks: tuple[float, ...]  # per original response, 0 = best
    ranking: tuple[int, ...]  # original indices by mean rank (ties by index; see ``tied_first``)
    best: int | None  # None: a tie (see ``tie_reason``)
    agreement: float
    consistent: bool
    full_agreement: bool
    tie_reason: str | None = None

    @property
    def borda(self) -> tuple[float, ...]:
        """Mean Borda points per response (``n - 1`` best, 0 worst)."""
        n = len(self.mean_ranks)
        return tuple(n - 1 - r for r in self.mean_ranks)


def combine_rankings(
    rankings: Sequence[Sequence[int]], n: int, min_agreement: float = DEFAULT_MIN_AGREEMENT
) -> RankResult:
    """Mean rank over the orders' rankings (each a permutation of ``range(n)``, best first)."""
    if not rankings:
        raise ValueError("no rankings to combine")
    for r in rankings:
        if sorted(r) != list(range(n)):
            raise ValueError(f"ranking {list(r)} is not a permutation of 0..{n - 1}")
    if not 0.0 <= min_agreement <= 1.0:
        raise ValueError(f"min_agreement {min_agreement} outside [0, 1]")
    mean = tuple(sum(list(r).index(i) for r in rankings) / len(rankings) for i in range(n))
    ranking = tuple(sorted(range(n), key=lambda i: (mean[i], i)))
    top = min(mean)
    leaders = [i for i in range(n) if mean[i] == top]
    firsts = [r[0] for r in rankings]
    consistent = len(set(firsts)) == 1
    full = len({tuple(r) for r in rankings}) == 1
    if len(leaders) > 1:
        share = max(firsts.count(i) for i in leaders) / len(rankings)
        reason = f"responses {', '.join(map(str, leaders))} share the best mean rank {top:g}"
        return RankResult(mean, ranking, None, share, consistent, full, reason)
    best = leaders[0]
    agreement = firsts.count(best) / len(rankings)
    if agreement < min_agreement:
        reason = (f"orders disagree: only {agreement:.2f} of {len(rankings)} orders put response {best} first "
                  f"(threshold {min_agreement:g})")
        return RankResult(mean, ranking, None, agreement, consistent, full, reason)
    return RankResult(mean, ranking, best, agreement, consistent, full)


def rank_rewards(mean_ranks: Sequence[float], mapping: str = "centred") -> tuple[float, ...]:
    """Per-response rewards from mean ranks (see the module docstring); equal ranks share."""
    n = len(mean_ranks)
    if n < 2:
        raise ValueError("rank rewards need at least 2 responses")
    if mapping == "linear":
        return tuple(1.0 - r / (n - 1) for r in mean_ranks)
    if mapping == "centred":
        return tuple(1.0 - 2.0 * r / (n - 1) for r in mean_ranks)
    if mapping == "best":
        top = min(mean_ranks)
        tied = sum(1 for r in mean_ranks if r == top)
        return tuple(1.0 / tied if r == top else 0.0 for r in mean_ranks)
    raise ValueError(f"rank reward {mapping!r}: choose {', '.join(REWARD_MAPPINGS)}")


def probs_ranking(probs: Sequence[float]) -> tuple[int, ...]:
    """Positions by descending probability (logit form); equal probabilities keep display order."""
    return tuple(sorted(range(len(probs)), key=lambda i: (-probs[i], i)))
