"""Self-principled critique judging (DeepSeek-GRM SPCT, arXiv:2504.02495).

One generation per order: weighted principles for this prompt, a critique of every
response against them, then an integer score 1-10 per response::

    Principles: Correctness (50%); Following the format (30%); Clarity (20%)
    Critique: Response 1 computes 75+48 correctly ... Response 2 adds wrongly ...
    Scores: [8, 3]

Works for two or more responses. The parsed result is a plain
:class:`~judgekit.core.types.Verdict` whose ``scores`` hold one integer per response (and
whose label is the best response's letter, or ``tie`` for equal top scores), so a
k-sample reducer can simply sum or average the scores. Score parsing is strict: the
count, the range 1-10, integrality and nothing after the closing bracket.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, ClassVar

from judgekit.core.aggregate import pairwise_reward
from judgekit.core.errors import ConfigError
from judgekit.core.formats import Format
from judgekit.core.prompts import render
from judgekit.core.runner import Runner
from judgekit.core.types import Judgment, Parsed, ParseFailure, Prompt, Sample, Verdict, parsed_to_dict
from judgekit.protocols.base import Protocol
from judgekit.protocols.multiturn import orders, principles_extra, run_turn_grouped
from judgekit.protocols.pointwise import scores_to_verdict
from judgekit.protocols.single import skipped, too_long_reasons

SCORE_RE = r"(10|[1-9])"
# Bounded lines keep the constrained worst case inside ~160 new tokens.
PRINCIPLES_RE = r"[^\n\[\]]{1,160}"
CRITIQUE_RE = r"[^\n\[\]]{1,200}"
_SECTION = re.compile(r"^\s*\**(principles|critique|scores)\**\s*:", re.IGNORECASE | re.MULTILINE)
_SCORES = re.compile(r"scores\s*:\s*\[([^\[\]]*)\]", re.IGNORECASE)
_WEIGHT = re.compile(r"\(\s*(?:weight\s*)?(\d+(?:\.\d+)?)\s*%?\s*\)")


def instructions(n: int) -> str:
    """Build the instructions for ``n`` responses."""
    example = ", ".join(f"s{i}" for i in range(1, n + 1))
    return (
        "Write exactly three lines.\n"
        "Line 1 starts with 'Principles:' and lists 2-4 principles for judging this prompt, separated by "
        "';', each with a weight in percent, e.g. 'Principles: Correctness (50%); Clarity (30%); Brevity (20%)'.\n"
        "Line 2 starts with 'Critique:' and checks each response against those principles.\n"
        f"Line 3 is 'Scores: [{example}]' with one integer from 1 to 10 per response, in order "
        f"(Response 1 first). Give equal scores only when the responses are equally good."
    )


def parse_spct(text: str, n: int) -> Parsed:
    """Strictly read ``Principles:``, ``Critique:`` and ``Scores: [s1, ..., sn]``."""
    sections = {m.group(1).lower() for m in _SECTION.finditer(text)}
    for needed in ("principles", "critique"):
        if needed not in sections:
            return ParseFailure(reason=f"no '{needed.capitalize()}:' line", raw=text)
    found = list(_SCORES.finditer(text))
    if not found:
        reason = "scores list not closed (truncated?)" if "scores" in sections else "no 'Scores: [...]' line"
        return ParseFailure(reason=reason, raw=text)
    if len(found) > 1:
        return ParseFailure(reason=f"{len(found)} score lists", raw=text)
    last = found[-1]
    if text[last.end():].strip():
        return ParseFailure(reason="text after the scores", raw=text)
    items = [s.strip() for s in last.group(1).split(",")]
    if len(items) != n or not all(items):
        return ParseFailure(reason=f"expected {n} scores, got {len([s for s in items if s])}", raw=text)
    scores = []
    for item in items:
        if not re.fullmatch(r"-?\d+", item):
            return ParseFailure(reason=f"score {item!r} is not an integer", raw=text)
        value = int(item)
        if not 1 <= value <= 10:
            return ParseFailure(reason=f"score {value} out of range 1-10", raw=text)
        scores.append(float(value))
    return Verdict(label=scores_to_verdict(scores), scores=tuple(scores))


def parse_parts(text: str) -> dict[str, Any]:
    """Extract the principles (with weights where written) and critique text for the output record."""
    out: dict[str, Any] = {"principles": [], "critique": None}
    for line in text.splitlines():
        head, sep, body = line.partition(":")
        key = head.strip().strip("*").lower()
        if not sep:
            continue
        if key == "principles":
            for part in (p.strip() for p in body.split(";")):
                if not part:
                    continue
                m = _WEIGHT.search(part)
                name = (part[: m.start()] + part[m.end():]).strip() if m else part
                out["principles"].append({"text": name, "weight": float(m.group(1)) if m else None})
        elif key == "critique" and out["critique"] is None:
            out["critique"] = body.strip()
    return out


@lru_cache(maxsize=16)
def spct_format(n: int) -> Format:
    """Build the SPCT format for ``n`` responses (constraint, instructions and strict parser)."""
    if n < 2:
        raise ConfigError(f"spct needs 2 or more responses, got {n}")
    scores = ", ".join([SCORE_RE] * n)
    return Format(
        name=f"spct-{n}",
        labels=(*(chr(ord("A") + i) for i in range(n)), "tie"),
        instructions=instructions(n),
        logit_instructions="",
        regex=rf"Principles: {PRINCIPLES_RE}\nCritique: {CRITIQUE_RE}\nScores: \[{scores}\]",
        parser=lambda text: parse_spct(text, n),
    )


def unreverse(parsed: Parsed, n: int) -> Parsed:
    """Map a verdict on the reversed response order back to the original order."""
    if not isinstance(parsed, Verdict):
        return parsed
    scores = tuple(reversed(parsed.scores)) if parsed.scores is not None else None

    def back(label: str) -> str:
        return chr(ord("A") + n - 1 - (ord(label) - ord("A"))) if len(label) == 1 and label.isupper() else label

    probs = {back(k): v for k, v in parsed.probs.items()} if parsed.probs is not None else None
    label = scores_to_verdict(scores) if scores else (back(parsed.label) if parsed.label else None)
    return Verdict(label=label, scores=scores, probs=probs)


def combine_scores(
    parsed: Sequence[Parsed], policy: str
) -> tuple[str | None, tuple[float, ...] | None, bool | None, str | None]:
    """``(label, mean scores, consistent, failure)`` over orders already in original terms."""
    failures = [p.reason for p in parsed if isinstance(p, ParseFailure)]
    if failures:
        return None, None, None, "; ".join(failures)
    verdicts = [p for p in parsed if isinstance(p, Verdict)]
    all_scores = [v.scores for v in verdicts if v.scores is not None]
    if len(all_scores) != len(verdicts) or len({len(s) for s in all_scores}) != 1:
        return None, None, None, "scores missing or of different lengths across orders"
    mean = tuple(sum(col) / len(all_scores) for col in zip(*all_scores, strict=True))
    if len(verdicts) == 1:
        return verdicts[0].label, mean, None, None
    consistent = len({v.label for v in verdicts}) == 1
    if consistent:
        return verdicts[0].label, mean, True, None
    label = {"first": verdicts[0].label, "average": scores_to_verdict(mean)}.get(policy, "tie")
    return label, mean, False, None


class SPCTProtocol(Protocol):
    """Principles, critique and integer scores for every response; both orders by default."""

    name: ClassVar[str] = "spct"
    description: ClassVar[str] = "DeepSeek-GRM self-principled critique: principles, critique, 1-10 score per response"
    task: ClassVar[str] = "pairwise"
    templates: ClassVar[tuple[str, ...]] = ("spct",)
    verdict_format: ClassVar[Format | None] = spct_format(2)  # the pairwise case; n responses use spct_format(n)
    scored: ClassVar[bool] = True

    def prompt(self, sample: Sample, swapped: bool) -> Prompt:
        """Render the SPCT template for one order (swapped = responses reversed)."""
        spct_format(len(sample.responses))  # validates the count
        responses = list(reversed(sample.responses)) if swapped else list(sample.responses)
        return render(
            "spct", question=sample.prompt, responses=responses,
            instructions=instructions(len(responses)), principles=list(self.config.principles),
        )

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """Score every sample in one or both orders (one batched call) and combine."""
        order = orders(self.config)
        groups = [[self.prompt(s, sw) for sw in order] for s in samples]
        reasons = too_long_reasons(groups, runner, self.config.max_new_tokens)
        keep = [i for i, r in enumerate(reasons) if r is None]
        flat = [p for i in keep for p in groups[i]]
        fmts = [spct_format(len(samples[i].responses)) for i in keep for _ in order]
        results = iter(run_turn_grouped(flat, fmts, runner, self.config, "critique"))
        out: dict[int, Judgment] = {i: skipped(samples[i].id, r) for i, r in enumerate(reasons) if r}
        for i in keep:
            n = len(samples[i].responses)
            rs = [next(results) for _ in order]
            plain = [unreverse(r.parsed, n) if sw else r.parsed for r, sw in zip(rs, order, strict=True)]
            label, scores, consistent, failure = combine_scores(plain, self.config.inconsistency)
            per_order = tuple(
                _order_record(sw, p, r.turn.parsed, n) for sw, p, r in zip(order, plain, rs, strict=True)
            )
            reward = pairwise_reward(label, None) if n == 2 and failure is None else None
            out[i] = Judgment(
                sample_id=samples[i].id, verdict=label, reward=reward, per_order=per_order, scores=scores,
                parse_failure=failure is not None, failure_reason=failure, consistent=consistent,
                trace=tuple(r.turn for r in rs), extra=principles_extra(self.config),
            )
        return [out[i] for i in range(len(samples))]


def _order_record(swapped: bool, parsed: Parsed, turn_info: Mapping[str, Any] | None, n: int) -> dict[str, Any]:
    raw = (turn_info or {}).get("raw") or [""]
    parts = parse_parts(raw[0])
    if swapped:
        parts["critique_note"] = f"responses were shown in reverse order (Response 1 = original {chr(64 + n)})"
    return {"order": "reversed" if swapped else "original", **parsed_to_dict(parsed), **parts}
