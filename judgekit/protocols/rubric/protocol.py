"""Rubric-conditioned pairwise judging (OpenRubrics).

The judge checks the hard rules first (gatekeepers), then every principle, then
gives the verdict, one line each::

    H1: A=pass B=fail
    P1: A
    P2: tie
    Reasoning: B ignores the required format.
    Verdict: [[A]]

Rubric sources, in order of precedence:

* ``--option rubric=generate``: a rubric is generated per prompt on the fly from the
  prompt and both responses (no labels), recorded as the first turn;
* ``--option rubric_dir=DIR``: per-sample rubrics saved by ``judgekit rubrics generate``.
  Those were kept because judging the item with them reproduced its gold label, so
  judging the *same* items with them is correct by construction: such an overlap is
  refused (:class:`~judgekit.core.errors.ConfigError`) unless
  ``--option allow_label_rubrics=true``, and then flagged in the run's warnings and in
  each judgment (``extra["rubric_from_own_label"]``). An item without a rubric file
  is skipped (``extra["skipped"]``), not a parse failure;
* ``--rubric FILE`` (a rubric YAML, bundled name, or text) for the whole run.

The verdict is the model's; the item lines are parsed strictly (every item exactly
once) and recorded with the verdict they imply (``items_verdict``: hard-rule gate,
then weighted principles), so a verdict that contradicts its own checks is visible.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from judgekit.core.errors import ConfigError
from judgekit.core.formats import Format, parse_pairwise
from judgekit.core.prompts import render
from judgekit.core.runner import Runner
from judgekit.core.types import Judgment, Parsed, ParseFailure, Prompt, Sample, Turn
from judgekit.protocols.base import JudgeConfig, Protocol
from judgekit.protocols.multiturn import combine_pair, orders, principles_extra, run_turn_grouped, shown_pair
from judgekit.protocols.rubric.generate import generate_candidates
from judgekit.protocols.rubric.listwise import RubricListwiseProtocol, listwise_requested
from judgekit.protocols.rubric.schema import Rubric, RubricItem, parse_rubric_text
from judgekit.protocols.rubric.sources import NoRubric, label_rubric_warnings, own_label, rubric_from_dir
from judgekit.protocols.single import skipped, too_long_reasons

FREE_TEXT_ITEM = RubricItem("The response meets the rubric above.")
TOKENS_PER_ITEM = 12
REASONING_LINE_RE = r"[^\n\[\]]{1,160}"
_HARD = re.compile(r"^\s*H(\d+)\s*[:.]\s*A\s*=\s*(pass|fail)\s*[,;]?\s*B\s*=\s*(pass|fail)\s*$", re.IGNORECASE)
_PRIN = re.compile(r"^\s*P(\d+)\s*[:.]\s*(A|B|tie)\s*$", re.IGNORECASE)
_ITEM_START = re.compile(r"^\s*([HP])(\d+)\s*[:.]", re.IGNORECASE)


@dataclass(frozen=True)
class RubricChecks:
    """Per-item results: ``hard[i] = (A passes, B passes)``, ``principles[j]`` in A/B/tie."""

    hard: tuple[tuple[bool, bool], ...]
    principles: tuple[str, ...]

    def swapped(self) -> RubricChecks:
        """Return the same checks with A and B exchanged (for the swapped order)."""
        flip = {"A": "B", "B": "A", "tie": "tie"}
        return RubricChecks(tuple((b, a) for a, b in self.hard), tuple(flip[p] for p in self.principles))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return {
            "hard_rules": [{"A": "pass" if a else "fail", "B": "pass" if b else "fail"} for a, b in self.hard],
            "principles": list(self.principles),
        }


def judge_items(rubric: Rubric) -> tuple[tuple[RubricItem, ...], tuple[RubricItem, ...]]:
    """Return the hard rules and principles the judge answers (a free-text rubric is one principle)."""
    if rubric.structured:
        return rubric.hard_rules, rubric.principles
    return (), (FREE_TEXT_ITEM,)


def parse_checks(text: str, n_hard: int, n_principles: int) -> RubricChecks | ParseFailure:
    """Strictly read ``H<i>: A=pass|fail B=pass|fail`` and ``P<j>: A|B|tie``, each exactly once."""
    hard: dict[int, tuple[bool, bool]] = {}
    prin: dict[int, str] = {}
    for line in text.splitlines():
        start = _ITEM_START.match(line)
        if not start:
            continue
        kind, idx = start.group(1).upper(), int(start.group(2))
        m = (_HARD if kind == "H" else _PRIN).match(line)
        limit = n_hard if kind == "H" else n_principles
        if not m:
            return ParseFailure(reason=f"malformed item line {line.strip()[:50]!r}", raw=text)
        if not 1 <= idx <= limit:
            return ParseFailure(reason=f"unknown item {kind}{idx} (rubric has {limit})", raw=text)
        store: dict[int, Any] = hard if kind == "H" else prin
        if idx in store:
            return ParseFailure(reason=f"item {kind}{idx} answered twice", raw=text)
        if kind == "H":
            hard[idx] = (m.group(2).lower() == "pass", m.group(3).lower() == "pass")
        else:
            prin[idx] = {"a": "A", "b": "B", "tie": "tie"}[m.group(2).lower()]
    missing = [f"H{i}" for i in range(1, n_hard + 1) if i not in hard]
    missing += [f"P{j}" for j in range(1, n_principles + 1) if j not in prin]
    if missing:
        return ParseFailure(reason=f"no line for item(s) {', '.join(missing)}", raw=text)
    return RubricChecks(tuple(hard[i] for i in sorted(hard)), tuple(prin[j] for j in sorted(prin)))


def items_verdict(checks: RubricChecks, hard: Sequence[RubricItem], principles: Sequence[RubricItem]) -> str:
    """Verdict implied by the checks: fewer (weighted) hard-rule failures wins, else weighted principles."""
    fail_a = sum(r.weight for r, (a, _) in zip(hard, checks.hard, strict=True) if not a)
    fail_b = sum(r.weight for r, (_, b) in zip(hard, checks.hard, strict=True) if not b)
    if fail_a != fail_b:
        return "A" if fail_a < fail_b else "B"
    score = sum(p.weight * {"A": 1, "B": -1, "tie": 0}[c] for p, c in zip(principles, checks.principles, strict=True))
    return "A" if score > 0 else "B" if score < 0 else "tie"


def instructions(n_hard: int, n_principles: int) -> str:
    """Build the judge instructions for a rubric of this size."""
    lines = []
    if n_hard:
        lines.append(f"First, for each hard rule H1..H{n_hard}, one line 'H<i>: A=pass B=fail' (pass or fail for "
                     "each response).")
    lines.append(f"Then, for each principle P1..P{n_principles}, one line 'P<j>: A', 'P<j>: B' or 'P<j>: tie' "
                 "(which response satisfies it better).")
    lines.append("Then one line 'Reasoning: ...' and a final line 'Verdict: [[A]]', 'Verdict: [[B]]' or "
                 "'Verdict: [[tie]]'. A response that fails a hard rule the other passes loses.")
    return "\n".join(lines)


@lru_cache(maxsize=64)
def rubric_format(n_hard: int, n_principles: int) -> Format:
    """Constraint + strict parser for a rubric with this many hard rules and principles."""
    hard = "".join(rf"H{i}: A=(pass|fail) B=(pass|fail)\n" for i in range(1, n_hard + 1))
    prin = "".join(rf"P{j}: (A|B|tie)\n" for j in range(1, n_principles + 1))

    def parse(text: str) -> Parsed:
        checks = parse_checks(text, n_hard, n_principles)
        return checks if isinstance(checks, ParseFailure) else parse_pairwise(text)

    return Format(
        name=f"rubric-{n_hard}-{n_principles}", labels=("A", "B", "tie"),
        instructions=instructions(n_hard, n_principles), logit_instructions="",
        regex=rf"{hard}{prin}Reasoning: {REASONING_LINE_RE}\nVerdict: \[\[(A|B|tie)\]\]", parser=parse,
    )


class RubricProtocol(Protocol):
    """Judge a pair against a rubric: hard rules, then principles, then the verdict; both orders."""

    name: ClassVar[str] = "rubric"
    option_names: ClassVar[tuple[str, ...]] = (
        "rubric", "rubric_dir", "allow_label_rubrics", "rubric_tokens", "listwise")
    description: ClassVar[str] = "OpenRubrics rubric judge: hard rules then principles (--rubric FILE or generated)"
    task: ClassVar[str] = "pairwise"
    templates: ClassVar[tuple[str, ...]] = ("rubric_judge", "rubric_generate")

    @classmethod
    def variant(cls, config: JudgeConfig) -> type[Protocol]:
        """``--option listwise=true``: the listwise rubric judge (N responses, one ranking)."""
        return RubricListwiseProtocol if listwise_requested(config) else cls

    def check(self) -> None:
        """Require a rubric source: ``--rubric``, ``rubric=generate`` or ``rubric_dir=DIR``."""
        super().check()
        mode = self.config.option("rubric")
        if mode is not None and mode != "generate":
            raise ConfigError(f"--option rubric={mode!r}: the only value is 'generate' (use --rubric FILE)")
        if mode is None and not self.config.option("rubric_dir") and not self.config.rubric:
            raise ConfigError("protocol 'rubric' needs --rubric FILE, --option rubric=generate or "
                              "--option rubric_dir=DIR")

    def prompt(self, sample: Sample, rubric: Rubric, swapped: bool) -> Prompt:
        """Render the rubric judge for one order."""
        a, b = shown_pair(sample, swapped, self.name)
        hard, prin = judge_items(rubric)
        as_vars = [{"text": i.text, "weight": _num(i.weight)} for i in hard]
        return render(
            "rubric_judge", question=sample.prompt, response_a=a, response_b=b, hard_rules=as_vars,
            rubric_principles=[{"text": i.text, "weight": _num(i.weight)} for i in prin],
            rubric_text="" if rubric.structured else (rubric.text or ""),
            instructions=instructions(len(hard), len(prin)), principles=list(self.config.principles),
        )

    def check_samples(self, samples: Sequence[Sample]) -> list[str]:
        """Refuse (or, when allowed, warn about) items whose rubric was filtered against their own label."""
        return [*super().check_samples(samples), *label_rubric_warnings(self.config, samples)]

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """Find (or generate) each sample's rubric, then judge all samples in one batch."""
        self.check()
        self.check_samples(samples)
        pre: list[Turn | None] = [None] * len(samples)
        rubrics: list[Rubric | str | NoRubric]
        if self.config.option("rubric") == "generate":
            gen = generate_candidates(samples, runner, self.config, labeled=False)
            rubrics = [r if isinstance(r, Rubric) else f"rubric generation failed: {r.reason}" for r, _ in gen]
            pre = [t for _, t in gen]
        elif self.config.option("rubric_dir"):
            rubrics = [rubric_from_dir(Path(self.config.option("rubric_dir")), s) for s in samples]
        else:
            whole = parse_rubric_text(self.config.rubric or "", name="run rubric")
            rubrics = [whole] * len(samples)
        return self.judge_with(samples, rubrics, runner, pre)

    def judge_with(
        self, samples: Sequence[Sample], rubrics: Sequence[Rubric | str | NoRubric], runner: Runner,
        pre_turns: Sequence[Turn | None] | None = None,
    ) -> list[Judgment]:
        """Judge each sample with its own rubric.

        A string entry is why generating one failed (a parse failure); a
        :class:`NoRubric` entry (no usable rubric file) makes the item skipped.
        """
        order = orders(self.config)
        pre = list(pre_turns) if pre_turns is not None else [None] * len(samples)
        out: dict[int, Judgment] = {}
        usable = []
        for i, rub in enumerate(rubrics):
            if isinstance(rub, Rubric):
                usable.append(i)
            elif isinstance(rub, NoRubric):
                out[i] = skipped(samples[i].id, rub.reason)
            else:
                out[i] = Judgment(sample_id=samples[i].id, verdict=None, reward=None, parse_failure=True,
                                  failure_reason=rub, trace=tuple(t for t in (pre[i],) if t),
                                  extra=principles_extra(self.config))
        groups = {i: [self.prompt(samples[i], rubrics[i], sw) for sw in order] for i in usable}  # type: ignore[arg-type]
        sizes = {i: tuple(map(len, judge_items(rubrics[i]))) for i in usable}  # type: ignore[arg-type]
        reasons = too_long_reasons([groups[i] for i in usable], runner, self.config.max_new_tokens)
        keep = [i for i, why in zip(usable, reasons, strict=True) if why is None]
        out.update({i: skipped(samples[i].id, why) for i, why in zip(usable, reasons, strict=True) if why})
        fmts = [rubric_format(*sizes[i]) for i in keep for _ in order]
        results = iter(run_turn_grouped(
            [p for i in keep for p in groups[i]], fmts, runner, self.config, "rubric-judge",
            budget=lambda f: self.config.max_new_tokens + TOKENS_PER_ITEM * _item_count(f),
        ))
        for i in keep:
            rubric = rubrics[i]
            assert isinstance(rubric, Rubric)
            rs = [next(results) for _ in order]
            pair = combine_pair([r.parsed for r in rs], order, self.config.inconsistency)
            hard, prin = judge_items(rubric)
            per_order = []
            for rec, res, sw in zip(pair.per_order, rs, order, strict=True):
                checks = parse_checks(((res.turn.parsed or {}).get("raw") or [""])[0], len(hard), len(prin))
                if isinstance(checks, RubricChecks):
                    plain = checks.swapped() if sw else checks
                    rec = {**rec, "items": plain.to_dict(), "items_verdict": items_verdict(plain, hard, prin)}
                per_order.append(rec)
            out[i] = Judgment(
                sample_id=samples[i].id, verdict=pair.label, reward=pair.reward, per_order=tuple(per_order),
                probs=pair.probs, parse_failure=pair.failure is not None, failure_reason=pair.failure,
                consistent=pair.consistent, trace=tuple(t for t in (pre[i], *(r.turn for r in rs)) if t),
                extra={**principles_extra(self.config), "rubric": rubric.to_dict(),
                       **({"rubric_from_own_label": True} if own_label(rubric, samples[i]) else {})},
            )
        return [out[i] for i in range(len(samples))]


def _num(weight: float) -> int | float:
    return int(weight) if float(weight).is_integer() else weight


def _item_count(fmt: Format) -> int:
    """Items a ``rubric-<hard>-<principles>`` format asks for."""
    return sum(int(x) for x in fmt.name.split("-")[1:])
