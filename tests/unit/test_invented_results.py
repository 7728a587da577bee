"""Results that must never be invented or stale (issue 16, items 1-9), on fake backends.

New names are imported inside the tests that need them, so each test can be run
against older code on its own and fail for its own reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from judgekit.backends.fake import FakeBackend
from judgekit.backends.openai import OpenAIBackend
from judgekit.cli import app
from judgekit.core.cache import CallCache
from judgekit.core.data import load_samples
from judgekit.core.formats import PAIRWISE, VERIFY, Format
from judgekit.core.runner import Runner
from judgekit.core.special_tokens import POLICY
from judgekit.core.types import GenerationParams, Message, ParseFailure, Prompt, Sample, Verdict
from judgekit.judge import judge_samples, run_fingerprint, run_judge
from judgekit.protocols import JudgeConfig, get_protocol
from tests.fault_server import FaultServer

ROOT = Path(__file__).resolve().parents[2]
CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def prompt(text: str) -> Prompt:
    return Prompt(messages=(Message("user", text),), template="t", template_hash="h")


# ---------------------------------------------------------------- 1. logit mode: no choice token, exact ties
def test_http_logit_without_choice_tokens_is_a_recorded_failure_and_not_cached(tmp_path: Path) -> None:
    cache = CallCache(tmp_path / "calls.sqlite")
    sample = Sample(id="q1", prompt="2+2?", responses=("5",), reference="4", label="incorrect")
    proto = get_protocol("verify", JudgeConfig(method="logit", options=(("verify_mode", "model"),)))
    with FaultServer(owned_by="me", top_logprobs={"Hello": -0.1, "The": -2.0}) as server:
        backend = OpenAIBackend(server.base_url, "m", api_key_env="", mode="completions", chat_template=CHATML)
        [judgment] = proto.judge([sample], Runner(backend, cache=cache))
    assert judgment.verdict is None and judgment.reward is None and judgment.parse_failure
    assert "no choice token among the backend's top logprobs" in (judgment.failure_reason or "")
    assert backend.info()["choices_not_in_top_logprobs"] == 1
    assert len(cache) == 0  # an absent probability is never stored as a real one
    cache.close()


def test_exact_tie_in_logit_probabilities_is_never_a_verdict() -> None:
    tie = PAIRWISE.from_probs({"A": 0.4, "B": 0.4, "tie": 0.2})
    assert isinstance(tie, ParseFailure) and "exact tie" in tie.reason and "A = B" in tie.reason
    assert isinstance(VERIFY.from_probs({"correct": 0.0, "incorrect": 0.0}), ParseFailure)
    won = VERIFY.from_probs({"correct": 0.3, "incorrect": 0.7})
    assert isinstance(won, Verdict) and won.label == "incorrect"


def test_exact_tie_in_average_policy_is_a_tie_not_the_first_label() -> None:
    from judgekit.core.aggregate import combine_orders

    first = Verdict(label="A", probs={"A": 0.6, "B": 0.4, "tie": 0.0})
    second = Verdict(label="B", probs={"A": 0.4, "B": 0.6, "tie": 0.0})
    assert combine_orders(first, second, "average")[0] == "tie"


# ---------------------------------------------------------------- 2. every output-affecting setting in keys
@dataclass
class IdentityFake(FakeBackend):
    """A fake that reports settings, like the transformers backend's dtype and device."""

    settings: dict[str, Any] = field(default_factory=dict)

    def identity(self) -> dict[str, Any]:
        return dict(self.settings)


def test_cache_keys_and_fingerprint_follow_the_backend_identity() -> None:
    p, params = prompt("q"), GenerationParams()
    f32 = Runner(IdentityFake(settings={"dtype": "float32", "device": "cpu"}))
    bf16 = Runner(IdentityFake(settings={"dtype": "bfloat16", "device": "cpu"}))
    assert f32._gen_key(p, params, 0) != bf16._gen_key(p, params, 0)
    proto = get_protocol("pairwise")
    assert run_fingerprint(proto, f32, "x") != run_fingerprint(proto, bf16, "x")
    same = Runner(IdentityFake(settings={"dtype": "float32", "device": "cpu"}))
    assert f32._gen_key(p, params, 0) == same._gen_key(p, params, 0)


def test_transformers_and_http_backends_report_their_output_settings() -> None:
    from judgekit.backends.transformers import TransformersBackend

    stub = SimpleNamespace(name="transformers", dtype="bfloat16", device="cuda")
    assert TransformersBackend.identity(stub) == {"backend": "transformers", "dtype": "bfloat16", "device": "cuda",
                                                  "data_special_tokens": POLICY}

    def http(**kw: Any) -> dict[str, Any]:
        args: dict[str, Any] = {"base_url": "http://127.0.0.1:9/v1", "model": "m", "api_key_env": "",
                                "constraint_style": "vllm", **kw}
        return Runner(OpenAIBackend(**args)).identity()

    base = http()
    for changed in (http(base_url="http://127.0.0.1:10/v1"), http(constraint_style="openai"),
                    http(mode="completions", chat_template=CHATML),
                    http(mode="completions", chat_template=CHATML + " ")):
        assert changed != base
    assert http(mode="completions", chat_template=CHATML) != http(mode="completions", chat_template=CHATML + " ")
    assert "user:" not in json.dumps(http(base_url="http://user:secret@127.0.0.1:9/v1"))


# ---------------------------------------------------------------- 3. samples: only the missing ones, never overwritten
def test_growing_k_generates_only_missing_samples_and_keeps_cached_ones(tmp_path: Path) -> None:
    calls = iter(range(10_000))

    def fresh_every_call(p: Prompt, index: int, params: GenerationParams) -> str:
        return f"sample {index} call {next(calls)}"

    cache = CallCache(tmp_path / "calls.sqlite")
    backend = FakeBackend(responder=fresh_every_call)
    runner = Runner(backend, cache=cache)
    two = runner.generate([prompt("q")], GenerationParams(n=2, temperature=0.7))[0]
    four = runner.generate([prompt("q")], GenerationParams(n=4, temperature=0.7))[0]
    assert [g.text for g in four[:2]] == [g.text for g in two]  # cached samples kept
    assert [g.text.split(" call")[0] for g in four] == [f"sample {i}" for i in range(4)]
    last = backend.calls[-1]
    assert last["n"] == 2 and last["params"].first_index == 2  # only samples 2 and 3 were generated
    again = Runner(backend, cache=cache).generate([prompt("q")], GenerationParams(n=4, temperature=0.7))[0]
    assert again == four and len(backend.calls) == 2
    cache.close()


def test_sample_seed_depends_on_prompt_and_index_only() -> None:
    from judgekit.core.types import sample_seed

    seeds = {sample_seed(0, prompt(t), i) for t in ("a", "b") for i in range(3)}
    assert len(seeds) == 6 and all(0 <= s < 2**31 for s in seeds)
    assert sample_seed(0, prompt("a"), 1) == sample_seed(0, prompt("a"), 1) != sample_seed(1, prompt("a"), 1)


# ---------------------------------------------------------------- 4. rubrics filtered on the items being judged
def _pairs_file(tmp_path: Path) -> Path:
    rows = [{"id": f"p{i}", "prompt": f"Q{i}", "response_a": "good", "response_b": "bad", "label": "A"}
            for i in range(2)]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _label_rubric(folder: Path, sample_id: str) -> None:
    from judgekit.protocols.rubric.generate import rubric_filename
    from judgekit.protocols.rubric.schema import Rubric, RubricItem, save_rubric

    rubric = Rubric(name=f"crg-{sample_id}", principles=(RubricItem("The response is good."),),
                    source={"sample_id": sample_id, "labeled": True, "attempt": 1})
    save_rubric(rubric, folder / rubric_filename(sample_id))


def test_rubric_dir_filtered_on_the_same_items_is_refused_unless_allowed(tmp_path: Path) -> None:
    data, folder = _pairs_file(tmp_path), tmp_path / "rubrics"
    _label_rubric(folder, "p0")  # p1 has no rubric file
    base = ["judge", str(data), "-p", "rubric", "--backend", "fake", "--no-cache", "--option", f"rubric_dir={folder}"]
    refused = CliRunner().invoke(app, [*base, "-o", str(tmp_path / "refused")])
    assert refused.exit_code == 2 and "gold labels" in refused.output and "Traceback" not in refused.output
    ran = CliRunner().invoke(app, [*base, "--option", "allow_label_rubrics=true", "-o", str(tmp_path / "run")])
    assert ran.exit_code == 0, ran.output
    assert "WARNING" in ran.output
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert any("gold labels" in w for w in manifest["warnings"]) and summary["warnings"] == manifest["warnings"]
    rows = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert rows[0]["extra"]["rubric_from_own_label"] is True
    assert not rows[1]["parse_failure"] and "no rubric file" in rows[1]["extra"]["skipped"]
    assert summary["skipped"] == 1 and summary["judged"] == 1


# ---------------------------------------------------------------- 5. a meta-RM evaluated on its training items
def test_meta_rm_training_overlap_is_warned_in_the_scale_summary(tmp_path: Path) -> None:
    from judgekit.scaling.curve import run_scale

    meta_dir = tmp_path / "meta-rm"
    meta_dir.mkdir()
    (meta_dir / "meta_rm.json").write_text(json.dumps({"format_version": 1, "max_length": 64,
                                                       "item_ids": ["s0", "other"]}))
    samples = [Sample(id=f"s{i}", prompt=f"Q{i}", responses=("x", "y"), label="A") for i in range(3)]
    cfg = JudgeConfig(samples=2, temperature=0.7, reduce="meta", options=(("meta_rm", str(meta_dir)),))
    result = run_scale(samples, get_protocol("pairwise", cfg), Runner(FakeBackend()), [1, 2], tmp_path / "scale",
                       scorer=lambda pairs: [0.0] * len(pairs))
    [warning] = result.summary["warnings"]
    assert "1 of 3 items were in the meta-RM's training data" in warning and "s0" in warning
    assert json.loads(result.json_path.read_text())["warnings"] == [warning]


# ---------------------------------------------------------------- 6. the answer check on keys it was not written from
def test_answer_check_rejects_held_out_openers_for_numeric_references() -> None:
    from judgekit.probe.keys import bundled_keys, heldout_keys
    from judgekit.protocols.defenses import has_final_answer

    held = heldout_keys()
    assert not {k.key for k in held.keys} & {k.key for k in bundled_keys().keys}
    assert [k.key for k in held.keys if has_final_answer(k.key, "18")] == []
    for opener in ("Step 1:", "Sure!", "Okay", "Let me think."):
        assert opener in {k.key for k in held.keys} and not has_final_answer(opener, "18")
    assert has_final_answer("Step 1: add 10 and 8.\nSo 18", "18") and has_final_answer("1.", "1")


def test_probe_docs_report_the_held_out_table_the_script_prints() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("answer_check_heldout", ROOT / "eval" / "answer_check_heldout.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    table = module.table()
    assert "held-out" in table and table in (ROOT / "docs" / "probe.md").read_text(encoding="utf-8")


# ---------------------------------------------------------------- 7. a parser bug is raised, a parse error recorded
def test_format_parse_raises_parser_bugs_and_records_parse_errors() -> None:
    from judgekit.core.formats import ParseError

    def buggy(text: str) -> Verdict:
        return {"x": Verdict(label="A")}[text]  # KeyError: a bug, not model output

    def strict(text: str) -> Verdict:
        raise ParseError(f"cannot read {text!r}")

    bug = Format(name="b", labels=("A",), instructions="", logit_instructions="", regex="", parser=buggy)
    with pytest.raises(KeyError):
        bug.parse("y")
    strict_fmt = Format(name="s", labels=("A",), instructions="", logit_instructions="", regex="", parser=strict)
    failure = strict_fmt.parse("z")
    assert isinstance(failure, ParseFailure) and failure.reason == "cannot read 'z'"


# ---------------------------------------------------------------- 8. k samples and order-disagreement ties, explicit
def test_failed_samples_are_counted_on_the_judgment_and_in_the_summary(tmp_path: Path) -> None:
    def first_sample_garbled(p: Prompt, index: int, params: GenerationParams) -> str:
        return "no verdict here" if index == 0 else "Reasoning: fine.\nVerdict: [[A]]"

    samples = [Sample(id="s", prompt="Q", responses=("x", "y"), label="A")]
    proto = get_protocol("pairwise", JudgeConfig(samples=3, temperature=0.7, both_orders=False))
    result = run_judge(samples, proto, Runner(FakeBackend(responder=first_sample_garbled)), tmp_path / "run")
    [j] = result.judgments
    assert j.verdict == "A" and not j.parse_failure
    assert (j.extra["samples_parsed"], j.extra["samples_total"], j.extra["sample_failures"]) == (2, 3, 1)
    assert result.summary["items_with_sample_failures"] == 1


def test_logit_order_disagreement_tie_has_the_ties_reward_and_says_why() -> None:
    def always_first_shown(p: Prompt, choices: Any) -> dict[str, float]:
        first_is_x = p.as_text().index("xx") < p.as_text().index("yy")
        return {"A": 0.8, "B": 0.1, "tie": 0.1} if first_is_x else {"A": 0.6, "B": 0.3, "tie": 0.1}

    samples = [Sample(id="s", prompt="Q", responses=("xx", "yy"))]
    proto = get_protocol("pairwise", JudgeConfig(method="logit"))
    [j] = judge_samples(samples, proto, Runner(FakeBackend(choice_responder=always_first_shown)))
    assert j.verdict == "tie" and j.consistent is False
    assert j.reward == 0.5  # not P(A) + P(tie)/2 of the mean probabilities (0.6)
    assert j.probs is not None and j.probs["A"] == pytest.approx(0.55)
    assert "orders disagree" in j.extra["reward_rule"]


# ---------------------------------------------------------------- 9. chosen/rejected files: seeded display order
def test_always_a_judge_does_not_score_100_percent_on_chosen_rejected_single_order(tmp_path: Path) -> None:
    path = tmp_path / "cr.jsonl"
    path.write_text("".join(json.dumps({"id": f"i{i}", "prompt": f"Q{i}", "chosen": f"good {i}",
                                        "rejected": f"bad {i}"}) + "\n" for i in range(40)), encoding="utf-8")
    samples = load_samples(path, "pairwise", seed=0)
    always_a = FakeBackend(responder=lambda p, i, params: "Reasoning: first.\nVerdict: [[A]]")
    proto = get_protocol("pairwise", JudgeConfig(both_orders=False))
    result = run_judge(samples, proto, Runner(always_a), tmp_path / "run", input_path=path)
    order = result.manifest["chosen_rejected_order"]
    assert order["seed"] == 0 and order["chosen_as_A"] + order["chosen_as_B"] == 40
    assert 0 < order["chosen_as_B"] < 40
    assert result.summary["accuracy"] == order["chosen_as_A"] / 40 < 0.8
    for s, j in zip(samples, result.judgments, strict=True):
        chosen = s.responses[0] if s.label == "A" else s.responses[1]
        assert chosen.startswith("good") and j.extra["chosen_position"] == s.label and j.extra["order_seed"] == 0
    other = load_samples(path, "pairwise", seed=1)
    assert [s.label for s in other] != [s.label for s in samples]


def test_cli_passes_the_seed_to_the_display_order(tmp_path: Path) -> None:
    path = tmp_path / "cr.jsonl"
    path.write_text("".join(json.dumps({"id": f"i{i}", "prompt": f"Q{i}", "chosen": "c", "rejected": "r"}) + "\n"
                            for i in range(16)), encoding="utf-8")
    for seed in ("0", "5"):
        out = tmp_path / f"run{seed}"
        res = CliRunner().invoke(app, ["judge", str(path), "--backend", "fake", "--no-cache", "--single-order",
                                       "--seed", seed, "-o", str(out)])
        assert res.exit_code == 0, res.output
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["chosen_rejected_order"]["seed"] == int(seed)
        rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
        expected = [s.label for s in load_samples(path, "pairwise", seed=int(seed))]
        assert [r["extra"]["chosen_position"] for r in rows] == expected
