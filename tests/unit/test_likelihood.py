"""Likelihood judges (PMI, forward likelihood, FLIP, endogenous reward) on the fake backend, and their pure rules."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from judgekit.backends.fake import FakeBackend
from judgekit.core.cache import CallCache
from judgekit.core.likelihood import endogenous_score, forward_score, pair_verdict, pmi_score, token_f1
from judgekit.core.runner import Runner
from judgekit.core.types import ContinuationScore, Prompt, Sample
from judgekit.protocols import ConfigError, JudgeConfig, get_protocol

GOOD, BAD = "Paris is the capital of France.", "I like turtles very much indeed."
SAMPLE = Sample(id="s1", prompt="What is the capital of France?", responses=(BAD, GOOD), label="B")


def user_text(p: Prompt) -> str:
    return next(m.content for m in p.messages if m.role == "user")


def scripted(p: Prompt, text: str) -> list[float | None]:
    """Conditional: the on-topic response is likely; unconditional (empty user turn): the off-topic one is."""
    conditional = bool(user_text(p))
    per = {GOOD: -1.0 if conditional else -3.0, BAD: -2.0 if conditional else -1.5}.get(text, -0.5)
    return [per] * len(text.split())


def runner(responder=scripted, cache: CallCache | None = None) -> tuple[Runner, FakeBackend]:  # type: ignore[no-untyped-def]
    backend = FakeBackend(continuation_responder=responder)
    return Runner(backend, cache=cache), backend


def judge(name: str, sample: Sample = SAMPLE, responder=scripted, **options: str):  # type: ignore[no-untyped-def]
    r, _ = runner(responder)
    return get_protocol(name, JudgeConfig(options=tuple(options.items()))).judge([sample], r)[0]


def test_pure_rules_hand_computed() -> None:
    cond = ContinuationScore(logprobs=(-1.0, -3.0), n_chars=8, values=(5.0, 2.0))
    uncond = ContinuationScore(logprobs=(-2.0, -4.0), n_chars=8)
    assert forward_score(cond, "token") == (-2.0, None)
    assert forward_score(cond, "char") == (-0.5, None)
    assert forward_score(cond, "none") == (-4.0, None)
    assert pmi_score(cond, uncond, "token") == (1.0, None)
    # sum log pi + V(s_1) - V(s_H+1) = -4 + 5 - 2
    assert endogenous_score(cond, "none") == (-1.0, None)
    assert endogenous_score(cond, "none", terminal="zero") == (1.0, None)
    assert endogenous_score(cond, "token") == (-0.5, None)
    precision, recall = 1.0, 4 / 6  # 4 shared words of 4 inferred and 6 real
    assert token_f1("the capital of France", "What is the capital of France?") == pytest.approx(
        2 * precision * recall / (precision + recall))
    assert token_f1("", "x") == 0.0


def test_missing_logprob_and_empty_response_are_reasons_not_scores() -> None:
    assert forward_score(ContinuationScore((-1.0, None), 3), "token") == (None, "missing log-prob for token 1 of 2")
    assert forward_score(ContinuationScore((), 0), "token")[0] is None
    assert endogenous_score(ContinuationScore((-1.0,), 3), "token")[0] is None  # no soft values from the engine


def test_pair_verdict_exact_tie_only_on_equality() -> None:
    assert pair_verdict([1.0, 1.0])[0] == "tie"
    label, probs = pair_verdict([1.0, 0.0])
    assert label == "A" and probs["A"] == pytest.approx(1 / (1 + math.exp(-1)))


def test_pmi_prefers_the_on_topic_response_and_forward_the_likely_one() -> None:
    j = judge("pmi", norm="token")
    assert j.verdict == "B" and j.scores == (-2.0 - -1.5, -1.0 - -3.0)
    assert j.extra["norm"] == "token"
    summed = judge("pmi")  # the default: summed over tokens (chosen on dev)
    assert summed.extra["norm"] == "none"
    assert summed.scores == ((-2.0 - -1.5) * len(BAD.split()), (-1.0 - -3.0) * len(GOOD.split()))
    assert judge("likelihood").verdict == "B"
    # the unconditional term changes the answer where the on-topic response is generic
    off = judge("pmi", responder=lambda p, t: [-1.0 if t == GOOD else -2.0] * len(t.split()))
    assert off.verdict == "tie" and off.extra["tie_reason"].startswith("exact tie")


def test_order_free_swapping_the_responses_swaps_the_verdict() -> None:
    swapped = Sample(id="s1", prompt=SAMPLE.prompt, responses=(GOOD, BAD), label="A")
    for name in ("pmi", "likelihood", "endogenous", "flip"):
        a, b = judge(name, responder=None), judge(name, sample=swapped, responder=None)  # hash-derived log-probs
        assert a.scores == tuple(reversed(b.scores or ())), name
        assert {a.verdict, b.verdict} <= {"A", "B"} and a.verdict != b.verdict, name


def test_missing_logprob_is_a_recorded_failure() -> None:
    j = judge("pmi", responder=lambda p, t: [None] * len(t.split()))
    assert j.verdict is None and j.parse_failure and "missing log-prob" in (j.failure_reason or "")


def test_flip_scores_the_instruction_after_each_response() -> None:
    seen: list[tuple[str, str]] = []

    def responder(p: Prompt, text: str) -> list[float | None]:
        seen.append((user_text(p), text))
        return [-1.0 if GOOD in user_text(p) else -2.0] * len(text.split())

    j = judge("flip", responder=responder)
    assert j.verdict == "B"
    assert all(t == SAMPLE.prompt for _, t in seen) and {GOOD in u for u, _ in seen} == {True, False}


def test_flip_generative_scores_the_inferred_instruction_by_f1() -> None:
    backend = FakeBackend(script={GOOD: "What is the capital of France?", BAD: "Tell me about turtles."})
    proto = get_protocol("flip-gen", JudgeConfig())
    j = proto.judge([SAMPLE], Runner(backend))[0]
    assert j.verdict == "B" and j.scores == (0.0, 1.0)
    assert j.extra["inferred"] == ["Tell me about turtles.", "What is the capital of France?"]


def test_pointwise_variant_gives_the_score_as_reward() -> None:
    one = Sample(id="p", prompt=SAMPLE.prompt, responses=(GOOD,))
    j = judge("pmi-pointwise", sample=one, norm="token")
    assert j.reward == pytest.approx(2.0) and j.scores == (2.0,)


def test_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="norm=tokens"):
        get_protocol("pmi", JudgeConfig(options=(("norm", "tokens"),)))
    with pytest.raises(ConfigError, match="--option nrom"):
        get_protocol("pmi", JudgeConfig(options=(("nrom", "char"),)))
    with pytest.raises(ConfigError, match="terminal"):
        get_protocol("endogenous", JudgeConfig(options=(("terminal", "end"),)))
    with pytest.raises(ConfigError, match="--method"):
        get_protocol("pmi", JudgeConfig(method="logit"))
    with pytest.raises(ConfigError, match="--samples"):
        get_protocol("pmi", JudgeConfig(samples=3, temperature=0.7))


def test_norms_change_the_score_not_the_cache(tmp_path: Path) -> None:
    cache = CallCache(tmp_path / "calls.sqlite")
    r, backend = runner(cache=cache)
    a = get_protocol("likelihood", JudgeConfig(options=(("norm", "none"),))).judge([SAMPLE], r)[0]
    b = get_protocol("likelihood", JudgeConfig(options=(("norm", "token"),))).judge([SAMPLE], r)[0]
    assert a.scores == (-12.0, -6.0) and b.scores == (-2.0, -1.0)
    assert sum(c["kind"] == "continuations" for c in backend.calls) == 1  # second run: all from cache
    r2, backend2 = runner(responder=lambda p, t: [-9.0] * len(t.split()), cache=cache)
    r2.backend.model_id = "other-model"  # type: ignore[attr-defined]
    c = get_protocol("likelihood", JudgeConfig()).judge([SAMPLE], r2)[0]
    assert c.scores == (-9.0, -9.0)  # a different model never reads another model's scores


def test_backend_without_the_capability_is_refused_in_one_line() -> None:
    class NoScores:
        name, model_id, supports_constraints = "plain", "m", False

    with pytest.raises(ConfigError, match="backend 'plain' cannot score"):
        get_protocol("pmi", JudgeConfig()).judge([SAMPLE], Runner(NoScores()))  # type: ignore[arg-type]


def test_cli_judges_with_a_likelihood_protocol_and_refuses_a_misspelt_option(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from judgekit.cli import app

    root = Path(__file__).resolve().parents[2]
    cli = CliRunner()
    out = tmp_path / "run"
    done = cli.invoke(app, ["judge", str(root / "examples" / "pairs.jsonl"), "-p", "pmi", "--backend", "fake",
                            "--option", "norm=char", "-o", str(out)], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert rows and all(r["verdict"] in ("A", "B", "tie") and r["extra"]["norm"] == "char" for r in rows)
    bad = cli.invoke(app, ["judge", str(root / "examples" / "pairs.jsonl"), "-p", "pmi", "--backend", "fake",
                           "--option", "nrom=char", "-o", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "--option nrom" in bad.output


def test_dpo_implicit_reward_is_beta_times_the_policy_reference_log_ratio() -> None:
    from judgekit.protocols.likelihood import DPOProtocol

    policy = FakeBackend(continuation_responder=lambda p, t: [-1.0 if t == GOOD else -2.0] * len(t.split()))
    reference = FakeBackend(continuation_responder=lambda p, t: [-1.5] * len(t.split()), model_id="ref")
    proto = DPOProtocol(config=JudgeConfig(options=(("beta", "0.5"),)), reference_runner=Runner(reference))
    proto.check()
    j = proto.judge([SAMPLE], Runner(policy))[0]
    n_bad, n_good = len(BAD.split()), len(GOOD.split())
    assert j.scores == pytest.approx((0.5 * (-2.0 + 1.5) * n_bad, 0.5 * (-1.0 + 1.5) * n_good))
    assert j.verdict == "B"
    with pytest.raises(ConfigError, match="reference=MODEL"):
        get_protocol("dpo", JudgeConfig())
    with pytest.raises(ConfigError, match="beta"):
        get_protocol("dpo", JudgeConfig(options=(("reference", "smollm2"), ("beta", "-1"))))
    with pytest.raises(ConfigError, match="transformers or vllm"):
        get_protocol("dpo", JudgeConfig(options=(("reference", "smollm2"),))).judge([SAMPLE], Runner(policy))


def test_combined_protocol_weights_its_features_and_is_order_free(tmp_path: Path) -> None:
    import json

    weights = tmp_path / "w.json"
    weights.write_text(json.dumps({"features": ["pmi-token", "log-length"], "weights": {"pmi-token": 2.0,
                                                                                          "log-length": -1.0},
                                   "l2": 1.0}))
    cfg = JudgeConfig(options=(("weights", str(weights)),))
    r, _ = runner()
    j = get_protocol("combined", cfg).judge([SAMPLE], r)[0]
    pmi = judge("pmi", norm="token").scores
    assert pmi is not None
    want = 2.0 * (pmi[0] - pmi[1]) - 1.0 * (math.log1p(len(BAD)) - math.log1p(len(GOOD)))
    assert j.scores == pytest.approx((want, -want)) and j.verdict == ("A" if want > 0 else "B")
    swapped = Sample(id="s1", prompt=SAMPLE.prompt, responses=(GOOD, BAD), label="A")
    assert get_protocol("combined", cfg).judge([swapped], runner()[0])[0].scores == pytest.approx((-want, want))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"features": ["logit"], "weights": {"logit": 1.0}, "l2": 1.0}))
    with pytest.raises(ConfigError, match="cannot be computed"):
        get_protocol("combined", JudgeConfig(options=(("weights", str(bad)),)))
    from judgekit.protocols.combined import SHIPPED

    if not SHIPPED.is_file():
        with pytest.raises(ConfigError, match="no combination is shipped"):
            get_protocol("combined", JudgeConfig())
    with pytest.raises(ConfigError, match="takes weights"):
        get_protocol("combined", JudgeConfig(options=(("norm", "char"),)))


def test_likelihood_protocols_default_to_the_model_they_were_measured_with() -> None:
    from judgekit.options import JudgeOptions, backend_kwargs

    assert backend_kwargs(JudgeOptions(protocol="pmi"))["model"] == "smollm2"
    assert backend_kwargs(JudgeOptions(protocol="pairwise"))["model"] == "judgekit-135m"
    assert backend_kwargs(JudgeOptions(protocol="dpo"))["model"] == "judgekit-135m"  # the policy: the shared default
    assert backend_kwargs(JudgeOptions(protocol="pmi", model="x"))["model"] == "x"
