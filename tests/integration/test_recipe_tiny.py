"""A CI-sized run of the judge recipe's code: data -> LoRA SFT -> ship -> judge through --model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from judgekit.train.distill import write_jsonl
from judgekit.train.recipe.build import DataOptions, check_files, sft_records, write_source_files
from judgekit.train.recipe.split import read_split, read_test

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SPLIT = ROOT / "training" / "split.json"
sys.path.insert(0, str(ROOT / "training"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tests.conftest import SHARED_DATA

    out = tmp_path_factory.mktemp("recipe")
    opts = DataOptions(max_items={"gsm8k": 3, "llmbar": 1, "hhh": 1, "pandalm": 1}, max_chars=1200, seed=0)
    write_source_files(SHARED_DATA, read_split(SPLIT), out / "data", opts, test=read_test(SPLIT))  # dev and test out
    files = [(name, out / "data" / f"train_{name}.jsonl") for name in ("gsm8k", "hhh")]
    records = sft_records(files, seed=0)[:4]
    write_jsonl(out / "data" / "sft.jsonl", records)
    assert check_files(SPLIT, [out / "data" / "sft.jsonl", *(p for _, p in files)]) > 0
    import sft

    sft.main(["--config", str(ROOT / "training/configs/cpu_judge_sft.yaml"), f"train_file={out}/data/sft.jsonl",
              f"output_dir={out}/sft", "trainer.num_train_epochs=3", "trainer.max_steps=12",
              "trainer.gradient_accumulation_steps=1",
              "trainer.learning_rate=1e-3", "trainer.warmup_steps=0", "trainer.lr_scheduler_type=constant",
              "trainer.logging_steps=1", "trainer.save_strategy='no'"])
    return out


def test_loss_goes_down_and_the_adapter_is_saved(trained):
    meta = json.loads((trained / "sft" / "judgekit_training.json").read_text())
    losses = [h["loss"] for h in meta["log_history"] if "loss" in h]
    assert len(losses) == 12
    assert sum(losses[-4:]) < sum(losses[:4]), losses
    assert (trained / "sft" / "adapter" / "adapter_model.safetensors").is_file()


def test_shipped_adapter_loads_through_model_and_judges(trained, tmp_path):
    import ship_judge
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    from judgekit.core.models import resolve_model

    (tmp_path / "table.json").write_text("{}")
    dest = ship_judge.main(["--sft", str(trained / "sft"), "--eval", str(tmp_path / "table.json"),
                            "--split", str(SPLIT), "--dest", str(tmp_path / "judge")])
    assert (dest / "judge_card.json").is_file()
    resolved = resolve_model(str(dest))
    base = resolve_model(None)
    assert resolved.model_id.startswith("judge-") and resolved.model_id != base.model_id
    # the merged weight is base + B @ A of the shipped (rank r, scale 1) adapter
    adapter = load_file(str(dest / "adapter_model.safetensors"))
    stem = "base_model.model.model.layers.0.self_attn.q_proj"
    merged = AutoModelForCausalLM.from_pretrained(str(resolved.path)).model.layers[0].self_attn.q_proj.weight
    original = AutoModelForCausalLM.from_pretrained(str(base.path)).model.layers[0].self_attn.q_proj.weight
    delta = adapter[f"{stem}.lora_B.weight"].float() @ adapter[f"{stem}.lora_A.weight"].float()
    assert delta.abs().max() > 0
    torch.testing.assert_close(merged - original, delta, atol=1e-4, rtol=1e-3)
    run = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "judgekit", "judge", str(trained / "data" / "heldout_gsm8k.jsonl"), "-p", "verify",
         "--model", str(dest), "--method", "logit", "--limit", "2", "-o", str(run)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    manifest = json.loads((run / "manifest.json").read_text())
    assert resolved.model_id in json.dumps(manifest)
    rows = [json.loads(line) for line in (run / "results.jsonl").open()]
    assert len(rows) == 2 and all(r["verdict"] in ("correct", "incorrect") for r in rows)
