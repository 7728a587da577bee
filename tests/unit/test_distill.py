"""Distillation keeps only traces that match the label in every presentation order."""

from __future__ import annotations

import json

import pytest

from judgekit.backends.fake import FakeBackend
from judgekit.core.errors import ConfigError
from judgekit.core.runner import Runner
from judgekit.core.types import GenerationParams, Prompt, Sample
from judgekit.judge import judge_samples
from judgekit.protocols.base import JudgeConfig, get_protocol
from judgekit.train.distill import distill, import_traces, prompt_rows, select_traces, write_jsonl

A = "Reasoning: the first response follows the instruction.\nVerdict: [[A]]"
B = "Reasoning: the second response follows the instruction.\nVerdict: [[B]]"
JUNK = "Reasoning: I cannot decide between them"

SAMPLES = [
    # label A: the good response is shown first in AB, second in BA
    Sample(id="consistent", prompt="Name a prime.", responses=("good: 7", "bad: 8"), label="A"),
    Sample(id="biased", prompt="Name an even number.", responses=("good: 4", "bad: 5"), label="A"),
    Sample(id="reversed", prompt="Name a vowel.", responses=("bad: k", "good: e"), label="B"),
    Sample(id="unlabeled", prompt="Name a colour.", responses=("good: red", "bad: 9"), label=None),
]

# per item: what the teacher writes for (AB samples, BA samples)
SCRIPT = {
    "prime": ([A, B, JUNK], [B, A, B]),  # right in both orders: keep AB[0], BA[0], BA[2] (deduplicated)
    "even": ([A, A, A], [A, A, A]),  # always says A: right in AB, wrong in BA -> item rejected
    "vowel": ([B, A, JUNK], [A, JUNK, JUNK]),  # label B; BA shows good first -> A is right there
    "colour": ([A, A, A], [B, B, B]),
}


def teacher(prompt: Prompt, index: int, params: GenerationParams) -> str:
    text = prompt.as_text()
    key = next(k for k in SCRIPT if k in text)
    a_pos, b_pos = text.index("## Response A"), text.index("## Response B")
    good_pos = text.index("good:")
    swapped = not (a_pos < good_pos < b_pos)
    if key == "vowel":  # the good response is responses[1], so AB shows it second
        swapped = not swapped
    return SCRIPT[key][1 if swapped else 0][index]


def _pairwise(samples: int = 3) -> tuple:
    proto = get_protocol("pairwise", JudgeConfig(samples=samples, temperature=0.7))
    backend = FakeBackend(responder=teacher)
    return proto, backend, Runner(backend=backend)


def test_only_label_consistent_traces_in_both_orders_are_kept() -> None:
    proto, backend, runner = _pairwise()
    result = distill(SAMPLES, proto, runner)
    kept = [(r["item_id"], r["order"], r["completion"][0]["content"]) for r in result.records]
    assert kept == [
        ("consistent", "AB", A),
        ("consistent", "BA", B),
        ("reversed", "AB", B),
        ("reversed", "BA", A),
    ]
    # every kept trace's verdict equals the label in the order the teacher saw
    for r in result.records:
        assert f"[[{r['label']}]]" in r["completion"][0]["content"]
    report = result.report
    assert (report.items, report.items_kept, report.traces, report.traces_kept) == (4, 2, 24, 4)
    assert report.rejected == {
        "duplicate": 1, "no label": 6, "other order wrong": 3, "parse failure": 4, "wrong verdict": 6,
    }
    assert sum(report.rejected.values()) + report.traces_kept == report.traces
    # k samples per prompt come from one batched generate call
    assert [(c["prompts"], c["n"]) for c in backend.calls] == [(8, 3)]


def test_records_are_trl_prompt_completion_rows_rendered_by_the_protocol(tmp_path) -> None:
    proto, _, runner = _pairwise()
    result = distill(SAMPLES[:1], proto, runner, max_per_prompt=1)
    rows = prompt_rows(SAMPLES[:1], proto)
    assert [r["prompt"] for r in result.records] == [row.messages() for row in rows]
    assert [r["swapped"] for r in result.records] == [False, True]
    assert result.records[1]["label"] == "B"  # label in the swapped order
    out = tmp_path / "sft.jsonl"
    assert write_jsonl(out, result.records) == 2
    first = json.loads(out.read_text().splitlines()[0])
    assert first["prompt"][0]["role"] == "system" and first["completion"][0]["role"] == "assistant"


def test_import_traces_from_rows_and_from_judge_results(tmp_path) -> None:
    proto, _, runner = _pairwise()
    generated = distill(SAMPLES, proto, runner)
    # 1) a judgekit results.jsonl from `judgekit judge --samples 3`
    judgments = judge_samples(SAMPLES, proto, Runner(backend=FakeBackend(responder=teacher)))
    results = tmp_path / "results.jsonl"
    write_jsonl(results, (j.to_dict() for j in judgments))
    imported = select_traces(prompt_rows(SAMPLES, proto), import_traces(results), proto.verdict_format)
    assert imported.records == generated.records
    # 2) plain {id, order, trace} rows
    rows = tmp_path / "traces.jsonl"
    write_jsonl(rows, [{"id": "consistent", "order": "AB", "trace": A},
                       {"id": "consistent", "order": "BA", "trace": A},
                       {"id": "consistent", "order": "BA", "completion": [{"role": "assistant", "content": B}]}])
    picked = select_traces(prompt_rows(SAMPLES[:1], proto), import_traces(rows), proto.verdict_format)
    assert [r["completion"][0]["content"] for r in picked.records] == [A, B]
    assert picked.report.rejected == {"wrong verdict": 1}
    (tmp_path / "bad.jsonl").write_text('{"order": "AB"}\n')
    with pytest.raises(ConfigError, match="need 'id'"):
        import_traces(tmp_path / "bad.jsonl")


def test_verify_single_order_and_unsupported_settings() -> None:
    proto = get_protocol("verify")
    sample = Sample(id="v", prompt="6*7?", responses=("42",), reference="42", label="correct")
    backend = FakeBackend(responder=lambda p, i, k: "Reasoning: same answer.\nVerdict: correct")
    result = distill([sample], proto, Runner(backend=backend))
    assert [r["order"] for r in result.records] == ["AB"] and result.report.traces_kept == 1
    with pytest.raises(ConfigError, match="generative"):
        prompt_rows([sample], get_protocol("verify", JudgeConfig(method="logit")))


def test_cli_train_distill_writes_dataset_and_report(tmp_path) -> None:
    from typer.testing import CliRunner

    from judgekit.cli import app

    data = tmp_path / "pairs.jsonl"
    write_jsonl(data, [{"id": s.id, "prompt": s.prompt, "response_a": s.responses[0], "response_b": s.responses[1],
                        "label": s.label} for s in SAMPLES[:3]])
    traces = tmp_path / "traces.jsonl"
    write_jsonl(traces, [{"id": "consistent", "order": "AB", "trace": A},
                         {"id": "consistent", "order": "BA", "trace": B},
                         {"id": "biased", "order": "AB", "trace": A},
                         {"id": "biased", "order": "BA", "trace": A}])
    out = tmp_path / "sft.jsonl"
    res = CliRunner().invoke(app, ["train", "distill", str(data), "--traces", str(traces), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["consistent:AB", "consistent:BA"]
    report = json.loads(out.with_suffix(".report.json").read_text())
    assert (report["items_kept"], report["traces_kept"], report["rejected"]["wrong verdict"]) == (1, 2, 1)
    res = CliRunner().invoke(app, ["train", "distill", str(data), "--backend", "fake", "--method", "logit",
                                   "--out", str(out)])
    assert res.exit_code == 2 and "generative" in res.output
