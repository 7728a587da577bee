"""Commit-first grading: the judge answers the question itself before it sees any candidate.

Turn 1 (``commit_answer``) shows only the question; the judge solves it and ends with
``Answer: ...``. Turn 2 continues the same conversation with the candidate(s) and asks
for the usual constrained verdict, the judge's own answer serving as its reference:

* ``commit-first``: verification *without* a reference answer (a reference in the
  data is not shown; the judgment records ``reference_shown: false``);
  ``Reasoning: ...`` then ``Verdict: correct|incorrect``;
* ``commit-first-pairwise``: ``Verdict: [[A|B|tie]]``, in both orders by default; the
  committed answer is generated once per item and shared by both orders.

Turn 1 may use ``--option answer_tokens=N`` tokens (default 192). Its ``Answer:`` line
is recorded (``extra["committed_answer"]``, ``None`` when the judge wrote none); a
missing line is not a failure: turn 2 still runs and the verdict is read as usual.
Both turns are in the trace. Turn 2 supports ``--method logit``.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar

from judgekit.core.errors import ConfigError
from judgekit.core.formats import PAIRWISE, VERIFY, Format
from judgekit.core.prompts import render
from judgekit.core.runner import Runner
from judgekit.core.types import Judgment, Prompt, Sample
from judgekit.protocols.base import Protocol
from judgekit.protocols.multiturn import Step, combine_pair, continue_chat, generate_step, orders, shown_pair
from judgekit.protocols.single import TurnResult, instructions_for, run_turn, skipped, too_long_reasons
from judgekit.protocols.verify import verify_judgment

DEFAULT_ANSWER_TOKENS = 192
_ANSWER = re.compile(r"^\W*answer\W*?:[\s*_]*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)

COMMIT_VERIFY = replace(
    VERIFY, name="commit-verify",
    instructions=(
        "First write one line starting with 'Reasoning:' that checks whether the candidate's final "
        "answer matches your own answer. Then write a final line 'Verdict: correct' or 'Verdict: incorrect'."
    ),
)


def committed_answer(text: str) -> str | None:
    """The last ``Answer: ...`` line of turn 1, or ``None``."""
    found = _ANSWER.findall(text)
    return found[-1] if found else None


def _answer_dict(answer: str | None) -> dict[str, Any]:
    return {"answer": answer} if answer is not None else {"answer": None, "reason": "no 'Answer:' line"}


class _CommitFirst(Protocol):
    """Turn 1 (own answer) shared by the verification and pairwise variants."""

    option_names: ClassVar[tuple[str, ...]] = ("answer_tokens",)

    methods: ClassVar[tuple[str, ...]] = ("generative", "logit")
    fmt: ClassVar[Format]

    def answer_tokens(self) -> int:
        """``--option answer_tokens=N`` (default 192)."""
        raw = self.config.option("answer_tokens", DEFAULT_ANSWER_TOKENS)
        try:
            value = int(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"--option answer_tokens={raw!r}: expected a whole number") from exc
        if not 8 <= value <= 4096:
            raise ConfigError(f"--option answer_tokens={value}: must be between 8 and 4096")
        return value

    def check(self) -> None:
        """Validate the method and ``answer_tokens``."""
        super().check()
        self.answer_tokens()

    def first_prompt(self, sample: Sample) -> Prompt:
        """Turn 1: the question alone."""
        return render("commit_answer", question=sample.prompt, principles=list(self.config.principles))

    @abstractmethod
    def second(self, sample: Sample, swapped: bool) -> Prompt:
        """Turn 2's own message(s) (rendered alone; joined to turn 1 by :func:`continue_chat`)."""

    def run_turns(self, samples: Sequence[Sample], runner: Runner) -> list[tuple[Step, list[TurnResult]] | str]:
        """Both turns for every sample (and order); a sample that cannot fit gives its reason."""
        order = orders(self.config) if self.fmt is PAIRWISE else (False,)
        firsts = [self.first_prompt(s) for s in samples]
        seconds = [[self.second(s, sw) for sw in order] for s in samples]
        budget = self.answer_tokens() + self.config.max_new_tokens
        reasons = too_long_reasons(
            [[continue_chat(f, "", s2) for s2 in group] for f, group in zip(firsts, seconds, strict=True)],
            runner, budget,
        )
        keep = [i for i, r in enumerate(reasons) if r is None]
        steps = generate_step([firsts[i] for i in keep], [None] * len(keep), runner, self.config, committed_answer,
                              "commit", _answer_dict, max_new_tokens=self.answer_tokens())
        turn2 = [continue_chat(firsts[i], step.output, s2) for i, step in zip(keep, steps, strict=True)
                 for s2 in seconds[i]]
        results = iter(run_turn(turn2, runner, self.fmt, self.config, "verdict"))
        by_index = dict(zip(keep, steps, strict=True))
        out: list[tuple[Step, list[TurnResult]] | str] = []
        for i, reason in enumerate(reasons):
            out.append(reason if reason is not None else (by_index[i], [next(results) for _ in order]))
        return out


class CommitFirstProtocol(_CommitFirst):
    """Reference-free verification: own answer first, then the candidate -> correct / incorrect."""

    name: ClassVar[str] = "commit-first"
    description: ClassVar[str] = "commit-first: judge answers the question itself, then verifies the candidate"
    task: ClassVar[str] = "verify"
    templates: ClassVar[tuple[str, ...]] = ("commit_answer", "commit_verify")
    verdict_format: ClassVar[Format | None] = COMMIT_VERIFY
    fmt: ClassVar[Format] = COMMIT_VERIFY

    def second(self, sample: Sample, swapped: bool) -> Prompt:
        """Turn 2: the candidate and the verdict instructions."""
        instructions, prefix = instructions_for(COMMIT_VERIFY, self.config)
        return render("commit_verify", assistant_prefix=prefix, response=sample.responses[0],
                      instructions=instructions)

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """Own answer for every sample in one call, then every verdict in one call."""
        out: list[Judgment] = []
        for sample, done in zip(samples, self.run_turns(samples, runner), strict=True):
            if isinstance(done, str):
                out.append(skipped(sample.id, done))
                continue
            step, (r,) = done
            extra = {"committed_answer": step.parsed, "reference_shown": False}
            out.append(verify_judgment(sample.id, r.parsed, (step.turn, r.turn), extra))
        return out


class CommitFirstPairwiseProtocol(_CommitFirst):
    """Pairwise: own answer first, then both responses in both orders."""

    name: ClassVar[str] = "commit-first-pairwise"
    description: ClassVar[str] = "commit-first: judge answers the question itself, then compares A vs B"
    task: ClassVar[str] = "pairwise"
    templates: ClassVar[tuple[str, ...]] = ("commit_answer", "commit_pairwise")
    verdict_format: ClassVar[Format | None] = PAIRWISE
    fmt: ClassVar[Format] = PAIRWISE

    def second(self, sample: Sample, swapped: bool) -> Prompt:
        """Turn 2 for one order."""
        a, b = shown_pair(sample, swapped, self.name)
        instructions, prefix = instructions_for(PAIRWISE, self.config)
        return render("commit_pairwise", assistant_prefix=prefix, response_a=a, response_b=b,
                      instructions=instructions)

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """Own answer once per sample, then both orders' verdicts, combined."""
        order = orders(self.config)
        out: list[Judgment] = []
        for sample, done in zip(samples, self.run_turns(samples, runner), strict=True):
            if isinstance(done, str):
                out.append(skipped(sample.id, done))
                continue
            step, rs = done
            pair = combine_pair([r.parsed for r in rs], order, self.config.inconsistency)
            out.append(Judgment(
                sample_id=sample.id, verdict=pair.label, reward=pair.reward, per_order=pair.per_order,
                probs=pair.probs, parse_failure=pair.failure is not None, failure_reason=pair.failure,
                consistent=pair.consistent, trace=(step.turn, *(r.turn for r in rs)),
                extra={"committed_answer": step.parsed},
            ))
        return out
