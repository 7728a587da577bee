"""``judgekit probe -a contrast``: contrast-instruction consistency on lexically similar pairs (fake backend)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from judgekit.cli import app
from judgekit.core.types import Judgment, Sample
from judgekit.probe.attacks import AttackSettings
from judgekit.probe.contrast import contrast_items, contrast_pairs, contrast_rates, similarity

SAMPLES = [
    Sample(id="a", prompt="Translate to French: the cat is black", responses=("le chat est noir", "x"), label="A"),
    Sample(id="b", prompt="Translate to French: the cat is white", responses=("y", "le chat est blanc"), label="B"),
    Sample(id="c", prompt="Write a haiku about rain", responses=("soft rain on the roof", "z"), label="A"),
    Sample(id="d", prompt="Unlabelled", responses=("p", "q"), label=None),
]


def test_pairs_match_similar_prompts_only():
    assert similarity("The cat", "the CAT") == 1.0 and similarity("", "") == 0.0
    assert contrast_pairs(SAMPLES) == [(0, 1, similarity(SAMPLES[0].prompt, SAMPLES[1].prompt))]


def test_items_show_each_instruction_with_both_preferred_answers():
    items = contrast_items(SAMPLES, AttackSettings())
    assert len(items) == 2
    for it in items:
        own = it.sample.metadata["own"]
        assert set(it.sample.responses) == {"le chat est noir", "le chat est blanc"}
        assert it.sample.responses[0 if it.sample.label == "A" else 1] == own
    assert {it.sample.prompt for it in items} == {SAMPLES[0].prompt, SAMPLES[1].prompt}


def test_rates_consistency_and_instruction_blindness():
    items = contrast_items(SAMPLES, AttackSettings())
    # a judge that always prefers "le chat est noir": right on one side, blind to the instruction
    blind = []
    for it in items:
        v = "A" if it.sample.responses[0] == "le chat est noir" else "B"
        blind.append((it, Judgment(sample_id=it.sample.id, verdict=v, reward=None)))
    rates = {r.metric: r for r in contrast_rates(blind)}
    assert (rates["own-answer"].k, rates["own-answer"].n) == (1, 2)
    assert (rates["consistency"].k, rates["instruction-blind"].k, rates["consistency"].n) == (0, 1, 1)
    right = [(it, Judgment(sample_id=it.sample.id, verdict=it.sample.label, reward=None)) for it in items]
    rates = {r.metric: r for r in contrast_rates(right)}
    assert rates["consistency"].k == 1 and rates["instruction-blind"].k == 0
    failed = [(it, Judgment(sample_id=it.sample.id, verdict=None, reward=None, parse_failure=True)) for it in items]
    rates = {r.metric: r for r in contrast_rates(failed)}
    assert rates["own-answer"].k == 0 and rates["consistency"].parse_failures == 1


def test_probe_cli_contrast(tmp_path: Path):
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps({"id": s.id, "prompt": s.prompt, "response_a": s.responses[0],
                                        "response_b": s.responses[1], "label": s.label}) + "\n"
                            for s in SAMPLES[:3]), encoding="utf-8")
    out = tmp_path / "p"
    result = CliRunner().invoke(app, ["probe", str(data), "--backend", "fake", "-a", "contrast", "-o", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "probe.json").read_text(encoding="utf-8"))
    rates = report["attacks"]["contrast"]["settings"]["raw"]["rates"]
    assert {r["metric"] for r in rates} == {"own-answer", "consistency", "instruction-blind"}
    assert [r["n"] for r in rates if r["metric"] == "consistency"] == [1]
