"""The tool loop: generate until a call closes, run the tool, append its result, continue.

Each round is one batched :meth:`Runner.generate` call over every transcript still
open, with the tools' closing tags (and the verdict marker) as stop strings. The
assistant turn is continued through ``Prompt.assistant_prefix``, so every round is an
ordinary cached call: a resumed run replays the rounds from the call cache and re-runs
only the (deterministic) tools. A transcript ends when the model stops without an open
call (it reached the verdict marker or its end of turn), when a segment runs out of
tokens, or when it opens a call after the budget is spent (that call is answered with
an ``error:`` result and not executed). The verdict itself is a separate, constrained
turn (see :mod:`judgekit.protocols.tooluse`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from judgekit.core.runner import Runner
from judgekit.core.types import GenerationParams, Prompt, Turn
from judgekit.tools import Tool, ToolResult

VERDICT_MARK = "Verdict:"


@dataclass(frozen=True)
class ToolCall:
    """One call as the model wrote it and the result it was shown."""

    tool: str
    source: str
    output: str
    ok: bool
    executed: bool


@dataclass(frozen=True)
class Transcript:
    """A finished reasoning turn: the assistant text with calls and results, and how it ended."""

    text: str
    calls: tuple[ToolCall, ...]
    end: str
    turn: Turn

    def executed_calls(self) -> int:
        """Calls that were run (a call past the budget is answered but not run)."""
        return sum(c.executed for c in self.calls)

    def tool_errors(self) -> int:
        """Calls whose result was an error (including a refused call past the budget)."""
        return sum(not c.ok for c in self.calls)


def open_call(text: str, tools: Sequence[Tool]) -> tuple[Tool, str] | None:
    """The call left open at the end of ``text`` (generation stopped at its closing tag)."""
    best: tuple[int, Tool] | None = None
    for tool in tools:
        at = text.rfind(tool.open_tag)
        if at >= 0 and tool.close_tag not in text[at:] and (best is None or at > best[0]):
            best = (at, tool)
    if best is None:
        return None
    at, tool = best
    return tool, text[at + len(tool.open_tag):]


def result_block(result: ToolResult) -> str:
    """``<result>...</result>`` on its own line (a closing tag inside the output is defused)."""
    return f"\n<result>{result.output.replace('</result>', '</ result>')}</result>\n"


def continued(prompt: Prompt, text: str) -> Prompt:
    """The same prompt with the assistant turn already holding ``text``."""
    return replace(prompt, assistant_prefix=prompt.assistant_prefix + text)


def loop_params(base: GenerationParams, tools: Sequence[Tool]) -> GenerationParams:
    """One continuation per round, stopping at every closing tag and at the verdict marker."""
    return replace(base, n=1, constraint=None, stop=(*(t.close_tag for t in tools), VERDICT_MARK))


def run_tool_loop(
    prompts: Sequence[Prompt],
    runner: Runner,
    base: GenerationParams,
    tools: Sequence[Tool],
    max_calls: int,
    name: str = "tool-reasoning",
) -> list[Transcript]:
    """Run every prompt's reasoning turn with tool calls; one batched call per round."""
    params = loop_params(base, tools)
    texts = ["" for _ in prompts]
    calls: list[list[ToolCall]] = [[] for _ in prompts]
    segments: list[list[dict[str, Any]]] = [[] for _ in prompts]
    ends: list[str] = ["" for _ in prompts]
    active = list(range(len(prompts)))
    while active:
        gens = runner.generate([continued(prompts[i], texts[i]) for i in active], params)
        still: list[int] = []
        for i, gen in zip(active, gens, strict=True):
            out = gen[0]
            segments[i].append({"output": out.text, "finish_reason": out.finish_reason, "tokens": out.num_tokens})
            call = open_call(out.text, tools) if out.finish_reason == "stop" else None
            if call is None:
                texts[i] += out.text
                ends[i] = "length" if out.finish_reason == "length" else "stopped"
                continue
            tool, source = call
            if len(calls[i]) < max_calls:
                result, executed = tool.run(source), True
                still.append(i)
            else:
                result = ToolResult(False, f"error: tool call budget ({max_calls}) exhausted")
                executed, ends[i] = False, "call budget"
            calls[i].append(ToolCall(tool.name, source, result.output, result.ok, executed))
            texts[i] += out.text + tool.close_tag + result_block(result)
        active = still
    return [
        Transcript(
            text=texts[i], calls=tuple(calls[i]), end=ends[i],
            turn=Turn(name=name, prompt=p.as_text(), output=texts[i], parsed={
                "calls": [asdict(c) for c in calls[i]], "segments": segments[i], "end": ends[i],
            }),
        )
        for i, p in enumerate(prompts)
    ]
