"""Listwise judging: N >= 2 responses in one prompt, a full ranking, several display orders.

Each item is shown in the display orders of :func:`judgekit.core.ranking.display_orders`
(all N! orders for N <= 3, the N cyclic shifts of a Latin square above; ``--option
permutations=all|latin|random|identity``, ``--option k=K``). Every order is one call whose
answer is constrained to a permutation of the labels and parsed strictly; the rankings
(in original response indices) are combined by mean rank
(:func:`judgekit.core.rank_aggregate.combine_rankings`; ``--option min_agreement=X``
sets when disagreeing orders make a tie). With k samples per order (``--samples``) every
readable sample's ranking counts. An order whose every sample failed makes the item a
recorded parse failure: a ranking from some of the orders is never passed off as a
position-debiased one.

Logit mode scores the first token of each position label after ``Best: [[`` (best-of-N);
each order's ranking is its labels by descending probability, and the mean probability
per response is kept in ``probs``.

The Judgment's ``verdict`` is the letter of the best response in input order (``A`` =
``responses[0]``) or ``tie``; ``scores`` are the mean Borda points (``n - 1`` best);
``extra["listwise"]`` holds mean ranks, the combined ranking, agreement and the per-response
rewards (``--option reward=centred|linear|best``, see :func:`~judgekit.core.rank_aggregate.rank_rewards`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from judgekit.core.errors import ConfigError
from judgekit.core.formats import Format
from judgekit.core.prompts import render
from judgekit.core.rank_aggregate import (
    DEFAULT_MIN_AGREEMENT,
    REWARD_MAPPINGS,
    RankResult,
    combine_rankings,
    probs_ranking,
    rank_rewards,
)
from judgekit.core.ranking import (
    MAX_RESPONSES,
    SCHEMES,
    display_orders,
    listwise_format,
    position_labels,
    to_original,
)
from judgekit.core.runner import Runner
from judgekit.core.types import Judgment, Prompt, Sample, Verdict, parsed_to_dict
from judgekit.protocols.base import Protocol
from judgekit.protocols.single import TurnResult, instructions_for, run_turn, skipped, too_long_reasons

OPTIONS = ("permutations", "k", "min_agreement", "reward")


class ListwiseProtocol(Protocol):
    """Rank N responses in one prompt, over several display orders, combined by mean rank."""

    name: ClassVar[str] = "listwise"
    option_names: ClassVar[tuple[str, ...]] = OPTIONS
    description: ClassVar[str] = "rank N >= 2 responses in one prompt (permutation-constrained), several orders"
    task: ClassVar[str] = "listwise"
    templates: ClassVar[tuple[str, ...]] = ("listwise",)
    methods: ClassVar[tuple[str, ...]] = ("generative", "logit")
    verdict_format: ClassVar[Format | None] = None  # one format per N: see listwise_format
    scored: ClassVar[bool] = True
    options: ClassVar[tuple[str, ...]] = OPTIONS

    def check(self) -> None:
        """Validate the options (scheme, k, threshold, reward mapping) and the reducer."""
        super().check()
        if self.config.reduce not in ("majority",):
            raise ConfigError("listwise combines every sample's ranking by mean rank; --reduce must be majority")
        if self.scheme not in SCHEMES:
            raise ConfigError(f"--option permutations={self.scheme}: choose {', '.join(SCHEMES)}")
        _ = (self.k, self.min_agreement)  # raise ConfigError now on a bad value
        if self.reward_mapping not in REWARD_MAPPINGS:
            raise ConfigError(f"--option reward={self.reward_mapping}: choose {', '.join(REWARD_MAPPINGS)}")

    def decoding(self) -> dict[str, Any]:
        """The manifest's decoding record: the constraint depends on N, so it names its rule."""
        common = {"permutations": self.scheme, "k": self.k, "min_agreement": self.min_agreement,
                  "reward": self.reward_mapping}
        if self.config.method == "logit":
            return {"method": "logit", "prefix": listwise_format(2).logit_prefix, "choices": "position labels A..",
                    **common}
        params = self.config.params(None).to_dict()
        params["constraint"] = ("regex per N: Reasoning line + 'Ranking: [[...]]' admitting only permutations "
                                "of the N labels (judgekit.core.ranking.listwise_format)") if self.config.constrain \
            else None
        return {"method": "generative", **params, **common}

    @property
    def scheme(self) -> str:
        """Display-order scheme (``auto``: all orders for N <= 3, a Latin square above)."""
        return str(self.config.option("permutations", "auto"))

    @property
    def k(self) -> int | None:
        """How many display orders to keep (None: the scheme's own count)."""
        raw = self.config.option("k")
        if raw is None:
            return None
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"--option k={raw}: expected an integer") from None
        if value < 1:
            raise ConfigError(f"--option k={raw}: must be at least 1")
        return value

    @property
    def min_agreement(self) -> float:
        """Share of orders that must put the best response first; below it the item is a tie."""
        raw = self.config.option("min_agreement", DEFAULT_MIN_AGREEMENT)
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"--option min_agreement={raw}: expected a number in [0, 1]") from None
        if not 0 <= value <= 1:
            raise ConfigError(f"--option min_agreement={raw}: expected a number in [0, 1]")
        return value

    @property
    def reward_mapping(self) -> str:
        """Rank -> reward mapping (see :func:`judgekit.core.rank_aggregate.rank_rewards`)."""
        return str(self.config.option("reward", "centred"))

    def orders(self, sample: Sample) -> list[tuple[int, ...]]:
        """The display orders of one item."""
        n = len(sample.responses)
        if not 2 <= n <= MAX_RESPONSES:
            raise ConfigError(f"sample {sample.id}: listwise needs 2 to {MAX_RESPONSES} responses, got {n}")
        return display_orders(n, self.scheme, self.k, self.config.seed, sample.id)

    def prompt(self, sample: Sample, order: tuple[int, ...], rubric: str | None = None) -> Prompt:
        """Render the listwise template with the responses in ``order`` (``rubric``: this item's, else the run's)."""
        fmt = listwise_format(len(sample.responses))
        instructions, prefix = instructions_for(fmt, self.config)
        shown = [{"label": lab, "text": sample.responses[i]}
                 for lab, i in zip(position_labels(len(order)), order, strict=True)]
        return render("listwise", assistant_prefix=prefix, question=sample.prompt, responses=shown,
                      instructions=instructions, rubric=(self.config.rubric if rubric is None else rubric) or "",
                      principles=list(self.config.principles))

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """Judge every display order of every item (one batch per N), then combine per item."""
        return self.judge_lists(samples, runner)

    def judge_lists(self, samples: Sequence[Sample], runner: Runner,
                    rubrics: Sequence[str] | None = None) -> list[Judgment]:
        """:meth:`judge`, with one rubric text per sample when given (the rubric protocol's listwise mode)."""
        orders = [self.orders(s) for s in samples]
        texts: Sequence[str | None] = rubrics if rubrics is not None else [None] * len(samples)
        groups = [[self.prompt(s, o, t) for o in os_] for s, os_, t in zip(samples, orders, texts, strict=True)]
        reasons = too_long_reasons(groups, runner, self.config.max_new_tokens)
        keep = [i for i, r in enumerate(reasons) if r is None]
        by_n: dict[int, list[int]] = {}
        for i in keep:
            by_n.setdefault(len(samples[i].responses), []).append(i)
        results: dict[int, list[TurnResult]] = {}
        for n, idxs in by_n.items():
            flat = [p for i in idxs for p in groups[i]]
            turns = iter(run_turn(flat, runner, listwise_format(n), self.config, name="ranking"))
            for i in idxs:
                results[i] = [next(turns) for _ in groups[i]]
        out: list[Judgment] = []
        for i, sample in enumerate(samples):
            reason = reasons[i]
            out.append(skipped(sample.id, reason) if reason is not None
                       else self._combine(sample, orders[i], results[i]))
        return out

    def _order_rankings(self, order: tuple[int, ...], result: TurnResult) -> tuple[list[tuple[int, ...]], list[str]]:
        """Rankings (original indices) of one order's readable samples, and the failures' reasons."""
        rankings, failures = [], []
        for parsed in result.samples:
            if not isinstance(parsed, Verdict) or parsed.label is None:
                failures.append(getattr(parsed, "reason", "no verdict"))
            elif self.config.method == "logit":
                labels = position_labels(len(order))
                probs = [float((parsed.probs or {}).get(lab, 0.0)) for lab in labels]
                rankings.append(tuple(order[p] for p in probs_ranking(probs)))
            else:
                rankings.append(to_original(parsed.label, order))
        return rankings, failures

    def _combine(self, sample: Sample, orders: list[tuple[int, ...]], results: list[TurnResult]) -> Judgment:
        n = len(sample.responses)
        labels = position_labels(n)
        rankings: list[tuple[int, ...]] = []
        per_order: list[dict[str, Any]] = []
        failed: list[str] = []
        probs_sum = [0.0] * n
        for order, result in zip(orders, results, strict=True):
            found, failures = self._order_rankings(order, result)
            rankings += found
            shown = "".join(labels[i] for i in order)
            entry: dict[str, Any] = {"order": shown, "display": list(order), **parsed_to_dict(result.parsed),
                                     "rankings": [list(r) for r in found]}
            if failures:
                entry["failures"] = failures
            if not found:
                failed.append(f"order {shown}: {'; '.join(sorted(set(failures)))}")
            if self.config.method == "logit" and isinstance(result.parsed, Verdict) and result.parsed.probs:
                for pos, i in enumerate(order):
                    probs_sum[i] += float(result.parsed.probs.get(labels[pos], 0.0))
            per_order.append(entry)
        trace = tuple(r.turn for r in results)
        if failed:
            return Judgment(sample_id=sample.id, verdict=None, reward=None, per_order=tuple(per_order),
                            parse_failure=True, failure_reason="; ".join(failed), trace=trace,
                            extra={"listwise": {"n": n, "orders": len(orders), "scheme": self.scheme}})
        res = combine_rankings(rankings, n, self.min_agreement)
        probs = ({labels[i]: probs_sum[i] / len(orders) for i in range(n)}
                 if self.config.method == "logit" else None)
        return Judgment(
            sample_id=sample.id, verdict="tie" if res.best is None else labels[res.best], reward=None,
            per_order=tuple(per_order), probs=probs, scores=res.borda, consistent=res.consistent,
            trace=trace, extra={"listwise": self._record(res, n, len(orders))},
        )

    def _record(self, res: RankResult, n: int, orders: int) -> dict[str, Any]:
        return {
            "n": n, "orders": orders, "scheme": self.scheme, "mean_ranks": list(res.mean_ranks),
            "ranking": list(res.ranking), "best": res.best, "agreement": res.agreement,
            "consistent": res.consistent, "full_agreement": res.full_agreement, "tie_reason": res.tie_reason,
            "reward_mapping": self.reward_mapping, "rewards": list(rank_rewards(res.mean_ranks, self.reward_mapping)),
        }
