"""Listwise and PRM judging end to end on the real embedded model (a few items; no accuracy asserted).

Constrained decoding must make every ranking a permutation and every first-error index
readable: zero parse failures is the assertion, plus complete records.
"""

from __future__ import annotations

import json
from pathlib import Path

from judgekit.core.data import load_samples
from judgekit.core.runner import Runner
from judgekit.core.types import Sample
from judgekit.evaluation.evaluate import run_eval
from judgekit.judge import run_judge
from judgekit.protocols.base import JudgeConfig, get_protocol

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "benchmarks"


def gsm8k_lists(shared_data: Path, n: int = 2, k: int = 3) -> list[Sample]:
    """``n`` questions with ``k`` candidate solutions each (shortened), the first correct one as ``best``."""
    rows = load_samples(shared_data / "gsm8k_verification" / "gsm8k_verification.jsonl", "verify")
    by_q: dict[str, list[Sample]] = {}
    for s in rows:
        by_q.setdefault(s.prompt, []).append(s)
    out = []
    for prompt, group in by_q.items():
        if len(group) < k or not any(s.label == "correct" for s in group[:k]):
            continue
        best = next(i for i, s in enumerate(group[:k]) if s.label == "correct")
        out.append(Sample(id=f"q{len(out)}", prompt=prompt, responses=tuple(s.responses[0][:240] for s in group[:k]),
                          label=chr(ord("A") + best)))
        if len(out) == n:
            break
    return out


def test_listwise_generative_and_logit(embedded_backend, shared_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    samples = gsm8k_lists(shared_data)
    for method in ("generative", "logit"):
        proto = get_protocol("listwise", JudgeConfig(method=method, max_new_tokens=64))  # type: ignore[arg-type]
        result = run_judge(samples, proto, Runner(embedded_backend), tmp_path / method)
        assert result.summary["parse_failures"] == 0, [j.failure_reason for j in result.judgments]
        for j in result.judgments:
            lw = j.extra["listwise"]
            assert lw["orders"] == 6 and len(j.per_order) == 6 and sorted(lw["ranking"]) == [0, 1, 2]
            assert j.verdict in ("A", "B", "C", "tie") and len(lw["rewards"]) == 3
            if method == "logit":
                assert j.probs is not None and sum(j.probs.values()) > 0.99
        assert result.summary["listwise"]["listwise_items"] == 2


def test_rewardbench2_best_of_4_runs_natively_as_listwise(embedded_backend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    proto = get_protocol("listwise", JudgeConfig(max_new_tokens=48))
    result = run_eval("rewardbench2", FIXTURES / "rewardbench2.jsonl", proto, Runner(embedded_backend),
                      tmp_path / "rb2", limit=2, report=False, n_boot=50)
    assert result.scores["judging"]["mode"] == "listwise"
    assert "subset/Factuality" in result.scores["metrics"]
    rows = [json.loads(line) for line in (tmp_path / "rb2" / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and not any(r["parse_failure"] for r in rows)
    assert all(r["extra"]["listwise"]["orders"] == 4 for r in rows)  # N = 4: a cyclic Latin square


def test_prm_both_modes_on_processbench_layout(embedded_backend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for mode, method in (("first-error", "generative"), ("per-step", "logit")):
        config = JudgeConfig(method=method, max_new_tokens=64, options=(("prm_mode", mode),))  # type: ignore[arg-type]
        result = run_eval("processbench", FIXTURES / "processbench", get_protocol("prm", config),
                          Runner(embedded_backend), tmp_path / mode, limit=2, report=False, n_boot=50)
        rows = [json.loads(line) for line in (tmp_path / mode / "results.jsonl").read_text().splitlines()]
        assert len(rows) == 2 and not any(r["parse_failure"] for r in rows), rows
        for r in rows:
            prm = r["extra"]["prm"]
            assert prm["split"] == "given" and int(r["verdict"]) in range(-1, prm["steps"])
        assert 0.0 <= result.scores["metrics"]["overall"]["value"] <= 1.0


def test_rubric_listwise_mode_ranks_against_the_rubric(embedded_backend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``-p rubric --option listwise=true``: permutation-constrained rankings, every order readable."""
    rubric = "Hard rules (a response that breaks one loses):\n- Gives the right number.\nPrinciples:\n- Is brief."
    config = JudgeConfig(max_new_tokens=48, rubric=rubric, options=(("listwise", "true"),))
    proto = get_protocol("rubric", config)
    item = Sample(id="r1", prompt="What is 7 * 6?", responses=("42", "7 * 6 = 36", "It is 48."), label="A")
    result = run_judge([item], proto, Runner(embedded_backend), tmp_path / "rubric-listwise")
    (j,) = result.judgments
    assert not j.parse_failure, j.failure_reason
    assert j.extra["listwise"]["orders"] == 6 and sorted(j.extra["listwise"]["ranking"]) == [0, 1, 2]
    assert j.extra["rubric"]["hard_rules"] and "Gives the right number." in j.trace[0].prompt
