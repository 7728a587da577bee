"""Tools a judge may call inside its reasoning, and their registry.

A call is written ``<calc>48/2</calc>`` or ``<python>print(48/2)</python>``; the tool
loop (:mod:`judgekit.tools.loop`) runs it and appends ``<result>24</result>``. A tool
never raises on what the model wrote: a bad call comes back as ``ok=False`` with a
one-line ``error: ...`` the judge reads like any other result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from judgekit.tools.calc import CalcError, calculate
from judgekit.tools.pyrunner import PythonLimits, SandboxUnavailable, require_sandbox, run_python


@dataclass(frozen=True)
class ToolResult:
    """One call's answer: the text shown to the judge and whether the call succeeded."""

    ok: bool
    output: str


@dataclass(frozen=True)
class Tool:
    """A callable tool: its tag name, a one-line usage note for the prompt, and its function."""

    name: str
    usage: str
    run: Callable[[str], ToolResult]

    @property
    def open_tag(self) -> str:
        """``<name>``."""
        return f"<{self.name}>"

    @property
    def close_tag(self) -> str:
        """``</name>`` (generation stops here)."""
        return f"</{self.name}>"


def _calc(source: str) -> ToolResult:
    try:
        return ToolResult(True, calculate(source))
    except CalcError as exc:
        return ToolResult(False, f"error: {exc}")


def _python(limits: PythonLimits) -> Callable[[str], ToolResult]:
    def run(source: str) -> ToolResult:
        outcome = run_python(source.strip("\n"), limits)
        if outcome.ok:
            return ToolResult(True, outcome.stdout.strip() or "(no output; use print)")
        return ToolResult(False, f"error: {outcome.error}")

    return run


CALC_USAGE = "<calc>EXPRESSION</calc> evaluates arithmetic (+ - * / ** % parentheses, sqrt, round)"
PYTHON_USAGE = "<python>CODE</python> runs a short Python program and shows what it prints"
TOOL_NAMES = ("calc", "python")


class ToolError(ValueError):
    """An unknown tool name in the configuration, or the python tool without its OS sandbox."""


def get_tools(names: Sequence[str], limits: PythonLimits | None = None) -> tuple[Tool, ...]:
    """The tools called ``names`` (from :data:`TOOL_NAMES`), in that order.

    ``python`` is refused (:class:`ToolError`, one line saying why) where its OS sandbox cannot run.
    """
    unknown = [n for n in names if n not in TOOL_NAMES]
    if unknown or not names:
        raise ToolError(f"unknown tool(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(TOOL_NAMES)}")
    if "python" in names:
        try:
            require_sandbox()
        except SandboxUnavailable as exc:
            raise ToolError(f"python refused: {exc}") from exc
    made = {"calc": Tool("calc", CALC_USAGE, _calc),
            "python": Tool("python", PYTHON_USAGE, _python(limits or PythonLimits()))}
    return tuple(made[n] for n in dict.fromkeys(names))
