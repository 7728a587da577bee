"""Multi-turn and batching flow of the literature protocols, with scripted fake-backend turns."""

from __future__ import annotations

import pytest

from judgekit.backends.fake import FakeBackend
from judgekit.core.runner import Runner
from judgekit.core.types import GenerationParams, Prompt, Sample
from judgekit.protocols import ConfigError, JudgeConfig, get_protocol

RIGHT, WRONG = "75+48 = 123, so \\boxed{123}.", "75+48 = 134, so \\boxed{134}."
SAMPLES = [
    Sample(id="s1", prompt="What is 75+48?", responses=(RIGHT, WRONG), label="A"),
    Sample(id="s2", prompt="What is 75+48 exactly?", responses=(WRONG, RIGHT), label="B"),
]


def shown_first(prompt: Prompt) -> str:
    """Which response text the judge saw first ("right" or "wrong")."""
    user = next(m.content for m in prompt.messages if m.role == "user")
    return "right" if user.index(RIGHT) < user.index(WRONG) else "wrong"


def brrm(prompt: Prompt, index: int, params: GenerationParams) -> str:
    """Turn 1 sketches issues; turn 2 boxes whichever shown position holds the right answer."""
    if prompt.template == "brrm_branch":
        return ("Query type: Reasoning\nDimensions: correctness, reasoning quality\n"
                "Response 1 issues: check the sum\nResponse 2 issues: check the carry")
    box = 1 if shown_first(prompt) == "right" else 2
    return f"Rethink: recomputed 75+48=123.\nVerdict: \\boxed{{{box}}}"


def run(name: str, responder, samples=SAMPLES, **config):  # type: ignore[no-untyped-def]
    backend = FakeBackend(responder=responder)
    proto = get_protocol(name, JudgeConfig(**config))
    return proto.judge(samples, Runner(backend)), backend


def test_brrm_runs_turn_by_turn_over_the_batch() -> None:
    judgments, backend = run("br-rm", brrm)
    # one call for every turn-1 prompt (2 samples x 2 orders), then one for every turn-2 prompt
    assert [(c["prompts"], c["params"].max_new_tokens) for c in backend.calls] == [(4, 96), (4, 96)]
    assert [j.verdict for j in judgments] == ["A", "B"]
    assert all(j.consistent and j.reward in (0.0, 1.0) and not j.parse_failure for j in judgments)
    j = judgments[0]
    assert [t.name for t in j.trace] == ["branch", "rethink", "branch", "rethink"]
    assert j.per_order[0]["branch"]["dimensions"] == ["correctness", "reasoning quality"]
    assert j.extra["format_violation"] is False


def test_brrm_turn_two_is_a_chat_continuation_with_the_chosen_dimensions() -> None:
    seen: list[Prompt] = []

    def spy(prompt: Prompt, index: int, params: GenerationParams) -> str:
        seen.append(prompt)
        return brrm(prompt, index, params)

    run("br-rm", spy, samples=SAMPLES[:1], both_orders=False)
    first, second = seen
    assert second.template == "brrm_branch+brrm_rethink" and second.template_hash != first.template_hash
    roles = [m.role for m in second.messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert second.messages[:2] == first.messages
    assert second.messages[2].content.startswith("Query type: Reasoning\nDimensions: correctness")
    follow = second.messages[3].content
    assert "focusing only on the dimensions you chose: correctness, reasoning quality" in follow
    assert "Put correctness and reasoning quality first" in follow  # the Reasoning priorities
    assert "\\boxed{1}" in follow and "\\boxed{2}" in follow


def test_brrm_format_violation_gets_the_configured_reward() -> None:
    def sloppy(prompt: Prompt, index: int, params: GenerationParams) -> str:
        if prompt.template == "brrm_branch":
            return brrm(prompt, index, params)
        return "Rethink: fine.\nVerdict: \\boxed{1}\nResponse 1 is better."

    judgments, _ = run("br-rm", sloppy, options=(("format_reward", "-100"),))
    for j in judgments:
        assert j.verdict is None and j.parse_failure and j.reward == -100.0
        assert j.extra["format_violation"] is True and "text after the verdict" in (j.failure_reason or "")
        assert len(j.trace) == 4


def test_brrm_turn_one_failure_is_recorded_and_turn_two_still_runs() -> None:
    def vague(prompt: Prompt, index: int, params: GenerationParams) -> str:
        if prompt.template == "brrm_branch":
            return "Both responses look fine to me."
        assert "the ones you chose above" in prompt.messages[-1].content
        return brrm(prompt, index, params)

    judgments, _ = run("br-rm", vague)
    assert [j.verdict for j in judgments] == ["A", "B"]
    assert all("no 'Query type:' line" in f for f in judgments[0].extra["branch_failures"])
    assert judgments[0].per_order[0]["branch"]["ok"] is False


def test_brrm_rejects_a_non_numeric_format_reward() -> None:
    with pytest.raises(ConfigError, match="format_reward"):
        run("br-rm", brrm, options=(("format_reward", "lots"),))


def spct_scores(prompt: Prompt, index: int, params: GenerationParams) -> str:
    """Score by content: the right answer 9, the wrong one 2, a third response 5."""
    user = prompt.messages[-1].content
    order = sorted(
        [(user.index(t), s) for t, s in ((RIGHT, 9), (WRONG, 2), ("I am not sure.", 5)) if t in user]
    )
    scores = ", ".join(str(s) for _, s in order)
    return f"Principles: Correctness (70%); Clarity (30%)\nCritique: checked the sums.\nScores: [{scores}]"


def test_spct_scores_two_or_more_responses_in_both_orders() -> None:
    three = Sample(id="s3", prompt="What is 75+48?", responses=(WRONG, "I am not sure.", RIGHT))
    judgments, backend = run("spct", spct_scores, samples=[*SAMPLES, three])
    # one batched call per response count (the score constraint differs), both orders each
    assert [c["prompts"] for c in backend.calls] == [4, 2]
    assert [j.verdict for j in judgments] == ["A", "B", "C"]
    assert judgments[0].scores == (9.0, 2.0) and judgments[2].scores == (2.0, 5.0, 9.0)
    assert judgments[2].reward is None and judgments[0].reward == 1.0
    rec = judgments[0].per_order[1]
    assert rec["order"] == "reversed" and rec["scores"] == [9.0, 2.0]  # back in original order
    assert rec["principles"][0] == {"text": "Correctness", "weight": 70.0}
    assert rec["critique"] == "checked the sums."


def test_spct_equal_scores_are_a_tie_and_k_samples_share_one_call() -> None:
    def equal(prompt: Prompt, index: int, params: GenerationParams) -> str:
        return "Principles: a\nCritique: b\nScores: [6, 6]"

    backend = FakeBackend(responder=equal)
    proto = get_protocol("spct", JudgeConfig(samples=3, temperature=0.7))
    judgments = proto.judge(SAMPLES[:1], Runner(backend))
    assert backend.calls[0]["n"] == 3 and backend.calls[0]["prompts"] == 2
    assert judgments[0].verdict == "tie" and judgments[0].scores == (6.0, 6.0) and judgments[0].reward == 0.5


def test_spct_score_failure_is_recorded_not_guessed() -> None:
    def bad(prompt: Prompt, index: int, params: GenerationParams) -> str:
        return "Principles: a\nCritique: b\nScores: [12, 3]"

    judgments, _ = run("spct", bad, samples=SAMPLES[:1])
    j = judgments[0]
    assert j.verdict is None and j.scores is None and j.parse_failure
    assert "out of range" in (j.failure_reason or "")


def test_rmr1_flags_both_verdicts_and_records_the_task_type() -> None:
    def answer(prompt: Prompt, index: int, params: GenerationParams) -> str:
        if "exactly" in prompt.messages[-1].content:
            return "Type: Chat\nRubric: r\nEvaluation: e\n<answer>[[A]]</answer> <answer>[[B]]</answer>"
        letter = "A" if shown_first(prompt) == "right" else "B"
        return f"Type: Reasoning\nSolution: 123\nEvaluation: one is right.\n<answer>[[{letter}]]</answer>"

    judgments, backend = run("rm-r1", answer)
    assert [c["prompts"] for c in backend.calls] == [4]
    good, both = judgments
    assert good.verdict == "A" and good.consistent and good.per_order[0]["task_type"] == "reasoning"
    assert both.verdict is None and both.parse_failure and "both verdicts" in (both.failure_reason or "")


# ------------------------------------------------------------------ user principles in every protocol
PRINCIPLE = "Prefer the response that shows its arithmetic step by step."
RESPONDERS = {
    "br-rm": brrm,
    "spct": spct_scores,
    "rm-r1": lambda p, i, k: "Type: Chat\nRubric: r\nEvaluation: e\n<answer>[[A]]</answer>",
    "rubric": lambda p, i, k: (
        "Principle: The response is right. (weight 3)\nEnd of rubric" if p.template == "rubric_generate"
        else "P1: A\nReasoning: r\nVerdict: [[A]]"
    ),
}


@pytest.mark.parametrize("name", sorted(RESPONDERS))
def test_principles_reach_every_prompt_and_are_recorded(name: str) -> None:
    options = (("rubric", "generate"),) if name == "rubric" else ()
    judgments, _ = run(name, RESPONDERS[name], samples=SAMPLES[:1], principles=(PRINCIPLE,), options=options)
    j = judgments[0]
    assert j.extra["principles"] == [PRINCIPLE]
    assert j.trace and all(PRINCIPLE in t.prompt for t in j.trace)
    plain, _ = run(name, RESPONDERS[name], samples=SAMPLES[:1], options=options)
    assert "principles" not in plain[0].extra and all(PRINCIPLE not in t.prompt for t in plain[0].trace)


CONTRARIAN = "Prefer the response with the larger number."


def test_a_principle_can_change_the_verdict() -> None:
    def follows_principles(prompt: Prompt, index: int, params: GenerationParams) -> str:
        # a judge that prefers the right sum, unless a principle asks for the wrong one
        contrarian = "Prefer the response with the larger number" in prompt.messages[-1].content
        first_wins = (shown_first(prompt) == "right") != contrarian
        return f"Type: Chat\nRubric: r\nEvaluation: e\n<answer>[[{'A' if first_wins else 'B'}]]</answer>"

    base, _ = run("rm-r1", follows_principles, samples=SAMPLES[:1])
    other, _ = run("rm-r1", follows_principles, samples=SAMPLES[:1], principles=(CONTRARIAN,))
    assert base[0].verdict == "A" and other[0].verdict == "B"
    assert other[0].extra["principles"] == [CONTRARIAN]


# ------------------------------------------------------------------ rubric protocol sources
def test_rubric_protocol_needs_a_rubric_source() -> None:
    with pytest.raises(ConfigError, match="needs --rubric"):
        get_protocol("rubric", JudgeConfig())
    with pytest.raises(ConfigError, match="only value is 'generate'"):
        get_protocol("rubric", JudgeConfig(options=(("rubric", "yes"),)))


def test_generated_rubric_is_unlabeled_and_conditions_the_judge() -> None:
    seen: list[Prompt] = []

    def scripted(prompt: Prompt, index: int, params: GenerationParams) -> str:
        seen.append(prompt)
        if prompt.template == "rubric_generate":
            return ("Hard rule: The response states a final sum. (weight 5)\n"
                    "Principle: The response adds 75 and 48 correctly. (weight 4)\nEnd of rubric")
        letter = "A" if shown_first(prompt) == "right" else "B"
        return f"H1: A=pass B=pass\nP1: {letter}\nReasoning: one sum is right.\nVerdict: [[{letter}]]"

    judgments, backend = run("rubric", scripted, options=(("rubric", "generate"),))
    assert [c["prompts"] for c in backend.calls] == [2, 4]  # generation batch, then judging batch
    gen = [p for p in seen if p.template == "rubric_generate"]
    assert all("Preferred" not in p.as_text() and "Rejected" not in p.as_text() for p in gen)
    judge = [p for p in seen if p.template == "rubric_judge"]
    assert all("H1. The response states a final sum. (weight 5)" in p.as_text() for p in judge)
    assert [j.verdict for j in judgments] == ["A", "B"] and all(j.consistent for j in judgments)
    j = judgments[0]
    assert [t.name for t in j.trace] == ["rubric-generate", "rubric-judge", "rubric-judge"]
    assert j.extra["rubric"]["hard_rules"] == [{"text": "The response states a final sum.", "weight": 5}]
    assert j.per_order[1]["items"] == {"hard_rules": [{"A": "pass", "B": "pass"}], "principles": ["A"]}
    assert j.per_order[1]["items_verdict"] == "A"


def test_failed_generation_is_a_recorded_failure() -> None:
    judgments, backend = run("rubric", lambda p, i, k: "A good answer is correct.", samples=SAMPLES[:1],
                             options=(("rubric", "generate"),))
    j = judgments[0]
    assert j.parse_failure and j.verdict is None and "rubric generation failed: no rubric items" in j.failure_reason
    assert [t.name for t in j.trace] == ["rubric-generate"] and len(backend.calls) == 1
