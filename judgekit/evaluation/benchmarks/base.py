"""The shapes every benchmark shares: items, comparison plans, outcomes, item results.

A benchmark loader turns published files into :class:`Item` s. Each item has
candidate responses, the indices of the correct ones, and the comparisons a
pairwise judge must make. :meth:`EvalSet.units` expands the items into the
:class:`~judgekit.core.types.Sample` s the runner judges; :func:`outcomes_from_judgment`
reads each finished Judgment back as :class:`PairOutcome` / :class:`ScoreOutcome`;
the benchmark's ``item_results`` turns outcomes into per-item credit with the
upstream rule, and its ``aggregate`` computes subset and overall scores.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from judgekit.core.types import Judgment, Sample

Mode = Literal["pairwise", "pointwise", "verify", "listwise", "prm"]
Winner = Literal["A", "B", "tie"]
UNIT_SEP = "::"


@dataclass(frozen=True)
class Comparison:
    """One pairwise comparison inside an item: candidate ``a`` shown first, ``b`` second.

    ``label`` is the expected verdict in unit terms (``"A"``, ``"B"``, ``"tie"``) or
    ``None`` when the benchmark has no preference for this pair.
    """

    id: str
    a: int
    b: int
    label: str | None


@dataclass(frozen=True)
class Item:
    """One benchmark item (a prompt with its candidates and ground truth).

    ``correct`` holds the indices of the correct / chosen candidates (empty when the
    truth is a tie or unknown). ``mode`` forces how the item is judged regardless of
    the run's mode (RewardBench 2's Ties subset must be rated pointwise).
    ``reference`` is the reference answer of a verification item (mode ``verify``:
    one candidate, ``label`` ``correct`` / ``incorrect``).
    """

    id: str
    subset: str
    prompt: str
    candidates: tuple[str, ...]
    correct: tuple[int, ...]
    comparisons: tuple[Comparison, ...]
    label: str | None = None
    mode: Mode | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    reference: str | None = None


@dataclass(frozen=True)
class EvalSet:
    """A loaded benchmark: its items and where they came from."""

    benchmark: str
    items: tuple[Item, ...]
    source: str
    notes: tuple[str, ...] = ()

    def item(self, item_id: str) -> Item:
        """Return the item with this id (KeyError if absent)."""
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(item_id)

    def units(self, mode: Mode = "pairwise") -> list[Sample]:
        """Expand the items into the samples to judge, in a stable order.

        Pairwise: one sample per comparison, id ``item::comparison``, responses
        ``(candidates[a], candidates[b])``, label the comparison's. Pointwise: one
        sample per item (all candidates, scored independently), id = item id. Verify:
        one sample per item with its first candidate and its ``reference``.
        ``metadata["protocol"]`` says which protocol must judge the sample: an item
        whose ``mode`` is fixed keeps it whatever ``mode`` asks.
        """
        out: list[Sample] = []
        for it in self.items:
            how = it.mode or mode
            base = {"benchmark": self.benchmark, "item_id": it.id, "subset": it.subset, "protocol": how}
            if how == "verify":
                out.append(Sample(id=it.id, prompt=it.prompt, responses=it.candidates[:1], label=it.label,
                                  reference=it.reference, metadata=base))
                continue
            if how == "listwise":  # all candidates in one prompt; label = the single correct one's letter
                label = chr(ord("A") + it.correct[0]) if len(it.correct) == 1 else None
                out.append(Sample(id=it.id, prompt=it.prompt, responses=it.candidates, label=label,
                                  metadata={**base, "candidates": len(it.candidates)}))
                continue
            if how == "prm":  # one solution; label = the first-error index (-1: all steps correct)
                out.append(Sample(id=it.id, prompt=it.prompt, responses=it.candidates[:1], label=it.label,
                                  metadata={**base, **dict(it.metadata)}))
                continue
            if how == "pointwise":
                out.append(Sample(id=it.id, prompt=it.prompt, responses=it.candidates, label=None,
                                  metadata={**base, "candidates": len(it.candidates)}))
                continue
            for c in it.comparisons:
                out.append(Sample(
                    id=f"{it.id}{UNIT_SEP}{c.id}", prompt=it.prompt,
                    responses=(it.candidates[c.a], it.candidates[c.b]), label=c.label,
                    metadata={**base, "comparison_id": c.id, "a": c.a, "b": c.b},
                ))
        return out


@dataclass(frozen=True)
class PairOutcome:
    """A pairwise judgment of one comparison, in the comparison's (unit's) terms.

    ``winner`` is the final verdict (``None`` = parse failure or not judged);
    ``order_winners`` the verdict of each order judged (original order first, the
    swapped one already expressed in original terms); ``consistent`` whether the
    two orders agreed (``None`` with one order); ``skipped`` the reason the unit
    was not judged (e.g. too long for the model's context: never truncated).
    """

    item_id: str
    comparison_id: str
    winner: str | None
    consistent: bool | None = None
    order_winners: tuple[str | None, ...] = ()
    prob_a: float | None = None
    skipped: str | None = None


@dataclass(frozen=True)
class ScoreOutcome:
    """A pointwise score of one candidate (``None`` = parse failure or ``skipped``, with its reason)."""

    item_id: str
    candidate_index: int
    score: float | None
    skipped: str | None = None


Outcome = PairOutcome | ScoreOutcome


@dataclass(frozen=True)
class ItemOutcomes:
    """All outcomes recorded for one item."""

    pairs: Mapping[str, PairOutcome]
    scores: Mapping[int, float | None]

    @property
    def empty(self) -> bool:
        """True when nothing was recorded for the item."""
        return not self.pairs and not self.scores


@dataclass(frozen=True)
class ItemResult:
    """Per-item credit under the upstream rule, plus what the aggregate needs.

    ``credit`` is in [0, 1] (``None`` for items whose score exists only at subset
    level); ``detail`` is benchmark specific and JSON-ready; ``units`` names the
    judged samples so a report can show their reasoning.
    """

    item_id: str
    subset: str
    credit: float | None
    detail: Mapping[str, Any] = field(default_factory=dict)
    units: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        d = asdict(self)
        d["detail"] = dict(self.detail)
        d["units"] = list(self.units)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ItemResult:
        """Inverse of :meth:`to_dict`."""
        return cls(item_id=str(d["item_id"]), subset=str(d["subset"]), credit=d.get("credit"),
                   detail=dict(d.get("detail") or {}), units=tuple(d.get("units") or ()))


Aggregate = Callable[[Sequence[ItemResult]], dict[str, float]]


@dataclass(frozen=True)
class BenchmarkInfo:
    """What ``judgekit eval --list`` says about a benchmark.

    ``source`` is where the published files live (hub name or repository path);
    ``rows`` the published size; ``reproduces`` which upstream scorer the rule
    follows (file and function); ``obtained`` whether the full data could be read
    in the session that wrote the module (``full``, ``part: ...``, ``no: ...``).
    """

    source: str = ""
    license: str = ""
    rows: str = ""
    reproduces: str = ""
    obtained: str = ""


@dataclass(frozen=True)
class Benchmark:
    """A benchmark: how to load it, credit items, and aggregate (upstream rules).

    ``aggregate`` returns flat named numbers: ``overall``, ``subset/NAME``, and
    benchmark-specific keys (``section/NAME``, ``hard``, ``macro_f1``...).
    ``primary`` names the headline key.
    """

    name: str
    description: str
    upstream: str
    load: Callable[[Path, int | None], EvalSet]
    item_results: Callable[[EvalSet, Mapping[str, ItemOutcomes]], list[ItemResult]]
    aggregate: Aggregate
    primary: str = "overall"
    default_mode: Mode = "pairwise"
    info: BenchmarkInfo = field(default_factory=BenchmarkInfo)
    #: ``overall`` is the share of all judged items credited 1 (so a Wilson interval applies to it)
    overall_is_proportion: bool = False
    #: hub dataset name -> a local folder of its files (``None`` for other names); see ``hub.py``
    fetch: Callable[[str], Path | None] | None = None


def _get(j: Judgment | Mapping[str, Any], name: str, default: Any = None) -> Any:
    if isinstance(j, Mapping):
        return j.get(name, default)
    return getattr(j, name, default)


def outcomes_from_judgment(unit: Sample, judgment: Judgment | Mapping[str, Any]) -> list[Outcome]:
    """Read one finished Judgment (object or its dict) as outcomes for ``unit``.

    Pairwise units give one :class:`PairOutcome`; pointwise units give one
    :class:`ScoreOutcome` per candidate, read from the per-response entries so one
    failed candidate does not lose the others' scores. A skipped judgment gives
    failures (``None``), never a verdict.
    """
    meta = unit.metadata
    item_id = str(meta.get("item_id", unit.id))
    per_order = list(_get(judgment, "per_order", ()) or ())
    extra = _get(judgment, "extra") or {}
    skip = str(extra["skipped"]) if isinstance(extra, Mapping) and extra.get("skipped") else None
    if skip is not None:
        if meta.get("protocol") == "pairwise":
            return [PairOutcome(item_id, str(meta.get("comparison_id", "ab")), None, skipped=skip)]
        return [ScoreOutcome(item_id, i, None, skip) for i in range(len(unit.responses))]
    if meta.get("protocol") == "verify":
        verdict = None if _get(judgment, "parse_failure") else _get(judgment, "verdict")
        return [ScoreOutcome(item_id, 0, {"correct": 1.0, "incorrect": 0.0}.get(str(verdict)))]
    if meta.get("protocol") == "prm":  # the predicted first-error index as the candidate's "score"
        verdict = _get(judgment, "verdict")
        failed = _get(judgment, "parse_failure") or verdict is None
        return [ScoreOutcome(item_id, 0, None if failed else float(verdict))]
    if meta.get("protocol") == "listwise":  # mean Borda points per candidate (None: a failed item)
        whole = _get(judgment, "scores")
        n = len(unit.responses)
        if _get(judgment, "parse_failure") or whole is None or len(whole) != n:
            return [ScoreOutcome(item_id, i, None) for i in range(n)]
        return [ScoreOutcome(item_id, i, float(s)) for i, s in enumerate(whole)]
    if meta.get("protocol") == "pointwise":
        scores: list[float | None] = [None] * len(unit.responses)
        whole = _get(judgment, "scores")
        for k, entry in enumerate(per_order):
            idx = int(entry.get("response", k))
            if entry.get("ok") and entry.get("scores") and 0 <= idx < len(scores):
                scores[idx] = float(entry["scores"][0])
        if whole is not None and len(whole) == len(scores):
            scores = [float(s) if s is not None else None for s in whole]
        return [ScoreOutcome(item_id, i, s) for i, s in enumerate(scores)]
    orders = tuple(e.get("label") if e.get("ok") else None for e in per_order)
    probs = _get(judgment, "probs")
    prob_a = None
    if probs:
        prob_a = float(probs.get("A", 0.0)) + 0.5 * float(probs.get("tie", 0.0))
    winner = _get(judgment, "verdict")
    if _get(judgment, "parse_failure") or winner not in ("A", "B", "tie"):
        winner = None
    return [PairOutcome(item_id, str(meta.get("comparison_id", "ab")), winner,
                        _get(judgment, "consistent"), orders, prob_a)]


def outcomes_from_judgments(
    units: Sequence[Sample], judgments: Iterable[Judgment | Mapping[str, Any]]
) -> list[Outcome]:
    """Match judgments to units by sample id and read them all (missing ones are skipped)."""
    by_id = {str(_get(j, "sample_id")): j for j in judgments}
    out: list[Outcome] = []
    for u in units:
        if u.id in by_id:
            out.extend(outcomes_from_judgment(u, by_id[u.id]))
    return out


def group_outcomes(outcomes: Iterable[Outcome]) -> dict[str, ItemOutcomes]:
    """Outcomes grouped by item id."""
    pairs: dict[str, dict[str, PairOutcome]] = {}
    scores: dict[str, dict[int, float | None]] = {}
    for o in outcomes:
        if isinstance(o, PairOutcome):
            pairs.setdefault(o.item_id, {})[o.comparison_id] = o
        else:
            scores.setdefault(o.item_id, {})[o.candidate_index] = o.score
    ids = {*pairs, *scores}
    return {i: ItemOutcomes(pairs.get(i, {}), scores.get(i, {})) for i in ids}


def winner_from_scores(sa: float | None, sb: float | None) -> str | None:
    """Pairwise verdict implied by two pointwise scores (``None`` if either failed)."""
    if sa is None or sb is None:
        return None
    return "A" if sa > sb else "B" if sb > sa else "tie"


def comparison_outcome(item: Item, comp: Comparison, got: ItemOutcomes) -> PairOutcome | None:
    """Find the outcome of ``comp``: judged pairwise or implied by pointwise scores (``None`` if neither)."""
    if comp.id in got.pairs:
        return got.pairs[comp.id]
    if got.scores:
        return PairOutcome(item.id, comp.id, winner_from_scores(got.scores.get(comp.a), got.scores.get(comp.b)))
    return None


def unit_ids(item: Item, got: ItemOutcomes) -> tuple[str, ...]:
    """Names of the judged samples behind an item's outcomes."""
    if got.scores and not got.pairs:
        return (item.id,)
    return tuple(f"{item.id}{UNIT_SEP}{c}" for c in got.pairs)


def seeded_swap(key: str, salt: str = "judgekit") -> bool:
    """Flip a fixed pseudo-random coin per item id, for presenting chosen/rejected pairs.

    Benchmarks that publish (chosen, rejected) would otherwise always show the
    chosen response first, which rewards a judge that always says "A".
    """
    return hashlib.sha256(f"{salt}:{key}".encode()).digest()[0] % 2 == 1


def chosen_rejected_item(
    item_id: str, subset: str, prompt: str, chosen: str, rejected: str, metadata: Mapping[str, Any] | None = None
) -> Item:
    """Build a two-candidate item from a (chosen, rejected) pair, order fixed by :func:`seeded_swap`."""
    swap = seeded_swap(item_id)
    candidates = (rejected, chosen) if swap else (chosen, rejected)
    label = "B" if swap else "A"
    return Item(id=item_id, subset=subset, prompt=prompt, candidates=candidates, correct=(1 if swap else 0,),
                comparisons=(Comparison("ab", 0, 1, label),), label=label, metadata=dict(metadata or {}))
