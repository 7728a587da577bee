"""Distill -> SFT -> GRPO -> judge on the embedded model, a couple of CPU steps each.

Kept tiny on purpose (two short items, short max lengths): it proves the pipeline
runs end to end and the checkpoint is a judge, not that training helps.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgekit.backends.fake import FakeBackend
from judgekit.core.runner import Runner
from judgekit.core.types import GenerationParams, Prompt, Sample
from judgekit.protocols.base import JudgeConfig, get_protocol
from judgekit.train.distill import distill, write_jsonl

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))

ITEMS = [
    {"id": "t1", "prompt": "What is 2+2?", "response_a": "4", "response_b": "5", "label": "A"},
    {"id": "t2", "prompt": "Name a colour.", "response_a": "Seven.", "response_b": "Blue.", "label": "B"},
]


def _teacher(prompt: Prompt, index: int, params: GenerationParams) -> str:
    """A scripted teacher that is right in both orders (so every trace is kept)."""
    text = prompt.as_text()
    first = text.split("## Response A\n", 1)[1].split("\n", 1)[0]
    good = first in ("4", "Blue.")
    return f"Reasoning: Response {'A' if good else 'B'} answers correctly.\nVerdict: [[{'A' if good else 'B'}]]"


pytestmark = pytest.mark.integration


def test_distill_sft_grpo_then_judge_with_the_checkpoint(tmp_path: Path) -> None:
    import grpo
    import sft

    data = tmp_path / "pairs.jsonl"
    write_jsonl(data, ITEMS)
    samples = [Sample(id=i["id"], prompt=i["prompt"], responses=(i["response_a"], i["response_b"]), label=i["label"])
               for i in ITEMS]
    result = distill(samples, get_protocol("pairwise", JudgeConfig()), Runner(backend=FakeBackend(responder=_teacher)))
    assert result.report.traces_kept == 4
    sft_data = tmp_path / "sft.jsonl"
    write_jsonl(sft_data, result.records)

    sft_out = sft.main([
        "--config", str(ROOT / "training/configs/cpu_tiny_sft.yaml"),
        f"train_file={sft_data}", f"output_dir={tmp_path / 'sft'}",
        "trainer.max_steps=2", "trainer.per_device_train_batch_size=1", "trainer.max_length=320",
        "trainer.learning_rate=1e-4",
    ])
    sft_log = json.loads((sft_out / "judgekit_training.json").read_text())
    losses = [h["loss"] for h in sft_log["log_history"] if "loss" in h]
    assert len(losses) == 2 and all(loss > 0 for loss in losses)

    grpo_out = grpo.main([
        "--config", str(ROOT / "training/configs/cpu_tiny_grpo.yaml"),
        f"model={sft_out}", f"train_files=[{data}]", f"output_dir={tmp_path / 'grpo'}",
        "trainer.max_steps=2", "trainer.per_device_train_batch_size=4", "trainer.num_generations=4",
        "trainer.max_completion_length=16", "trainer.temperature=1.2",
        "rewards=[{name: verdict}, {name: brevity, correct: 0, wrong: 0, violation: 0, length_target: 6,"
        " length_penalty: 1.0}]",
    ])
    steps = [h for h in json.loads((grpo_out / "judgekit_training.json").read_text())["log_history"]
             if "frac_reward_zero_std" in h]
    assert len(steps) == 2
    # rewards vary within at least one group, so GRPO has an advantage signal
    assert min(h["frac_reward_zero_std"] for h in steps) < 1.0
    assert all("rewards/verdict/mean" in h for h in steps)

    from judgekit.cli import app

    run = tmp_path / "judged"
    res = CliRunner().invoke(app, [
        "judge", str(data), "--model", str(grpo_out), "--limit", "1", "--max-new-tokens", "16",
        "--single-order", "--no-cache", "-o", str(run),
    ])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["trace"]  # the trained model produced a judged trace
    manifest = json.loads((run / "manifest.json").read_text())
    # the run used the trained checkpoint: its weights' hash, not the embedded model's
    from judgekit.core.models import weights_hash

    assert manifest["model_id"].endswith(weights_hash(Path(grpo_out)))
    assert Path(manifest["backend"]["model_path"]).resolve() == Path(grpo_out).resolve()
