"""Order combination, sample voting and rewards: pure-function tables."""

from __future__ import annotations

import pytest

from judgekit.core.aggregate import combine_orders, majority_vote, pairwise_reward, unswap
from judgekit.core.types import ParseFailure, Verdict

A, B, T = Verdict("A"), Verdict("B"), Verdict("tie")
F = ParseFailure("no pairwise verdict found", "blah")

COMBINE = [
    # first, second (already unswapped), policy -> label, consistent, failed
    (A, A, "tie", "A", True, False),
    (B, B, "tie", "B", True, False),
    (A, B, "tie", "tie", False, False),
    (A, B, "first", "A", False, False),
    (B, A, "first", "B", False, False),
    (A, B, "average", "tie", False, False),  # no probabilities: tie
    (T, T, "tie", "tie", True, False),
    (A, F, "tie", None, None, True),
    (F, F, "tie", None, None, True),
    (A, None, "tie", "A", None, False),
]


@pytest.mark.parametrize(("first", "second", "policy", "label", "consistent", "failed"), COMBINE)
def test_combine_orders(first, second, policy, label, consistent, failed) -> None:  # type: ignore[no-untyped-def]
    got_label, _, got_consistent, failure = combine_orders(first, second, policy)
    assert (got_label, got_consistent, failure is not None) == (label, consistent, failed)


def test_average_policy_uses_probabilities() -> None:
    first = Verdict("A", probs={"A": 0.55, "B": 0.45})
    second = Verdict("B", probs={"A": 0.35, "B": 0.65})
    label, probs, consistent, _ = combine_orders(first, second, "average")
    assert label == "B" and consistent is False and probs == pytest.approx({"A": 0.45, "B": 0.55})


def test_unswap_maps_labels_probs_and_scores() -> None:
    v = unswap(Verdict("A", scores=(7.0, 3.0), probs={"A": 0.7, "B": 0.2, "tie": 0.1}))
    assert isinstance(v, Verdict)
    assert v.label == "B" and v.scores == (3.0, 7.0) and v.probs == {"B": 0.7, "A": 0.2, "tie": 0.1}
    assert unswap(F) is F and unswap(T).label == "tie"  # type: ignore[union-attr]


VOTES = [
    ([A, A, B], "A"),
    ([A, B], "tie"),
    ([A, B, F, F], "tie"),
    ([F, F, B], "B"),  # failures abstain
    ([T, T, A], "tie"),
    ([A], "A"),
]


@pytest.mark.parametrize(("samples", "label"), VOTES)
def test_majority_vote(samples, label) -> None:  # type: ignore[no-untyped-def]
    v = majority_vote(samples)
    assert isinstance(v, Verdict) and v.label == label


def test_all_failed_vote_is_a_failure() -> None:
    v = majority_vote([F, F])
    assert isinstance(v, ParseFailure) and "all 2 samples failed" in v.reason


@pytest.mark.parametrize(
    ("label", "probs", "reward"),
    [("A", None, 1.0), ("B", None, 0.0), ("tie", None, 0.5), (None, None, None),
     ("A", {"A": 0.6, "B": 0.2, "tie": 0.2}, 0.7)],
)
def test_pairwise_reward(label, probs, reward) -> None:  # type: ignore[no-untyped-def]
    assert pairwise_reward(label, probs) == (pytest.approx(reward) if reward is not None else None)
