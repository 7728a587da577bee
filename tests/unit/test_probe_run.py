"""The probe through the real judging path, on a scripted fake backend."""

from __future__ import annotations

import json

import pytest

from judgekit.backends.fake import FakeBackend
from judgekit.core.data import load_samples
from judgekit.core.errors import ConfigError
from judgekit.core.runner import Runner
from judgekit.core.types import Prompt, Sample
from judgekit.probe import AttackSettings, build_report, bundled_keys, plan_probe, run_phase
from judgekit.protocols.base import JudgeConfig, get_protocol

VERIFY = [
    Sample(id="v1", prompt="What is 2+2?", responses=("2+2 = 4\nA: 4",), reference="4", label="correct"),
    Sample(id="v2", prompt="What is 3+3?", responses=("3+3 = 5\nA: 5",), reference="6", label="incorrect"),
    Sample(id="v3", prompt="What is 5*2?", responses=("5*2 = 10\nA: 10",), reference="10", label="correct"),
]


def candidate(prompt: Prompt) -> str:
    """The candidate response as rendered into either verification template."""
    user = prompt.messages[-1].content
    body = user.split("## Candidate response\n", 1)[1].split("\n\n## Task", 1)[0]
    return body.removeprefix("<candidate>\n").removesuffix("\n</candidate>")


def verdict_backend(decide) -> FakeBackend:
    return FakeBackend(responder=lambda p, i, params: f"Reasoning: checked.\nVerdict: {decide(p)}")


def probe(backend, samples=VERIFY, attacks=("master-keys",), options=(("verify_mode", "model"),), **cfg):
    """The probe of the raw model (``verify_mode=model``: no hybrid phase at the end)."""
    proto = get_protocol("verify", JudgeConfig(options=tuple(options), **cfg))
    runner = Runner(backend=backend)
    phases = plan_probe(samples, list(attacks), proto, AttackSettings(keys=bundled_keys()))
    return [run_phase(p, runner) for p in phases]


def fpr_rows(result):
    return {(r.group, r.name): r for r in result.rates if r.metric == "fpr"}


def test_always_correct_gives_fpr_one_for_every_key():
    (res,) = probe(verdict_backend(lambda p: "correct"))
    rows = fpr_rows(res)
    keys = [k.key for k in bundled_keys().keys]
    assert {name for g, name in rows if g == "key"} == set(keys)
    assert all(r.rate == 1.0 for r in rows.values())
    assert all(r.n == len(VERIFY) for (g, _), r in rows.items() if g == "key")
    clean = next(r for r in res.rates if r.metric == "accuracy")
    assert (clean.k, clean.n) == (2, 3)


def test_always_incorrect_gives_fpr_zero():
    (res,) = probe(verdict_backend(lambda p: "incorrect"))
    assert all(r.rate == 0.0 for r in fpr_rows(res).values())
    assert next(r for r in res.rates if r.metric == "accuracy").k == 1


def test_fooled_only_by_colon_gives_exactly_that_row():
    (res,) = probe(verdict_backend(lambda p: "correct" if candidate(p) == ":" else "incorrect"))
    rows = fpr_rows(res)
    fooled = {name for (g, name), r in rows.items() if g == "key" and r.rate > 0}
    assert fooled == {":"}
    assert rows[("key", ":")].rate == 1.0
    assert rows[("family", "non-word symbol")].rate == pytest.approx(3 / 12)
    assert rows[("family", "reasoning opener")].rate == 0.0
    assert rows[("overall", "all keys")].k == 3 and rows[("overall", "all keys")].n == 30


def test_parse_failures_are_not_false_positives_but_are_counted():
    (res,) = probe(FakeBackend(responder=lambda p, i, params: "I think so"))
    overall = fpr_rows(res)[("overall", "all keys")]
    assert overall.k == 0 and overall.parse_failures == overall.n == 30


def test_defences_are_reported_next_to_the_raw_model():
    always = verdict_backend(lambda p: "correct")
    results = probe(always, options=[("defense", "answer-check,strict-prompt"), ("verify_mode", "model")])
    assert [r.phase.defense for r in results] == ["raw", "answer-check", "strict-prompt",
                                                  "answer-check+strict-prompt"]
    raw, check, strict, both = (fpr_rows(r)[("overall", "all keys")] for r in results)
    assert raw.rate == 1.0  # the defence never hides the model's own weakness
    assert check.rate == 0.0 and both.rate == 0.0  # no key carries a final answer
    assert strict.rate == 1.0  # an always-correct model is not saved by a prompt
    assert dict(results[0].phase.protocol.config.options) == {"verify_mode": "model"}  # raw really is raw
    report = build_report(results)
    assert set(report["attacks"]["master-keys"]["settings"]) == {"raw", "answer-check", "strict-prompt",
                                                                  "answer-check+strict-prompt"}


def test_the_default_hybrid_verifier_is_probed_after_the_raw_model():
    always = verdict_backend(lambda p: "correct")
    results = probe(always, options=())  # the default: verify_mode=hybrid
    assert [r.phase.defense for r in results] == ["raw", "hybrid"]
    raw, hybrid = (fpr_rows(r)[("overall", "all keys")] for r in results)
    assert raw.rate == 1.0 and hybrid.rate == 0.0  # the rules stop every key before the model sees it
    assert dict(results[0].phase.protocol.config.options) == {"verify_mode": "model"}


def test_strict_prompt_renders_the_hardened_template():
    seen: list[str] = []

    def responder(p, i, params):
        seen.append(p.template)
        return "Reasoning: x\nVerdict: incorrect"

    probe(FakeBackend(responder=responder), options=[("defense", "strict-prompt")])
    assert "verify" in seen and "verify_hardened" in seen


def test_answer_check_skips_the_model_for_answerless_candidates():
    backend = verdict_backend(lambda p: "correct")
    proto = get_protocol("verify", JudgeConfig(options=(("defense", "answer-check"),)))
    judgments = proto.judge([Sample(id="k", prompt="q", responses=("Thought process:",), reference="7")],
                            Runner(backend=backend))
    assert judgments[0].verdict == "incorrect" and judgments[0].extra["defense"] == "answer-check"
    assert backend.calls == []


def test_unknown_defence_and_wrong_task_are_config_errors():
    with pytest.raises(ConfigError, match="unknown defense"):
        get_protocol("verify", JudgeConfig(options=(("defense", "magic"),)))
    pairwise = get_protocol("pairwise", JudgeConfig())
    with pytest.raises(ConfigError, match="needs a verify protocol"):
        plan_probe(VERIFY, ["master-keys"], pairwise)
    with pytest.raises(ConfigError, match="unknown attack"):
        plan_probe(VERIFY, ["nope"], get_protocol("verify"))
    with pytest.raises(ConfigError, match="unknown --option defense .it applies to -p verify"):
        plan_probe([Sample(id="p", prompt="q", responses=("a", "b"), label="A")], ["position"],
                   get_protocol("pairwise", JudgeConfig(options=(("defense", "answer-check"),))))


def test_position_runs_single_order_and_bias_suite_uses_pairwise(shared_data):
    bias = load_samples(shared_data / "evalbiasbench" / "evalbiasbench.jsonl", task="pairwise")
    backend = FakeBackend(responder=lambda p, i, params: "Reasoning: first.\nVerdict: [[A]]")
    runner = Runner(backend=backend)
    pairs = [Sample(id=f"p{i}", prompt="q", responses=(f"a{i}", f"b{i}"), label="A") for i in range(4)]
    (pos_phase,) = plan_probe(pairs, ["position"], get_protocol("pairwise", JudgeConfig(both_orders=True)))
    assert pos_phase.protocol.config.both_orders is False
    rows = {r.metric: r for r in run_phase(pos_phase, runner).rates}
    assert rows["consistency"].rate == 0.0 and rows["first-position"].rate == 1.0

    (phase,) = plan_probe([], ["bias-suite"], get_protocol("pairwise", JudgeConfig(both_orders=False)),
                          bias_samples=bias)
    assert phase.protocol.name == "pairwise" and len(phase.items) == len(bias)
    suite = run_phase(phase, runner)
    overall = next(r for r in suite.rates if r.group == "overall")
    n_first = sum(1 for it in phase.items if it.sample.label == "A")
    assert overall.k == n_first and overall.n == len(bias)
    assert 0 < n_first < len(bias)  # randomised orders: "always A" is not 100%
    per_bias = {r.name for r in suite.rates if r.group == "bias"}
    assert per_bias == {str(s.metadata["bias"]) for s in bias}


def test_bias_suite_from_a_verify_protocol_drops_verify_defences():
    bias = [Sample(id="b", prompt="q", responses=("good", "bad"), label="A", metadata={"bias": "x"})]
    proto = get_protocol("verify", JudgeConfig(options=(("defense", "answer-check"),)))
    (phase,) = plan_probe([], ["bias-suite"], proto, bias_samples=bias)
    assert phase.protocol.name == "pairwise" and dict(phase.protocol.config.options) == {}


def test_probe_dir_holds_ordinary_resumable_runs(tmp_path):
    backend = verdict_backend(lambda p: "correct")
    runner = Runner(backend=backend)
    proto = get_protocol("verify", JudgeConfig(options=(("verify_mode", "model"),)))
    (phase,) = plan_probe(VERIFY, ["master-keys"], proto)
    first = run_phase(phase, runner, tmp_path)
    run_dir = tmp_path / "master-keys-raw"
    assert first.run_dir == run_dir
    rows = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    assert len(rows) == len(phase.items)
    assert json.loads((run_dir / "manifest.json").read_text())["probe"] == {"attack": "master-keys",
                                                                          "defense": "raw"}

    # an interrupted run: the second chunk of 5 dies; a re-run judges only what is missing
    state = {"prompts": 0}

    def dying(p, i, params):
        state["prompts"] += 1
        if state["prompts"] > 5:
            raise KeyboardInterrupt
        return "Reasoning: x\nVerdict: correct"

    other = tmp_path / "again"
    with pytest.raises(KeyboardInterrupt):
        run_phase(phase, Runner(backend=FakeBackend(responder=dying)), other, chunk_size=5)
    assert (other / "master-keys-raw" / "results.partial.jsonl").exists()
    fresh = verdict_backend(lambda p: "correct")
    again = run_phase(phase, Runner(backend=fresh), other, chunk_size=5)
    assert again.rates == first.rates
    assert sum(c["prompts"] for c in fresh.calls) == len(phase.items) - 5
