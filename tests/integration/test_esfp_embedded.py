"""End to end on the embedded models: SmolLM2 explains, the trained MiniLM fills the slot."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from judgekit.core.cache import CallCache
from judgekit.core.data import load_samples
from judgekit.core.runner import Runner
from judgekit.esfp.model import ESFPModel
from judgekit.esfp.slots import Layout
from judgekit.esfp.train import TrainConfig, explain_samples, train
from judgekit.protocols.base import JudgeConfig, get_protocol

pytestmark = pytest.mark.integration


def test_esfp_on_llmbar_with_embedded_models(embedded_backend, shared_data: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    samples = [replace(s, id=f"llmbar:{s.id}")
               for s in load_samples(shared_data / "llmbar" / "llmbar.jsonl", task="pairwise", limit=8)]
    runner = Runner(embedded_backend, cache=CallCache(tmp_path / "calls.sqlite"))
    explanations = explain_samples(samples, runner, max_new_tokens=24)
    assert all(len(v) == 2 and all(t.strip() for t in v) for v in explanations.values())

    cfg = TrainConfig(epochs=1, lr=1e-4, batch_size=8, eval_fraction=0.25, pointwise=False,
                      layout=Layout(max_length=128, explanation_max=24))
    model, metrics = train(samples, explanations, cfg)  # embedded all-MiniLM-L6-v2, head tied + learned
    assert metrics["data"]["train"] == 6 and metrics["eval"]["n"] == 2
    path = model.save(tmp_path / "esfp")
    assert json.loads((path / "esfp.json").read_text())["trained"] is True

    proto = get_protocol("esfp", JudgeConfig(options=(("esfp_model", str(path)), ("explain_tokens", 24))))
    judgments = proto.judge(samples[:3], runner)
    for j in judgments:
        assert j.verdict in ("A", "B", "tie")
        assert sum(j.probs.values()) == pytest.approx(1.0)
        assert [t.name for t in j.trace] == ["explain_0", "explain_1", "slot"]
    again = ESFPModel.load(path, batch_size=model.batch_size)
    items = [(s.prompt, *s.responses) for s in samples[:3]]
    exs = [explanations[s.id] for s in samples[:3]]
    assert [x.probs for x in model.score_pairs(items, exs)] == [x.probs for x in again.score_pairs(items, exs)]
    # the protocol used the same cached explanations, so its probabilities match the model's
    assert [j.probs for j in judgments] == [x.probs for x in again.score_pairs(items, exs)]
