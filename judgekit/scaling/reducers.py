"""Inference-time scaling: reducers over k sampled judgments.

A generative judge sampled k times per prompt gives k parsed answers. A *reducer*
turns them into one verdict. The reducers here are pure functions of the parsed
samples (and, for ``meta``, of one meta-RM score per sample):

* :func:`majority` - vote on verdict labels, a tie for first place is ``"tie"``;
* :func:`score_sum` - SPCT style: sum each response's score over the samples, the
  argmax wins, equal sums are an explicit tie;
* :func:`mean_prob` - average the label distributions (a sample without
  probabilities counts as one-hot on its label), argmax wins;
* :func:`meta` - DeepSeek-GRM meta-RM guided voting: keep the ``k_meta`` samples the
  meta reward model rates highest, then majority among them.

A parse failure is one abstaining sample, never a vote: every reducer drops it
before counting and returns a :class:`~judgekit.core.types.ParseFailure` only when no
sample could be read. :func:`get_reducer` wraps the pure functions as a
:class:`Reducer` the protocols call with the sample texts and the prompt.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from judgekit.core.aggregate import all_failed, majority_vote, mean_scores
from judgekit.core.errors import ConfigError
from judgekit.core.types import Parsed, ParseFailure, Prompt, Verdict
from judgekit.scaling.meta_rm import load_meta_rm

#: Scores (prompt text, judgment text) pairs; higher means "more likely correct".
Scorer = Callable[[Sequence[tuple[str, str]]], list[float]]

REDUCERS = ("majority", "score-sum", "mean-prob", "meta")
_ALIASES = {"score_sum": "score-sum", "mean_prob": "mean-prob", "vote": "majority", "meta-rm": "meta"}


class Reducer(Protocol):
    """Combine one prompt's k parsed samples into one answer.

    ``texts`` are the raw sample outputs (same order as ``parsed``) and ``prompt`` the
    prompt they answer; reducers that only count verdicts ignore both.
    """

    @property
    def name(self) -> str:
        """The reducer's canonical name (recorded in traces)."""
        ...

    def __call__(
        self, parsed: Sequence[Parsed], texts: Sequence[str] = (), prompt: Prompt | None = None
    ) -> Parsed:
        """Reduce the samples of one prompt."""
        ...


def _valid(parsed: Sequence[Parsed]) -> list[Verdict]:
    return [p for p in parsed if isinstance(p, Verdict) and p.label is not None]


def majority(parsed: Sequence[Parsed]) -> Parsed:
    """Majority vote over verdict labels; failures abstain; a tie for first is ``"tie"``."""
    return majority_vote(parsed)


def _format_score(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def score_sum(parsed: Sequence[Parsed]) -> Parsed:
    """SPCT reduction: sum per-response scores over samples; argmax wins, ties explicit.

    Only samples that carry a score for every response count (others abstain, as
    failures do). With two or more responses the label is the winning letter
    (``"A"``, ``"B"``, ...) or ``"tie"``; with one response it is the mean score as
    text. ``scores`` holds the per-response *mean* (sum / voters), so the value stays
    on the format's scale; ``probs`` holds each label's share of the votes.
    """
    valid = [v for v in _valid(parsed) if v.scores]
    widths = Counter(len(v.scores or ()) for v in valid)
    if not valid:
        if parsed and all(isinstance(p, ParseFailure) for p in parsed):
            return all_failed(parsed)
        return ParseFailure(reason=f"none of {len(parsed)} samples carries per-response scores", raw="")
    width = widths.most_common(1)[0][0]
    voters = [v for v in valid if len(v.scores or ()) == width]
    sums = [sum((v.scores or ())[i] for v in voters) for i in range(width)]
    means = tuple(s / len(voters) for s in sums)
    shares = {lab: c / len(voters) for lab, c in Counter(str(v.label) for v in voters).items()}
    if width == 1:
        return Verdict(label=_format_score(means[0]), scores=means, probs=shares)
    best = max(sums)
    winners = [i for i, s in enumerate(sums) if s == best]
    label = "tie" if len(winners) > 1 else chr(ord("A") + winners[0])
    return Verdict(label=label, scores=means, probs=shares)


def mean_prob(parsed: Sequence[Parsed]) -> Parsed:
    """Average the samples' label distributions; argmax wins, equal maxima are a tie.

    A sample without ``probs`` (a plain generative verdict) counts as probability 1 on
    its own label, so on generative samples this is the vote share.
    """
    valid = _valid(parsed)
    if not valid:
        return all_failed(parsed)
    dists: list[Mapping[str, float]] = [
        dict(v.probs) if v.probs else {str(v.label): 1.0} for v in valid
    ]
    keys = sorted({k for d in dists for k in d})
    mean = {k: sum(d.get(k, 0.0) for d in dists) / len(dists) for k in keys}
    top = max(mean.values())
    leaders = [k for k in keys if abs(mean[k] - top) <= 1e-12]
    label = leaders[0] if len(leaders) == 1 else "tie"
    return Verdict(label=label, scores=mean_scores(valid), probs=mean)


def meta_keep(parsed: Sequence[Parsed], scores: Sequence[float], k_meta: int) -> list[int]:
    """Pick the samples meta-RM voting keeps: the top ``k_meta`` valid ones (indices).

    Failures are never kept (they could not vote anyway). Equal scores keep the
    earlier sample. ``k_meta`` larger than the number of valid samples keeps them all.
    """
    if len(scores) != len(parsed):
        raise ValueError(f"meta needs one score per sample: {len(scores)} scores, {len(parsed)} samples")
    if k_meta < 1:
        raise ValueError(f"k_meta must be at least 1, got {k_meta}")
    valid = [i for i, p in enumerate(parsed) if isinstance(p, Verdict) and p.label is not None]
    ranked = sorted(valid, key=lambda i: (-float(scores[i]), i))
    return sorted(ranked[:k_meta])


def meta(parsed: Sequence[Parsed], scores: Sequence[float], k_meta: int) -> Parsed:
    """Meta-RM guided voting: majority among the ``k_meta`` highest-scored samples."""
    keep = meta_keep(parsed, scores, k_meta)
    if not keep:
        return all_failed(parsed)
    return majority_vote([parsed[i] for i in keep])


@dataclass(frozen=True)
class PlainReducer:
    """A reducer that only looks at the parsed samples."""

    name: str
    fn: Callable[[Sequence[Parsed]], Parsed]

    def __call__(
        self, parsed: Sequence[Parsed], texts: Sequence[str] = (), prompt: Prompt | None = None
    ) -> Parsed:
        """Reduce ``parsed`` (texts and prompt are not needed)."""
        return self.fn(parsed)


@dataclass(frozen=True)
class MetaReducer:
    """Meta-RM guided voting: score each (prompt, sample text), keep the top ``k_meta``.

    Scores are memoised per (prompt, text); :meth:`prime` scores a whole turn's
    samples in one batched call before the per-prompt reductions.
    """

    scorer: Scorer
    k_meta: int
    name: str = "meta"
    memo: dict[tuple[str, str], float] = field(default_factory=dict, compare=False, repr=False)

    def prime(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Score every not-yet-scored ``(prompt text, sample text)`` pair in one call."""
        todo = [p for p in dict.fromkeys(pairs) if p not in self.memo]
        if todo:
            self.memo.update(zip(todo, self.scorer(todo), strict=True))

    def __call__(
        self, parsed: Sequence[Parsed], texts: Sequence[str] = (), prompt: Prompt | None = None
    ) -> Parsed:
        """Score the samples with the meta-RM, then vote among the best ``k_meta``."""
        if len(texts) != len(parsed) or prompt is None:
            raise ValueError(
                "--reduce meta needs each sample's text and the prompt; this protocol's "
                "turn does not pass them to the reducer"
            )
        pairs = [(prompt.as_text(), t) for t in texts]
        self.prime(pairs)
        return meta(parsed, [self.memo[p] for p in pairs], self.k_meta)


def canonical_reducer(name: str) -> str:
    """Normalise a reducer name (``score_sum`` -> ``score-sum``), or raise ValueError."""
    found = _ALIASES.get(name, name)
    if found not in REDUCERS:
        raise ValueError(f"unknown reducer {name!r}; choose from {', '.join(REDUCERS)}")
    return found


_PLAIN: dict[str, Callable[[Sequence[Parsed]], Parsed]] = {
    "majority": majority,
    "score-sum": score_sum,
    "mean-prob": mean_prob,
}


def default_k_meta(k: int) -> int:
    """DeepSeek-GRM's usual choice when none is given: half the samples, at least 1."""
    return max(1, k // 2)


def get_reducer(name: str, config: Any = None, scorer: Scorer | None = None) -> Reducer:
    """Build the reducer called ``name``, configured from a JudgeConfig.

    ``meta`` reads ``config.option("meta_rm")`` (a trained meta-RM directory, loaded
    once per path) and ``config.option("k_meta")`` (default: half of
    ``config.samples``); ``scorer`` replaces the meta-RM (tests, custom raters).
    Raises :class:`~judgekit.core.errors.ConfigError` for unknown names or a
    missing meta-RM.
    """
    try:
        canon = canonical_reducer(name)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if canon in _PLAIN:
        return PlainReducer(name=canon, fn=_PLAIN[canon])
    option = getattr(config, "option", lambda _n, d=None: d)
    samples = int(getattr(config, "samples", 1) or 1)
    raw_k = option("k_meta", None)
    try:
        k_meta = int(raw_k) if raw_k is not None else default_k_meta(samples)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"--k-meta must be an integer, got {raw_k!r}") from exc
    if k_meta < 1:
        raise ConfigError(f"--k-meta must be at least 1, got {k_meta}")
    if scorer is None:
        path = option("meta_rm", None)
        if not path:
            raise ConfigError("--reduce meta needs --meta-rm PATH (train one with `judgekit meta-rm train`)")
        scorer = load_meta_rm(str(path)).score
    return MetaReducer(scorer=scorer, k_meta=k_meta)
