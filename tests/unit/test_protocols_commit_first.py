"""Commit-first grading on the fake backend: own answer first (no candidate shown), then the verdict."""

from __future__ import annotations

import pytest

from judgekit.backends.fake import FakeBackend
from judgekit.core.runner import Runner
from judgekit.core.types import GenerationParams, Prompt, Sample
from judgekit.protocols import ConfigError, JudgeConfig, get_protocol
from judgekit.protocols.commit_first import committed_answer

Q = "Natalia sold 48 clips in April and half as many in May. How many in total?"
RIGHT, WRONG = "48/2 = 24, 48+24 = 72. #### 72", "48*2 = 96. #### 96"
SAMPLES = [
    Sample(id="g1", prompt=Q, responses=(RIGHT,), reference="SECRET-REFERENCE 72", label="correct"),
    Sample(id="g2", prompt=Q, responses=(WRONG,), reference="SECRET-REFERENCE 72", label="incorrect"),
]


def responder(seen: list[Prompt]):  # type: ignore[no-untyped-def]
    def respond(prompt: Prompt, index: int, params: GenerationParams) -> str:
        seen.append(prompt)
        if prompt.template == "commit_answer":
            return "April 48, May 24, total 72.\nAnswer: 72"
        user = prompt.messages[-1].content
        if "Response A" in user:
            return ("Reasoning: A says 72 like me.\nVerdict: [[A]]" if user.index(RIGHT) < user.index(WRONG)
                    else "Reasoning: B says 72 like me.\nVerdict: [[B]]")
        ok = "#### 72" in user
        return f"Reasoning: compared with my 72.\nVerdict: {'correct' if ok else 'incorrect'}"
    return respond


def test_turn_one_sees_only_the_question_and_turn_two_continues_the_conversation() -> None:
    seen: list[Prompt] = []
    backend = FakeBackend(responder=responder(seen))
    judgments = get_protocol("commit-first").judge(SAMPLES, Runner(backend))
    # the same question twice: one deduplicated turn-1 prompt, then both verdicts in one call
    assert [(c["prompts"], c["params"].max_new_tokens) for c in backend.calls] == [(1, 192), (2, 96)]
    assert [j.verdict for j in judgments] == ["correct", "incorrect"]
    first = next(p for p in seen if p.template == "commit_answer")
    assert Q in first.as_text() and RIGHT not in first.as_text() and WRONG not in first.as_text()
    second = next(p for p in seen if p.template != "commit_answer")
    assert second.template == "commit_answer+commit_verify"
    roles = [m.role for m in second.messages]
    assert roles == ["system", "user", "assistant", "user"] and second.messages[2].content.endswith("Answer: 72")
    assert all("SECRET-REFERENCE" not in p.as_text() for p in seen)  # reference-free
    j = judgments[0]
    assert [t.name for t in j.trace] == ["commit", "verdict"]
    assert j.extra == {"committed_answer": "72", "reference_shown": False}
    assert j.trace[0].parsed["answer"] == "72"


def test_pairwise_commits_once_per_item_and_judges_both_orders() -> None:
    pair = [Sample(id="p1", prompt=Q, responses=(WRONG, RIGHT), label="B")]
    seen: list[Prompt] = []
    backend = FakeBackend(responder=responder(seen))
    (j,) = get_protocol("commit-first-pairwise").judge(pair, Runner(backend))
    assert [c["prompts"] for c in backend.calls] == [1, 2]
    assert j.verdict == "B" and j.consistent and [t.name for t in j.trace] == ["commit", "verdict", "verdict"]
    assert j.trace[1].prompt.startswith(j.trace[0].prompt)  # both orders continue the one committed answer


def test_a_missing_answer_line_is_recorded_and_turn_two_still_runs() -> None:
    def respond(prompt: Prompt, index: int, params: GenerationParams) -> str:
        return "I am not sure." if prompt.template == "commit_answer" else "Reasoning: no.\nVerdict: incorrect"
    (j,) = get_protocol("commit-first").judge(SAMPLES[:1], Runner(FakeBackend(responder=respond)))
    assert j.verdict == "incorrect" and j.extra["committed_answer"] is None
    assert j.trace[0].parsed["reason"] == "no 'Answer:' line"


def test_logit_verdict_and_answer_tokens_option() -> None:
    backend = FakeBackend(responder=responder([]), choice_responder=lambda p, c: {" correct": 0.3, " incorrect": 0.7})
    proto = get_protocol("commit-first", JudgeConfig(method="logit", options=(("answer_tokens", 64),)))
    (j,) = proto.judge(SAMPLES[:1], Runner(backend))
    assert j.verdict == "incorrect" and j.probs == {"correct": 0.3, "incorrect": 0.7}
    assert backend.calls[0]["params"].max_new_tokens == 64 and backend.calls[1]["kind"] == "choices"
    with pytest.raises(ConfigError, match="answer_tokens"):
        get_protocol("commit-first", JudgeConfig(options=(("answer_tokens", "lots"),)))


@pytest.mark.parametrize(("text", "answer"), [
    ("steps\nAnswer: 72", "72"), ("**Answer:** $72", "$72"), ("Answer: 1\nfix\nanswer: 2", "2"), ("no line", None),
])
def test_committed_answer(text: str, answer: str | None) -> None:
    assert committed_answer(text) == answer
