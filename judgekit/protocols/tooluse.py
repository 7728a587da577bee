r"""Tool-augmented judging (Themis, "Tool-Augmented Reward Modeling", arXiv:2310.01045).

The judge reasons in free text and may call tools inside it::

    The candidate computes 48/2 <calc>48/2</calc>
    <result>24</result>
    and then 24+48 <calc>24+48</calc>
    <result>72</result>
    which matches the reference.

judgekit stops generation at each closing tag, runs the tool, appends the result
and lets the judge continue (:mod:`judgekit.tools.loop`), up to
``--option max_tool_calls=N`` calls (default 4). The verdict is then a separate
turn continuing the same assistant text, constrained to one verdict line
(``Verdict: correct|incorrect`` or ``Verdict: [[A|B|tie]]``) or read from the
next-token distribution (``--method logit``). Options:

* ``tools=calc`` (default) or ``tools=calc,python``: which tools the judge may call;
  ``python`` runs model-written code in the OS sandbox of :mod:`judgekit.tools.sandbox`
  (bubblewrap + seccomp) and is refused, as a configuration error, where it cannot run;
* ``python_cpu=S``, ``python_wall=S``, ``python_mem_mb=M``: the program limits.

Each segment may use ``max_new_tokens`` tokens. Every call, its result and each
segment are in the trace (turn ``tool-reasoning``); ``extra`` counts the executed
calls and the tool errors. A tool error is a result like any other, never a crash.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from judgekit.core.errors import ConfigError
from judgekit.core.formats import PAIRWISE, VERIFY, Format, parse_pairwise, parse_verify
from judgekit.core.prompts import render
from judgekit.core.runner import Runner
from judgekit.core.types import Judgment, Prompt, Sample
from judgekit.protocols.base import Protocol
from judgekit.protocols.multiturn import combine_pair, orders, principles_extra, shown_pair
from judgekit.protocols.single import run_turn, skipped, too_long_reasons
from judgekit.protocols.verify import verify_judgment
from judgekit.tools import Tool, ToolError, get_tools
from judgekit.tools.loop import VERDICT_MARK, Transcript, continued, run_tool_loop
from judgekit.tools.pyrunner import PythonLimits, sandbox_info

DEFAULT_MAX_CALLS = 4
RESULT_TOKENS = 160  # context reserved per call for its result (results are cut at 400 characters)
VERDICT_TOKENS = 16
EXAMPLE = "48/2 = <calc>48/2</calc>\n<result>24</result>"

VERIFY_LINE = Format(
    name="verify-line", labels=VERIFY.labels, instructions="", logit_instructions="",
    regex=r"Verdict: (correct|incorrect)", parser=parse_verify,
    logit_prefix=VERIFY.logit_prefix, logit_choices=VERIFY.logit_choices,
)
PAIRWISE_LINE = Format(
    name="pairwise-line", labels=PAIRWISE.labels, instructions="", logit_instructions="",
    regex=r"Verdict: \[\[(A|B|tie)\]\]", parser=parse_pairwise,
    logit_prefix=PAIRWISE.logit_prefix, logit_choices=PAIRWISE.logit_choices,
)


def _int_option(proto: Protocol, name: str, default: int, low: int, high: int) -> int:
    raw = proto.config.option(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"--option {name}={raw!r}: expected a whole number") from exc
    if not low <= value <= high:
        raise ConfigError(f"--option {name}={value}: must be between {low} and {high}")
    return value


class _ToolProtocol(Protocol):
    """Shared machinery: tool options, prompts with the tool list, the loop and the verdict turn."""

    option_names: ClassVar[tuple[str, ...]] = (
        "tools", "python_cpu", "python_wall", "python_mem_mb", "max_tool_calls")

    methods: ClassVar[tuple[str, ...]] = ("generative", "logit")
    line_format: ClassVar[Format]

    def tool_names(self) -> tuple[str, ...]:
        """``--option tools=calc,python`` (default ``calc``)."""
        raw = self.config.option("tools", "calc")
        return tuple(t.strip() for t in str(raw).split(",") if t.strip())

    def limits(self) -> PythonLimits:
        """The ``<python>`` tool's limits from the options."""
        return PythonLimits(
            cpu_seconds=_int_option(self, "python_cpu", 2, 1, 60),
            wall_seconds=float(_int_option(self, "python_wall", 5, 1, 300)),
            memory_mb=_int_option(self, "python_mem_mb", 256, 64, 8192),
        )

    def max_calls(self) -> int:
        """``--option max_tool_calls=N`` (0 to 16)."""
        return _int_option(self, "max_tool_calls", DEFAULT_MAX_CALLS, 0, 16)

    def tools(self) -> tuple[Tool, ...]:
        """The configured tools."""
        try:
            return get_tools(self.tool_names(), self.limits())
        except ToolError as exc:
            raise ConfigError(f"--option tools: {exc}") from exc

    def check(self) -> None:
        """Validate the method and every tool option."""
        super().check()
        self.tools()
        self.max_calls()

    def decoding(self) -> dict[str, Any]:
        """The verdict turn's decoding plus the tool settings (recorded in the manifest)."""
        return {**super().decoding(), "tools": list(self.tool_names()), "max_tool_calls": self.max_calls(),
                "python_limits": vars(self.limits()) if "python" in self.tool_names() else None}

    def tool_vars(self) -> dict[str, Any]:
        """Template variables describing the tools."""
        return {"tools": [t.usage for t in self.tools()], "max_calls": self.max_calls(), "example": EXAMPLE,
                "principles": list(self.config.principles)}

    def budget(self) -> int:
        """Tokens a whole judgment may add to the prompt (every segment, result and the verdict)."""
        calls = self.max_calls()
        return (calls + 1) * self.config.max_new_tokens + (calls + 1) * RESULT_TOKENS + VERDICT_TOKENS

    def reason_and_decide(self, prompts: Sequence[Prompt], runner: Runner) -> list[tuple[Transcript, Any]]:
        """The tool loop over every prompt, then one verdict turn per prompt."""
        transcripts = run_tool_loop(prompts, runner, self.config.params(None), self.tools(), self.max_calls())
        verdict_prompts = []
        for p, t in zip(prompts, transcripts, strict=True):
            text = t.text if not t.text or t.text.endswith("\n") else t.text + "\n"
            if self.config.method == "logit":
                text += self.line_format.logit_prefix
            verdict_prompts.append(continued(p, text))
        results = run_turn(verdict_prompts, runner, self.line_format, self.config, "verdict",
                           max_new_tokens=VERDICT_TOKENS)
        return list(zip(transcripts, results, strict=True))

    def tool_extra(self, transcripts: Sequence[Transcript]) -> dict[str, Any]:
        """Per-judgment tool counts (and the sandbox description when python is on)."""
        extra: dict[str, Any] = {
            "tool_calls": sum(t.executed_calls() for t in transcripts),
            "tool_errors": sum(t.tool_errors() for t in transcripts),
            "tool_ends": [t.end for t in transcripts],
            **principles_extra(self.config),
        }
        if "python" in self.tool_names():
            extra["sandbox"] = sandbox_info()
        return extra


class ToolVerifyProtocol(_ToolProtocol):
    """Reference-based verification with ``<calc>``/``<python>`` calls in the reasoning."""

    name: ClassVar[str] = "tool-verify"
    description: ClassVar[str] = "verification with tool calls (calc, python) in the reasoning, then a verdict line"
    task: ClassVar[str] = "verify"
    templates: ClassVar[tuple[str, ...]] = ("tool_verify",)
    verdict_format: ClassVar[Format | None] = VERIFY_LINE
    line_format: ClassVar[Format] = VERIFY_LINE

    def prompt(self, sample: Sample) -> Prompt:
        """Render the tool-verification template."""
        if sample.reference is None:
            raise ConfigError(f"sample {sample.id}: verification needs a reference answer")
        return render("tool_verify", question=sample.prompt, reference=sample.reference,
                      response=sample.responses[0], **self.tool_vars())

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """Tool loop, then the verdict line, for every sample in one batch per round."""
        prompts = [self.prompt(s) for s in samples]
        reasons = too_long_reasons([[p] for p in prompts], runner, self.budget())
        keep = [i for i, r in enumerate(reasons) if r is None]
        done = iter(self.reason_and_decide([prompts[i] for i in keep], runner))
        out: list[Judgment] = []
        for sample, reason in zip(samples, reasons, strict=True):
            if reason is not None:
                out.append(skipped(sample.id, reason))
                continue
            transcript, r = next(done)
            out.append(verify_judgment(sample.id, r.parsed, (transcript.turn, r.turn), self.tool_extra([transcript])))
        return out


class ToolPairwiseProtocol(_ToolProtocol):
    """Pairwise judging with tool calls in the reasoning, in both orders by default."""

    name: ClassVar[str] = "tool-pairwise"
    description: ClassVar[str] = "A vs B with tool calls (calc, python) in the reasoning, both orders"
    task: ClassVar[str] = "pairwise"
    templates: ClassVar[tuple[str, ...]] = ("tool_pairwise",)
    verdict_format: ClassVar[Format | None] = PAIRWISE_LINE
    line_format: ClassVar[Format] = PAIRWISE_LINE

    def prompt(self, sample: Sample, swapped: bool) -> Prompt:
        """Render the tool-pairwise template for one order."""
        a, b = shown_pair(sample, swapped, self.name)
        return render("tool_pairwise", question=sample.prompt, response_a=a, response_b=b, **self.tool_vars())

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """Tool loop and verdict for every sample and order, then combine the orders."""
        order = orders(self.config)
        groups = [[self.prompt(s, sw) for sw in order] for s in samples]
        reasons = too_long_reasons(groups, runner, self.budget())
        keep = [i for i, r in enumerate(reasons) if r is None]
        done = iter(self.reason_and_decide([p for i in keep for p in groups[i]], runner))
        out: dict[int, Judgment] = {i: skipped(samples[i].id, r) for i, r in enumerate(reasons) if r}
        for i in keep:
            pairs = [next(done) for _ in order]
            pair = combine_pair([r.parsed for _, r in pairs], order, self.config.inconsistency)
            out[i] = Judgment(
                sample_id=samples[i].id, verdict=pair.label, reward=pair.reward, per_order=pair.per_order,
                probs=pair.probs, parse_failure=pair.failure is not None, failure_reason=pair.failure,
                consistent=pair.consistent, trace=tuple(turn for t, r in pairs for turn in (t.turn, r.turn)),
                extra=self.tool_extra([t for t, _ in pairs]),
            )
        return [out[i] for i in range(len(samples))]


__all__ = ["PAIRWISE_LINE", "VERDICT_MARK", "VERIFY_LINE", "ToolPairwiseProtocol", "ToolVerifyProtocol"]
