"""Tool-augmented judging on the fake backend: scripted traces with calls, errors, budget, resume."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from judgekit.backends.fake import FakeBackend
from judgekit.core.cache import CallCache
from judgekit.core.runner import Runner
from judgekit.core.types import GenerationParams, Prompt, Sample
from judgekit.protocols import ConfigError, JudgeConfig, get_protocol
from judgekit.tools import get_tools
from judgekit.tools.loop import open_call

QUESTION = "Natalia sold 48 clips in April and half as many in May. How many in total?"
SAMPLES = [
    Sample(id="g1", prompt=QUESTION, responses=("48/2 = 24, 48+24 = 72. #### 72",), reference="72", label="correct"),
    Sample(id="g2", prompt=QUESTION, responses=("48*2 = 96. #### 96",), reference="72", label="incorrect"),
]


def scripted(segments: Sequence[str], verdict: str = "Verdict: correct"):  # type: ignore[no-untyped-def]
    """Reasoning segment k after k results; the constrained verdict turn gets ``verdict``."""
    def respond(prompt: Prompt, index: int, params: GenerationParams) -> str:
        if params.constraint is not None:
            return verdict
        k = prompt.assistant_prefix.count("<result>")
        return segments[min(k, len(segments) - 1)]
    return respond


def run(name: str, responder, samples=SAMPLES, runner=None, **config):  # type: ignore[no-untyped-def]
    backend = FakeBackend(responder=responder)
    proto = get_protocol(name, JudgeConfig(**config))
    return proto.judge(samples, runner or Runner(backend)), backend


def test_calls_are_run_and_results_appended_turn_by_turn_over_the_batch() -> None:
    segs = ["Half of 48 is <calc>48/2</calc> so May had that.", " Total <calc>48+24</calc>.", "It matches.\nVerdict: x"]
    judgments, backend = run("tool-verify", scripted(segs))
    # three reasoning rounds (each batched over both samples), then one verdict call
    assert [c["prompts"] for c in backend.calls] == [2, 2, 2, 2]
    assert backend.calls[0]["params"].stop == ("</calc>", "Verdict:")
    j = judgments[0]
    assert j.verdict == "correct" and j.reward == 1.0 and not j.parse_failure
    reasoning, verdict = j.trace
    assert (reasoning.name, verdict.name) == ("tool-reasoning", "verdict")
    assert reasoning.output == ("Half of 48 is <calc>48/2</calc>\n<result>24</result>\n"
                                " Total <calc>48+24</calc>\n<result>72</result>\nIt matches.\n")
    assert [(c["tool"], c["source"], c["output"], c["ok"]) for c in reasoning.parsed["calls"]] == [
        ("calc", "48/2", "24", True), ("calc", "48+24", "72", True)]
    assert reasoning.parsed["end"] == "stopped" and len(reasoning.parsed["segments"]) == 3
    assert verdict.output == "Verdict: correct" and reasoning.output in verdict.prompt
    assert j.extra["tool_calls"] == 2 and j.extra["tool_errors"] == 0 and j.extra["tool_ends"] == ["stopped"]


def test_a_tool_error_is_data_for_the_judge() -> None:
    judgments, _ = run("tool-verify", scripted(["Check <calc>48/0</calc>", "Odd.\n"], "Verdict: incorrect"))
    j = judgments[1]
    assert j.verdict == "incorrect" and not j.parse_failure
    assert "<result>error: division by zero</result>" in j.trace[0].output
    assert j.extra["tool_calls"] == 1 and j.extra["tool_errors"] == 1


def test_call_budget_exhaustion_ends_the_reasoning_and_still_asks_for_a_verdict() -> None:
    judgments, backend = run("tool-verify", scripted(["again <calc>1+1</calc>"]), options=(("max_tool_calls", 2),))
    j = judgments[0]
    calls = j.trace[0].parsed["calls"]
    assert [c["executed"] for c in calls] == [True, True, False]
    assert calls[-1]["output"] == "error: tool call budget (2) exhausted"
    assert j.trace[0].parsed["end"] == "call budget" and j.extra["tool_calls"] == 2 and j.extra["tool_errors"] == 1
    assert j.verdict == "correct" and len(backend.calls) == 4  # 3 rounds + the verdict


def test_a_segment_out_of_tokens_ends_the_loop_and_a_bad_verdict_is_a_recorded_failure() -> None:
    long = " ".join(["word"] * 20) + " <calc>1+1</calc>"
    judgments, backend = run("tool-verify", scripted([long], verdict="Verdict: maybe"), max_new_tokens=8)
    j = judgments[0]
    assert j.trace[0].parsed["end"] == "length" and j.extra["tool_calls"] == 0
    assert j.verdict is None and j.parse_failure and "no correctness verdict found" in (j.failure_reason or "")
    assert len(backend.calls) == 2


@pytest.mark.usefixtures("python_sandbox")
def test_python_tool_runs_in_the_sandbox_when_enabled() -> None:
    segs = ["Compute <python>print(48 + 48 // 2)</python>", "Done.\n"]
    judgments, backend = run("tool-verify", scripted(segs), samples=SAMPLES[:1], options=(("tools", "calc,python"),))
    j = judgments[0]
    assert "<python>print(48 + 48 // 2)</python>\n<result>72</result>" in j.trace[0].output
    assert backend.calls[0]["params"].stop == ("</calc>", "</python>", "Verdict:")
    assert j.extra["sandbox"]["isolation"] == "bubblewrap+seccomp"


def test_rerun_on_the_same_cache_replays_every_round_without_the_model(tmp_path: Path) -> None:
    segs = ["Half <calc>48/2</calc>", " total <calc>48+24</calc>", "ok\n"]
    cache = CallCache(tmp_path / "calls.sqlite")
    first, _ = run("tool-verify", scripted(segs), runner=Runner(FakeBackend(responder=scripted(segs)), cache=cache))
    backend = FakeBackend(responder=scripted(["never used"], "Verdict: incorrect"))
    again, _ = run("tool-verify", None, runner=Runner(backend, cache=cache))
    assert backend.calls == [] and again == first


def test_tool_pairwise_judges_both_orders_and_combines() -> None:
    pair = [Sample(id="p1", prompt=QUESTION, responses=("#### 72", "#### 96"), label="A")]

    def respond(prompt: Prompt, index: int, params: GenerationParams) -> str:
        if params.constraint is not None:
            user = prompt.messages[-1].content
            return "Verdict: [[A]]" if user.index("#### 72") < user.index("#### 96") else "Verdict: [[B]]"
        return "Total <calc>48+24</calc>" if "<result>" not in prompt.assistant_prefix else "So 72.\n"

    judgments, backend = run("tool-pairwise", respond, samples=pair)
    j = judgments[0]
    assert j.verdict == "A" and j.consistent and [p["order"] for p in j.per_order] == ["AB", "BA"]
    assert [t.name for t in j.trace] == ["tool-reasoning", "verdict"] * 2 and j.extra["tool_calls"] == 2
    assert [c["prompts"] for c in backend.calls] == [2, 2, 2]


def test_logit_verdict_after_the_reasoning() -> None:
    backend = FakeBackend(responder=scripted(["Fine.\n"]),
                          choice_responder=lambda p, c: {" correct": 0.8, " incorrect": 0.2})
    proto = get_protocol("tool-verify", JudgeConfig(method="logit"))
    (j,) = proto.judge(SAMPLES[:1], Runner(backend))
    assert j.verdict == "correct" and j.probs == {"correct": 0.8, "incorrect": 0.2}
    assert backend.calls[-1]["kind"] == "choices"


@pytest.mark.parametrize(("options", "message"), [
    ((("tools", "calc,shell"),), "unknown tool"),
    ((("max_tool_calls", "many"),), "whole number"),
    ((("max_tool_calls", 99),), "between 0 and 16"),
    ((("python_cpu", 0),), "between 1 and 60"),
])
def test_bad_tool_options_are_errors(options, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message):
        get_protocol("tool-verify", JudgeConfig(options=options))


@pytest.mark.usefixtures("python_sandbox")
def test_open_call_finds_only_the_unclosed_call_at_the_end() -> None:
    tools = get_tools(["calc", "python"])
    assert open_call("a <calc>1+1</calc> b <python>print(2)", tools)[1] == "print(2)"  # type: ignore[index]
    assert open_call("a <calc>1+1</calc> done", tools) is None
