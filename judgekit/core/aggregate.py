"""Pure functions that combine parsed answers: samples within an order, then orders.

No I/O and no model: every rule here is table-tested.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace

from judgekit.core.formats import swap_pairwise
from judgekit.core.types import Judgment, Parsed, ParseFailure, Sample, Verdict


def majority_vote(parsed: Sequence[Parsed]) -> Parsed:
    """Majority over sampled verdicts; failures abstain; a tie for first is ``"tie"``.

    Returns a ParseFailure only when every sample failed. Probabilities are the vote
    shares among valid samples.
    """
    valid = [p for p in parsed if isinstance(p, Verdict) and p.label is not None]
    if not valid:
        return all_failed(parsed)
    if len(valid) == 1:
        return valid[0]
    counts = Counter(str(v.label) for v in valid)
    ranked = counts.most_common()
    top = ranked[0][1]
    leaders = [lab for lab, c in ranked if c == top]
    shares = {lab: c / len(valid) for lab, c in counts.items()}
    label = leaders[0] if len(leaders) == 1 else "tie"
    scores = mean_scores(valid)
    return Verdict(label=label, scores=scores, probs=shares)


def all_failed(parsed: Sequence[Parsed]) -> ParseFailure:
    """The failure recorded when none of the samples gave a verdict: every distinct reason, the first raw text."""
    reasons = "; ".join(sorted({p.reason for p in parsed if isinstance(p, ParseFailure)})) or "no samples"
    raw = next((p.raw for p in parsed if isinstance(p, ParseFailure)), "")
    return ParseFailure(reason=f"all {len(parsed)} samples failed: {reasons}", raw=raw)


def mean_scores(valid: Sequence[Verdict]) -> tuple[float, ...] | None:
    """Per-response mean of the samples' scores; None when none has scores or their lengths differ."""
    with_scores = [v.scores for v in valid if v.scores is not None]
    if not with_scores or len({len(s) for s in with_scores}) != 1:
        return None
    n = len(with_scores)
    return tuple(sum(col) / n for col in zip(*with_scores, strict=True))


def unswap(parsed: Parsed) -> Parsed:
    """Express a verdict from the swapped order (B shown first) in original terms."""
    if not isinstance(parsed, Verdict):
        return parsed
    probs = None
    if parsed.probs is not None:
        probs = {swap_pairwise(k) or k: v for k, v in parsed.probs.items()}
    scores = tuple(reversed(parsed.scores)) if parsed.scores is not None else None
    return Verdict(label=swap_pairwise(parsed.label), scores=scores, probs=probs)


def average_probs(probs: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Element-wise mean of probability dicts (missing keys count as 0)."""
    keys = sorted({k for p in probs for k in p})
    return {k: sum(p.get(k, 0.0) for p in probs) / len(probs) for k in keys}


def combine_orders(
    first: Parsed, second: Parsed | None, policy: str = "tie"
) -> tuple[str | None, dict[str, float] | None, bool | None, str | None]:
    """Combine the original-order and (already unswapped) swapped-order verdicts.

    Returns ``(label, probs, consistent, failure_reason)``. A failure in either order
    makes the item a recorded parse failure (label ``None``): a one-sided verdict is
    never passed off as a position-debiased one. Inconsistent verdicts follow
    ``policy``: ``tie``, ``first`` (keep the original order's), or ``average``
    (argmax of the mean probabilities; a tie when none are available).
    """
    failures = [p for p in (first, second) if isinstance(p, ParseFailure)]
    if failures:
        return None, None, None, "; ".join(f.reason for f in failures)
    assert isinstance(first, Verdict)
    if second is None:
        return first.label, dict(first.probs) if first.probs else None, None, None
    assert isinstance(second, Verdict)
    probs = None
    if first.probs is not None and second.probs is not None:
        probs = average_probs([first.probs, second.probs])
    consistent = first.label == second.label
    if consistent:
        return first.label, probs, True, None
    if policy == "first":
        return first.label, probs, False, None
    if policy == "average" and probs:
        top = max(probs.values())
        leaders = [k for k, v in probs.items() if v == top]
        return (leaders[0] if len(leaders) == 1 else "tie"), probs, False, None
    return "tie", probs, False, None


#: Recorded (``extra["reward_rule"]``) when the two orders disagree and the verdict is a tie.
ORDER_TIE_RULE = "orders disagree: verdict tie, reward 0.5 (the mean of both orders' probabilities stays in probs)"


def pairwise_reward(
    label: str | None, probs: Mapping[str, float] | None, consistent: bool | None = None
) -> float | None:
    """Reward of response A in [0, 1]: P(A) + P(tie)/2 when probabilities exist.

    When the two orders disagree (``consistent is False``) and the verdict is a tie,
    the reward is the tie's 0.5, not the averaged probabilities (see :data:`ORDER_TIE_RULE`).
    """
    if label == "tie" and consistent is False:
        return 0.5
    if probs:
        return probs.get("A", 0.0) + 0.5 * probs.get("tie", 0.0)
    return {"A": 1.0, "B": 0.0, "tie": 0.5}.get(label or "")


def sample_counts(judgment: Judgment) -> tuple[int, int]:
    """``(parsed, total)`` samples over the judgment's sampled turns (``(0, 0)`` without k > 1)."""
    parsed = total = 0
    for turn in judgment.trace:
        info = turn.parsed or {}
        if "samples_total" in info:
            parsed += int(info["samples_parsed"])
            total += int(info["samples_total"])
    return parsed, total


def annotate(judgment: Judgment, sample: Sample | None = None) -> Judgment:
    """Make implicit rules explicit in ``extra``: sample counts, the order-tie reward rule.

    With k samples per turn, ``samples_parsed`` / ``samples_total`` are recorded and
    ``sample_failures`` counts the unreadable ones (the verdict came from the rest).
    A ``chosen``/``rejected`` item records where the chosen response was shown
    (``chosen_position``, ``order_seed``; see :func:`judgekit.core.data.load_samples`).
    """
    extra = dict(judgment.extra)
    if sample is not None and "chosen_position" in sample.metadata:
        extra.update(chosen_position=sample.metadata["chosen_position"], order_seed=sample.metadata.get("order_seed"))
    parsed, total = sample_counts(judgment)
    if total:
        extra.update(samples_parsed=parsed, samples_total=total)
        if parsed < total:
            extra["sample_failures"] = total - parsed
    if judgment.verdict == "tie" and judgment.consistent is False and judgment.reward == 0.5:
        extra["reward_rule"] = ORDER_TIE_RULE
    return replace(judgment, extra=extra) if extra != dict(judgment.extra) else judgment
