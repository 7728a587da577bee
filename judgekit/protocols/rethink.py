r"""Branch-and-rethink two-turn judging (BR-RM, "Think Twice", arXiv:2510.23596).

Turn 1, adaptive branching (one batched call for every sample and order)::

    Query type: Reasoning
    Dimensions: correctness, reasoning quality
    Response 1 issues: the carry is handled right, 75+48=123.
    Response 2 issues: 5+8 is written as 14, the sum is wrong.

Turn 2, branch-conditioned rethinking, continues the same conversation with the
chosen dimensions and the query type's priorities (from ``rubrics/dimensions.yaml``)
and must end with a strict verdict::

    Rethink: rechecking the sum, Response 1 is right.
    Verdict: \\boxed{1}

A turn-2 output that does not end with exactly one ``\\boxed{1}`` or ``\\boxed{2}``
is a *format violation*: recorded as such (never read as a verdict) with reward
``--option format_reward=R`` (default -1.0; the paper's large negative penalty,
e.g. -100, can be set). A turn-1 parse failure is recorded but does not stop turn 2.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from judgekit.core.errors import ConfigError
from judgekit.core.formats import Format
from judgekit.core.prompts import data_dir, render
from judgekit.core.runner import Runner
from judgekit.core.types import Constraint, Judgment, Parsed, ParseFailure, Prompt, Sample, Verdict
from judgekit.protocols.base import Protocol
from judgekit.protocols.multiturn import (
    combine_pair,
    continue_chat,
    generate_step,
    orders,
    principles_extra,
    shown_pair,
)
from judgekit.protocols.rubric.schema import RubricError, load_yaml
from judgekit.protocols.single import run_turn, skipped, too_long_reasons

ISSUE_RE = r"[^\n\[\]]{1,120}"
RETHINK_RE = r"[^\n\[\]]{1,160}"
VIOLATION = "format violation"
DEFAULT_FORMAT_REWARD = -1.0
FALLBACK_PRIORITIES = "Weigh correctness and instruction following first."


@dataclass(frozen=True)
class Dimension:
    """One evaluation dimension turn 1 can choose."""

    name: str
    description: str


@dataclass(frozen=True)
class DimensionSet:
    """The dimension list and the per-query-type priorities of turn 2."""

    dimensions: tuple[Dimension, ...]
    query_types: tuple[tuple[str, str], ...]

    def names(self) -> tuple[str, ...]:
        """Dimension names in file order."""
        return tuple(d.name for d in self.dimensions)

    def priorities(self, query_type: str | None) -> str:
        """Turn-2 priorities for a query type (a general fallback when unknown)."""
        return dict(self.query_types).get(query_type or "", FALLBACK_PRIORITIES)


def load_dimensions(path: Path | str | None = None) -> DimensionSet:
    """Load and validate a dimensions YAML (default: the bundled ``rubrics/dimensions.yaml``)."""
    path = Path(path) if path else data_dir("rubrics") / "dimensions.yaml"
    if not path.is_file():
        raise RubricError(f"{path}: dimensions file not found")
    data = load_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("dimensions"), list) or not data["dimensions"]:
        raise RubricError(f"{path}: expected a mapping with a non-empty 'dimensions' list")
    dims = []
    for i, d in enumerate(data["dimensions"]):
        if not (isinstance(d, dict) and isinstance(d.get("name"), str) and isinstance(d.get("description"), str)):
            raise RubricError(f"{path}: dimensions[{i}] must be a mapping with 'name' and 'description' text")
        if not re.fullmatch(r"[a-z][a-z ]{0,38}[a-z]", d["name"]):
            raise RubricError(f"{path}: dimensions[{i}].name {d['name']!r} must be lowercase words")
        dims.append(Dimension(name=d["name"], description=d["description"].strip()))
    if len({d.name for d in dims}) != len(dims):
        raise RubricError(f"{path}: dimension names must be unique")
    qt = data.get("query_types") or {}
    if not isinstance(qt, dict) or not qt or not all(
        isinstance(k, str) and re.fullmatch(r"[A-Z][A-Za-z]{1,20}", k) and isinstance(v, str) for k, v in qt.items()
    ):
        raise RubricError(f"{path}: 'query_types' must map capitalised type names to priority text")
    return DimensionSet(dimensions=tuple(dims), query_types=tuple((k, v.strip()) for k, v in qt.items()))


@dataclass(frozen=True)
class Branch:
    """Turn 1's parsed output: query type, chosen dimensions, issue sketch per response."""

    query_type: str
    dimensions: tuple[str, ...]
    issues: tuple[str, str]


def branch_instructions(dims: DimensionSet) -> str:
    """Build the turn-1 instructions."""
    types = ", ".join(k for k, _ in dims.query_types)
    return (
        "Write exactly four lines:\n"
        f"Query type: one of {types}\n"
        "Dimensions: the 1 to 3 most critical dimension names from the list above, separated by ', '\n"
        "Response 1 issues: the likely problems of Response 1 on those dimensions\n"
        "Response 2 issues: the likely problems of Response 2 on those dimensions"
    )


def branch_regex(dims: DimensionSet) -> str:
    """Constraint for turn 1 (dimension names are an alternation from the list)."""
    names = "|".join(re.escape(n) for n in dims.names())
    types = "|".join(k for k, _ in dims.query_types)
    return (
        rf"Query type: ({types})\nDimensions: ({names})(, ({names})){{0,2}}\n"
        rf"Response 1 issues: {ISSUE_RE}\nResponse 2 issues: {ISSUE_RE}"
    )


def parse_branch(text: str, dims: DimensionSet) -> Branch | ParseFailure:
    """Strictly read turn 1: known query type, 1-3 distinct known dimensions, both issue lines."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        head, sep, body = line.partition(":")
        key = head.strip().strip("*").lower()
        if sep and key in ("query type", "dimensions", "response 1 issues", "response 2 issues"):
            fields.setdefault(key, body.strip())
    for key in ("query type", "dimensions", "response 1 issues", "response 2 issues"):
        if not fields.get(key):
            return ParseFailure(reason=f"turn 1: no '{key.capitalize()}:' line", raw=text)
    types = {k.lower(): k for k, _ in dims.query_types}
    qtype = types.get(fields["query type"].strip(" .").lower())
    if qtype is None:
        return ParseFailure(reason=f"turn 1: unknown query type {fields['query type']!r}", raw=text)
    chosen = [c.strip(" .").lower() for c in fields["dimensions"].split(",") if c.strip(" .")]
    unknown = [c for c in chosen if c not in dims.names()]
    if unknown:
        return ParseFailure(reason=f"turn 1: unknown dimension(s) {', '.join(unknown)}", raw=text)
    if not 1 <= len(chosen) <= 3 or len(set(chosen)) != len(chosen):
        return ParseFailure(reason=f"turn 1: need 1-3 distinct dimensions, got {len(chosen)}", raw=text)
    return Branch(qtype, tuple(chosen), (fields["response 1 issues"], fields["response 2 issues"]))


_BOX = re.compile(r"\\boxed\s*\{([^{}]*)\}")


def parse_boxed(text: str) -> Parsed:
    r"""Read the strict turn-2 verdict: exactly one ``\\boxed{1}``/``\\boxed{2}`` and nothing after it."""
    boxes = list(_BOX.finditer(text))
    if not boxes:
        reason = "unclosed \\boxed{ (truncated?)" if "\\boxed" in text else "no \\boxed{1} or \\boxed{2}"
        return ParseFailure(reason=f"{VIOLATION}: {reason}", raw=text)
    contents = [b.group(1).strip() for b in boxes]
    if {"1", "2"} <= set(contents):
        return ParseFailure(reason=f"{VIOLATION}: both verdicts \\boxed{{1}} and \\boxed{{2}}", raw=text)
    if len(boxes) > 1:
        return ParseFailure(reason=f"{VIOLATION}: {len(boxes)} boxed verdicts", raw=text)
    if boxes[0].group(1) not in ("1", "2"):
        return ParseFailure(reason=f"{VIOLATION}: \\boxed{{{boxes[0].group(1)}}} is not 1 or 2", raw=text)
    if text[boxes[0].end():].strip():
        return ParseFailure(reason=f"{VIOLATION}: text after the verdict", raw=text)
    return Verdict(label={"1": "A", "2": "B"}[boxes[0].group(1)])


BOXED = Format(
    name="br-rm",
    labels=("A", "B"),
    instructions=(
        "Write one line starting with 'Rethink:' with your focused re-check, then a final line "
        "'Verdict: \\boxed{1}' if Response 1 is better or 'Verdict: \\boxed{2}' if Response 2 is better. "
        "Write nothing after the box."
    ),
    logit_instructions="",
    regex=rf"Rethink: {RETHINK_RE}\nVerdict: \\boxed\{{(1|2)\}}",
    parser=parse_boxed,
)


def _branch_dict(parsed: Branch | ParseFailure) -> dict[str, Any]:
    if isinstance(parsed, ParseFailure):
        return {"ok": False, "reason": parsed.reason}
    return {"ok": True, "query_type": parsed.query_type, "dimensions": list(parsed.dimensions),
            "issues": list(parsed.issues)}


class BranchRethinkProtocol(Protocol):
    r"""Two turns per order: pick 1-3 dimensions and sketch issues, then rethink to ``\\boxed{1|2}``."""

    name: ClassVar[str] = "br-rm"
    option_names: ClassVar[tuple[str, ...]] = ("dimensions", "format_reward")
    description: ClassVar[str] = "BR-RM branch-and-rethink: pick 1-3 dimensions, then rethink to \\boxed{1|2}"
    task: ClassVar[str] = "pairwise"
    templates: ClassVar[tuple[str, ...]] = ("brrm_branch", "brrm_rethink")
    verdict_format: ClassVar[Format | None] = BOXED

    def dimension_set(self) -> DimensionSet:
        """Load the dimensions in use (``--option dimensions=FILE`` or the bundled list)."""
        return load_dimensions(self.config.option("dimensions"))

    def format_reward(self) -> float:
        """Reward given to a format violation (``--option format_reward=R``)."""
        value = self.config.option("format_reward", DEFAULT_FORMAT_REWARD)
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"--option format_reward={value!r}: expected a number") from exc

    def branch_prompt(self, sample: Sample, swapped: bool, dims: DimensionSet) -> Prompt:
        """Turn 1 for one order."""
        r1, r2 = shown_pair(sample, swapped, self.name)
        return render(
            "brrm_branch", question=sample.prompt, response_1=r1, response_2=r2,
            dimensions=[{"name": d.name, "description": d.description} for d in dims.dimensions],
            query_types=[k for k, _ in dims.query_types], instructions=branch_instructions(dims),
            principles=list(self.config.principles),
        )

    def rethink_prompt(self, first: Prompt, output: str, branch: Branch | ParseFailure, dims: DimensionSet) -> Prompt:
        """Turn 2: turn 1's conversation, its output, and the rethinking request."""
        chosen = branch if isinstance(branch, Branch) else None
        second = render(
            "brrm_rethink",
            dimensions=", ".join(chosen.dimensions) if chosen else "the ones you chose above",
            query_type=chosen.query_type if chosen else "unknown",
            priorities=dims.priorities(chosen.query_type if chosen else None),
            instructions=BOXED.instructions, principles=list(self.config.principles),
        )
        return continue_chat(first, output, second)

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """Turn 1 for every sample and order in one call, then turn 2 likewise, then combine."""
        dims, penalty, order = self.dimension_set(), self.format_reward(), orders(self.config)
        groups = [[self.branch_prompt(s, sw, dims) for sw in order] for s in samples]
        budget = 2 * self.config.max_new_tokens + 64  # turn 2 holds turn 1's output too
        reasons = too_long_reasons(groups, runner, budget)
        keep = [i for i, r in enumerate(reasons) if r is None]
        firsts = [p for i in keep for p in groups[i]]
        constraint = Constraint(kind="regex", pattern=branch_regex(dims))
        steps = generate_step(firsts, [constraint] * len(firsts), runner, self.config,
                              lambda t: parse_branch(t, dims), "branch", _branch_dict)
        seconds = [self.rethink_prompt(p, s.output, s.parsed, dims) for p, s in zip(firsts, steps, strict=True)]
        finals = iter(run_turn(seconds, runner, BOXED, self.config, "rethink"))
        branch_iter = iter(steps)
        out: dict[int, Judgment] = {i: skipped(samples[i].id, r) for i, r in enumerate(reasons) if r}
        for i in keep:
            bs = [next(branch_iter) for _ in order]
            rs = [next(finals) for _ in order]
            pair = combine_pair([r.parsed for r in rs], order, self.config.inconsistency)
            violation = pair.failure is not None and VIOLATION in pair.failure
            per_order = tuple(
                {**rec, "branch": _branch_dict(b.parsed)} for rec, b in zip(pair.per_order, bs, strict=True)
            )
            extra: dict[str, Any] = {**principles_extra(self.config), "format_violation": violation}
            branch_failures = [b.parsed.reason for b in bs if isinstance(b.parsed, ParseFailure)]
            if branch_failures:
                extra["branch_failures"] = branch_failures
            out[i] = Judgment(
                sample_id=samples[i].id, verdict=pair.label, reward=penalty if violation else pair.reward,
                per_order=per_order, probs=pair.probs, parse_failure=pair.failure is not None,
                failure_reason=pair.failure, consistent=pair.consistent,
                trace=tuple(t for b, r in zip(bs, rs, strict=True) for t in (b.turn, r.turn)), extra=extra,
            )
        return [out[i] for i in range(len(samples))]

