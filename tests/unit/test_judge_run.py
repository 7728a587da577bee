"""The judging path on the fake backend: both orders, outputs, manifest, cache, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from judgekit.backends.fake import FakeBackend
from judgekit.core.cache import CallCache
from judgekit.core.errors import ConfigError
from judgekit.core.runner import Runner
from judgekit.core.types import Prompt, Sample
from judgekit.judge import run_judge
from judgekit.protocols.base import JudgeConfig, get_protocol


def pairs(n: int) -> list[Sample]:
    return [Sample(id=f"s{i}", prompt=f"Question {i}?", responses=(f"good {i}", f"bad {i}"), label="A")
            for i in range(n)]


def position_biased(prompt: Prompt, index: int, params) -> str:  # type: ignore[no-untyped-def]
    """Always prefers whatever is shown first."""
    return "Reasoning: first is better.\nVerdict: [[A]]"


def content_judge(prompt: Prompt, index: int, params) -> str:  # type: ignore[no-untyped-def]
    """Prefers the response containing 'good', wherever it is."""
    user = prompt.messages[-1].content
    a_part = user.split("## Response A")[1].split("## Response B")[0]
    return "Reasoning: r\nVerdict: [[A]]" if "good" in a_part else "Reasoning: r\nVerdict: [[B]]"


def test_both_orders_and_position_bias(tmp_path: Path) -> None:
    result = run_judge(pairs(4), get_protocol("pairwise"), Runner(FakeBackend(position_biased)), tmp_path)
    assert all(j.verdict == "tie" and j.consistent is False for j in result.judgments)
    assert result.summary["position_consistency"] == 0.0 and result.summary["accuracy"] == 0.0

    result = run_judge(pairs(4), get_protocol("pairwise"), Runner(FakeBackend(content_judge)), tmp_path / "b")
    assert all(j.verdict == "A" and j.consistent and j.reward == 1.0 for j in result.judgments)
    assert result.summary["accuracy"] == 1.0 and result.summary["position_consistency"] == 1.0
    j = result.judgments[0]
    assert [p["order"] for p in j.per_order] == ["AB", "BA"] and [p["label"] for p in j.per_order] == ["A", "A"]


def test_output_files_and_manifest(tmp_path: Path) -> None:
    run_judge(pairs(3), get_protocol("pairwise"), Runner(FakeBackend()), tmp_path, input_path=None)
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert [r["sample_id"] for r in rows] == ["s0", "s1", "s2"]
    for r in rows:
        assert set(r) >= {"sample_id", "verdict", "reward", "per_order", "parse_failure", "failure_reason", "trace"}
        assert r["trace"][0]["parsed"]["raw"][0].startswith("Reasoning:")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["model_id"] == "fake-model" and manifest["templates"]["pairwise"]
    assert manifest["decoding"]["constraint"]["kind"] == "regex" and manifest["seed"] == 0
    assert "jinja2" in manifest["versions"] and manifest["timings"]["elapsed_s"] >= 0
    assert not (tmp_path / "results.partial.jsonl").exists()


def test_parse_failures_are_recorded_not_verdicts(tmp_path: Path) -> None:
    backend = FakeBackend(script={"Question 1?": "I cannot decide."})
    result = run_judge(pairs(2), get_protocol("pairwise", JudgeConfig(constrain=False)), Runner(backend), tmp_path)
    bad = result.judgments[1]
    assert bad.verdict is None and bad.reward is None and bad.parse_failure
    assert "no pairwise verdict" in (bad.failure_reason or "")
    assert result.summary["parse_failures"] == 1 and result.summary["parse_failure_rate"] == 0.5
    assert result.manifest["decoding"]["constraint"] is None


def test_logit_mode_probabilities_and_reward(tmp_path: Path) -> None:
    def choices(prompt: Prompt, options):  # type: ignore[no-untyped-def]
        return {"A": 0.7, "B": 0.2, "tie": 0.1}

    backend = FakeBackend(choice_responder=choices)
    proto = get_protocol("pairwise", JudgeConfig(method="logit"))
    [j] = run_judge(pairs(1), proto, Runner(backend), tmp_path).judgments
    # order AB: P(A)=.7; order BA unswapped: P(A)=.2 -> mean .45, P(B) .45, tie .1
    assert j.probs == pytest.approx({"A": 0.45, "B": 0.45, "tie": 0.1})
    assert j.reward == pytest.approx(0.5) and j.verdict == "tie" and j.consistent is False
    assert all(call["kind"] == "choices" for call in backend.calls)


def test_verify_and_pointwise(tmp_path: Path) -> None:
    samples = [Sample("v1", "2+2?", ("It is 4.",), reference="4", label="correct")]
    backend = FakeBackend(script={"It is 4.": "Reasoning: same.\nVerdict: correct"})
    [j] = run_judge(samples, get_protocol("verify"), Runner(backend), tmp_path / "v").judgments
    assert (j.verdict, j.reward) == ("correct", 1.0)
    backend = FakeBackend(script={"good 0": "Reasoning: r\nScore: 9", "bad 0": "Reasoning: r\nScore: 4"})
    [j] = run_judge(pairs(1), get_protocol("pointwise"), Runner(backend), tmp_path / "p").judgments
    assert j.scores == (9.0, 4.0) and j.verdict == "A"
    with pytest.raises(ConfigError, match="logit"):
        get_protocol("pointwise", JudgeConfig(method="logit"))


def test_cache_hit_on_rerun(tmp_path: Path) -> None:
    cache = CallCache(tmp_path / "c.sqlite")
    backend = FakeBackend()
    run_judge(pairs(5), get_protocol("pairwise"), Runner(backend, cache), tmp_path / "r1")
    calls_before = len(backend.calls)
    second = run_judge(pairs(5), get_protocol("pairwise"), Runner(backend, cache), tmp_path / "r2")
    assert len(backend.calls) == calls_before  # nothing recomputed
    assert second.summary["runner"]["cache_hits"] == 10


def test_too_long_items_are_skipped_and_reported(tmp_path: Path) -> None:
    samples = [*pairs(2), Sample("long", "word " * 500, ("a", "b"), label="A")]
    result = run_judge(samples, get_protocol("pairwise"), Runner(FakeBackend(max_context=300)), tmp_path)
    assert result.judgments[2].extra["skipped"].startswith("prompt has")
    assert result.judgments[2].verdict is None and result.summary["skipped"] == 1


class Crash(RuntimeError):
    pass


def test_resume_after_crash_midway(tmp_path: Path) -> None:
    """An exception after some chunks: the rerun judges only the rest, same final file."""
    reference = tmp_path / "ref"
    run_judge(pairs(10), get_protocol("pairwise"), Runner(FakeBackend()), reference, chunk_size=2)

    calls = {"n": 0}

    def flaky(prompt: Prompt, index: int, params) -> str:  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > 8:  # dies during the 3rd chunk (2 items x 2 orders per chunk)
            raise Crash("boom")
        from judgekit.backends.fake import default_responder

        return default_responder(prompt, index, params)

    run_dir = tmp_path / "run"
    with pytest.raises(Crash):
        run_judge(pairs(10), get_protocol("pairwise"), Runner(FakeBackend(flaky)), run_dir, chunk_size=2)
    assert not (run_dir / "results.jsonl").exists()  # no partial output passed off as complete
    backend = FakeBackend()
    result = run_judge(pairs(10), get_protocol("pairwise"), Runner(backend), run_dir, chunk_size=2)
    assert result.resumed == 4
    assert sum(c["prompts"] for c in backend.calls) == 12  # 6 items x 2 orders
    assert (run_dir / "results.jsonl").read_bytes() == (reference / "results.jsonl").read_bytes()


SLOW_RUN = """
import sys, time
from pathlib import Path
from judgekit.backends.fake import FakeBackend, default_responder
from judgekit.core.cache import CallCache
from judgekit.judge import run_judge
from judgekit.protocols.base import get_protocol
from judgekit.core.runner import Runner
from judgekit.core.types import Sample

def slow(prompt, index, params):
    time.sleep(float(sys.argv[2]))
    return default_responder(prompt, index, params)

samples = [Sample(id=f"s{i}", prompt=f"Question {i}?", responses=(f"good {i}", f"bad {i}"), label="A")
           for i in range(12)]
runner = Runner(FakeBackend(slow), CallCache(Path(sys.argv[1]) / "calls.sqlite"), chunk_size=2)
run_judge(samples, get_protocol("pairwise"), runner, Path(sys.argv[1]) / "run", chunk_size=2)
"""


def test_resume_after_kill_9(tmp_path: Path) -> None:
    script = tmp_path / "slow_run.py"
    script.write_text(SLOW_RUN)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    ref = tmp_path / "ref"
    subprocess.run([sys.executable, str(script), str(ref), "0"], check=True, env=env)

    work = tmp_path / "work"
    proc = subprocess.Popen([sys.executable, str(script), str(work), "0.05"], env=env)
    partial = work / "run" / "results.partial.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline:
        if partial.exists() and len(partial.read_text().splitlines()) >= 3:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (work / "run" / "results.jsonl").exists()
    done_before = len(partial.read_text().splitlines()) - 1
    assert 0 < done_before < 12
    subprocess.run([sys.executable, str(script), str(work), "0"], check=True, env=env)
    assert (work / "run" / "results.jsonl").read_bytes() == (ref / "run" / "results.jsonl").read_bytes()
    summary = json.loads((work / "run" / "summary.json").read_text())
    assert summary["resumed_items"] >= done_before


def test_partial_choice_failures_keep_successes(tmp_path: Path) -> None:
    from judgekit.core.backend import PartialChoicesError

    class Flaky(FakeBackend):
        fail = True

        def score_choices(self, prompts, choices):  # type: ignore[no-untyped-def]
            out = super().score_choices(prompts, choices)
            if self.fail:
                raise PartialChoicesError([out[0], None], {1: "HTTP 500"})
            return out

    cache = CallCache(tmp_path / "c.sqlite")
    backend = Flaky()
    proto = get_protocol("pairwise", JudgeConfig(method="logit", both_orders=False))
    with pytest.raises(PartialChoicesError):
        run_judge(pairs(2), proto, Runner(backend, cache), tmp_path / "r")
    backend.fail = False
    backend.calls.clear()
    run_judge(pairs(2), proto, Runner(backend, cache), tmp_path / "r")
    assert [c["prompts"] for c in backend.calls] == [1]  # only the failed prompt is re-sent


def test_lazy_backend_is_built_only_on_a_cache_miss(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The CLI path builds the backend on the first miss; a fully cached re-run never builds it."""
    import json as _json

    from typer.testing import CliRunner

    from judgekit.backends import fake
    from judgekit.cli import app

    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(_json.dumps({"prompt": f"q{i}", "response_a": "a", "response_b": "b", "label": "A"}) + "\n"
                            for i in range(3)))
    built: list[int] = []
    original = fake.FakeBackend.__init__

    def counting(self, *a, **k):  # type: ignore[no-untyped-def]
        built.append(1)
        original(self, *a, **k)

    monkeypatch.setattr(fake.FakeBackend, "__init__", counting)
    for out in ("one", "two"):
        result = CliRunner().invoke(app, ["judge", str(data), "--backend", "fake", "-o", str(tmp_path / out)])
        assert result.exit_code == 0, result.output
    assert built == [1]
    assert (tmp_path / "one" / "results.jsonl").read_text() == (tmp_path / "two" / "results.jsonl").read_text()
    assert _json.loads((tmp_path / "two" / "manifest.json").read_text())["backend"]["loaded"] is False


def test_lazy_backend_identity_matches_the_built_backend() -> None:
    from judgekit.core.backend import open_backend
    from judgekit.core.runner import backend_identity

    lazy = open_backend("fake")
    before = backend_identity(lazy)
    assert not lazy.loaded
    lazy.generate  # noqa: B018 - any other attribute builds it
    assert lazy.loaded and backend_identity(lazy.load()) == before
