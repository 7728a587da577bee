"""Pure scoring rules of the likelihood judges: normalisation, PMI, FLIP's F1, the endogenous reward.

Every function takes raw :class:`~judgekit.core.types.ContinuationScore` values (what the
backend returned and the call cache stores) and returns a score, or ``None`` with a reason
when a log-prob is missing: a missing log-prob is never replaced by a guess.

Normalisation (``norm``) of a summed log-probability ``S`` of a response of ``T`` tokens
and ``C`` characters:

* ``token`` -- ``S / T``, the mean log-prob per token (the default; what the PMI probe of
  issue #27 used). Comparable across responses of one tokenizer.
* ``char`` -- ``S / C``: per character, comparable across tokenizers.
* ``none`` -- ``S``: the sequence log-probability; favours short responses for forward
  likelihood (every token costs probability).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from judgekit.core.types import ContinuationScore

NORMS = ("token", "char", "none")
TERMINALS = ("logits", "zero")

Scored = tuple[float | None, str | None]  # (score, why it is missing)


def total_logprob(score: ContinuationScore) -> Scored:
    """Sum of the token log-probs; ``(None, reason)`` when one is missing or there are no tokens."""
    if not score.logprobs:
        return None, "empty continuation: no tokens to score"
    missing = [t for t, lp in enumerate(score.logprobs) if lp is None or not math.isfinite(lp)]
    if missing:
        return None, f"missing log-prob for token {missing[0]} of {len(score.logprobs)}"
    return float(sum(lp for lp in score.logprobs if lp is not None)), None


def normalise(total: float, score: ContinuationScore, norm: str) -> float:
    """``total`` divided by the response's tokens, characters, or nothing (see the module docstring)."""
    if norm == "token":
        return total / max(len(score.logprobs), 1)
    if norm == "char":
        return total / max(score.n_chars, 1)
    if norm == "none":
        return total
    raise ValueError(f"norm {norm!r}: choose {', '.join(NORMS)}")


def forward_score(cond: ContinuationScore, norm: str) -> Scored:
    """Forward likelihood: log P(response | instruction), normalised."""
    total, why = total_logprob(cond)
    return (None, why) if total is None else (normalise(total, cond, norm), None)


def pmi_score(cond: ContinuationScore, uncond: ContinuationScore, norm: str) -> Scored:
    """PMI: log P(response | instruction) - log P(response), normalised by the response's length.

    Both terms score the same response tokens (the continuation is tokenised on its
    own), so per-token normalisation divides by one count.
    """
    a, why_a = total_logprob(cond)
    b, why_b = total_logprob(uncond)
    if a is None or b is None:
        return None, why_a or f"unconditional: {why_b}"
    return normalise(a - b, cond, norm), None


def endogenous_score(cond: ContinuationScore, norm: str, terminal: str = "logits") -> Scored:
    """The endogenous reward of arXiv 2506.23235, summed over the response's tokens.

    The paper reads the logits ``f`` as a soft Q-function (alpha = 1: the model's own
    softmax) and recovers the reward with the inverse soft Bellman operator (Sec. 3,
    "eliciting the endogenous reward"): ``r(s_h, a_h) = Q(s_h, a_h) - V(s_{h+1})`` with
    ``V(s) = log sum_a exp(Q(s, a))``, equivalently ``log pi(a_h | s_h) + V(s_h) - V(s_{h+1})``.
    Summed over the response it telescopes to ``log pi(y | x) + V(s_1) - V(s_{H+1})``.
    ``terminal="logits"`` takes ``V(s_{H+1})`` from the logits after the last token (the
    operator as written); ``"zero"`` treats the end of the response as a terminal state
    (``V = 0``), which leaves ``log pi(y | x) + V(s_1)``. ``norm`` divides the sum like
    :func:`normalise`.
    """
    total, why = total_logprob(cond)
    if total is None:
        return None, why
    if cond.values is None:
        return None, "the backend gave no logits (soft values) for the endogenous reward"
    v_first, v_last = cond.values
    if terminal not in TERMINALS:
        raise ValueError(f"terminal {terminal!r}: choose {', '.join(TERMINALS)}")
    reward = total + v_first - (v_last if terminal == "logits" else 0.0)
    return normalise(reward, cond, norm), None


_WORD = re.compile(r"[a-z0-9]+")


def token_f1(predicted: str, reference: str) -> float:
    """SQuAD-style token F1 (lower-cased alphanumeric words) between an inferred and the real instruction."""
    pred, gold = _WORD.findall(predicted.lower()), _WORD.findall(reference.lower())
    if not pred or not gold:
        return float(pred == gold)
    common = sum((Counter(pred) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def pair_verdict(scores: Sequence[float]) -> tuple[str, dict[str, float]]:
    """Order-free verdict of two responses by score: ``A``/``B``, ``tie`` only on exact equality.

    ``probs`` is the logistic of the score difference (``P(A) = sigmoid(s_A - s_B)``),
    a monotone reading of the margin, not a calibrated probability.
    """
    a, b = scores
    diff = max(min(a - b, 50.0), -50.0)
    p_a = 1.0 / (1.0 + math.exp(-diff))
    label = "tie" if a == b else ("A" if a > b else "B")
    return label, {"A": p_a, "B": 1.0 - p_a}
