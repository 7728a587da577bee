"""Chain-of-rubrics judging (RM-R1, "Reward Modeling as Reasoning").

The model classifies the task first. Chat tasks get a rubric written for this prompt
and an evaluation against it; reasoning tasks get the judge's own solution first,
then the evaluation. The answer is ``<answer>[[A]]</answer>`` or
``<answer>[[B]]</answer>``::

    Type: Reasoning
    Solution: 75+48 = 123.
    Evaluation: Response A gets 123, Response B gets 134.
    <answer>[[A]]</answer>

The parser reads the answer tags strictly: no tag, an unclosed tag, both verdicts,
several tags, a tag holding anything but ``[[A]]``/``[[B]]``, or text after the
closing tag are recorded failures.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

from judgekit.core.formats import Format
from judgekit.core.prompts import render
from judgekit.core.runner import Runner
from judgekit.core.types import Judgment, Parsed, ParseFailure, Prompt, Sample, Verdict
from judgekit.protocols.base import Protocol
from judgekit.protocols.multiturn import combine_pair, orders, principles_extra, shown_pair
from judgekit.protocols.single import run_turn, skipped, too_long_reasons

_TAG = re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL)
_LABEL = re.compile(r"\[\[\s*(A|B)\s*\]\]", re.IGNORECASE)
_TYPE = re.compile(r"^\s*\**type\**\s*:\s*\**\s*(chat|reasoning)\b", re.IGNORECASE | re.MULTILINE)

# One bounded line per step (no brackets or angle brackets, so no verdict or tag inside).
LINE_RE = r"[^\n\[\]<>]{1,160}"

INSTRUCTIONS = (
    "Answer in this exact form:\n"
    "Type: Chat or Type: Reasoning\n"
    "For Chat, the next line is 'Rubric: ...' (what a good answer must do); for Reasoning, it is "
    "'Solution: ...' (your own solution).\n"
    "Then one line 'Evaluation: ...' comparing both responses.\n"
    "Last, the verdict alone: <answer>[[A]]</answer> if Response A is better or "
    "<answer>[[B]]</answer> if Response B is better."
)


def parse_rmr1(text: str) -> Parsed:
    """Read the single ``<answer>[[A|B]]</answer>`` tag; flag none, both, several or trailing text."""
    tags = list(_TAG.finditer(text))
    if not tags:
        reason = "unclosed <answer> tag (truncated?)" if "<answer>" in text.lower() else "no <answer> tag"
        return ParseFailure(reason=reason, raw=text)
    labels = {m.group(1).upper() for t in tags for m in _LABEL.finditer(t.group(1))}
    if len(labels) > 1:
        return ParseFailure(reason="both verdicts [[A]] and [[B]] in the answer", raw=text)
    if len(tags) > 1:
        return ParseFailure(reason=f"{len(tags)} <answer> tags", raw=text)
    content = tags[0].group(1).strip()
    if not _LABEL.fullmatch(content):
        return ParseFailure(reason=f"answer tag holds {content[:40]!r}, not [[A]] or [[B]]", raw=text)
    if text[tags[0].end():].strip():
        return ParseFailure(reason="text after </answer>", raw=text)
    return Verdict(label=labels.pop())


def task_type(text: str) -> str | None:
    """``"chat"``, ``"reasoning"`` or None: the task class the model chose (first ``Type:`` line)."""
    m = _TYPE.search(text)
    return m.group(1).lower() if m else None


RMR1 = Format(
    name="rm-r1",
    labels=("A", "B"),
    instructions=INSTRUCTIONS,
    logit_instructions="",
    regex=(
        rf"Type: (Chat\nRubric: {LINE_RE}|Reasoning\nSolution: {LINE_RE})"
        rf"\nEvaluation: {LINE_RE}\n<answer>\[\[(A|B)\]\]</answer>"
    ),
    parser=parse_rmr1,
)


class ChainOfRubricsProtocol(Protocol):
    """Classify chat vs reasoning, rubric or solve-first, then ``<answer>[[A|B]]</answer>``."""

    name: ClassVar[str] = "rm-r1"
    description: ClassVar[str] = "RM-R1 chain-of-rubrics: chat rubric or solve-first, <answer>[[A|B]]</answer>"
    task: ClassVar[str] = "pairwise"
    templates: ClassVar[tuple[str, ...]] = ("rmr1",)
    verdict_format: ClassVar[Format | None] = RMR1

    def prompt(self, sample: Sample, swapped: bool) -> Prompt:
        """Render the chain-of-rubrics template for one order."""
        a, b = shown_pair(sample, swapped, self.name)
        return render(
            "rmr1", question=sample.prompt, response_a=a, response_b=b, instructions=INSTRUCTIONS,
            principles=list(self.config.principles),
        )

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """One batched call over all samples and orders, then combine the orders."""
        order = orders(self.config)
        groups = [[self.prompt(s, sw) for sw in order] for s in samples]
        reasons = too_long_reasons(groups, runner, self.config.max_new_tokens)
        keep = [i for i, r in enumerate(reasons) if r is None]
        results = iter(run_turn([p for i in keep for p in groups[i]], runner, RMR1, self.config, "chain-of-rubrics"))
        out: dict[int, Judgment] = {i: skipped(samples[i].id, r) for i, r in enumerate(reasons) if r}
        for i in keep:
            rs = [next(results) for _ in order]
            pair = combine_pair([r.parsed for r in rs], order, self.config.inconsistency)
            per_order = tuple(
                {**rec, "task_type": _first_type(r.turn.parsed)} for rec, r in zip(pair.per_order, rs, strict=True)
            )
            out[i] = Judgment(
                sample_id=samples[i].id, verdict=pair.label, reward=pair.reward, per_order=per_order,
                probs=pair.probs, parse_failure=pair.failure is not None, failure_reason=pair.failure,
                consistent=pair.consistent, trace=tuple(r.turn for r in rs), extra=principles_extra(self.config),
            )
        return [out[i] for i in range(len(samples))]


def _first_type(info: Any) -> str | None:
    raw = (info or {}).get("raw") or [""]
    return task_type(raw[0])
