"""The judges judgekit ships as LoRA adapters over the embedded model, and their merging.

``--model judgekit-135m`` names the judge trained by ``training/recipes/judgekit_135m.sh``:
a LoRA adapter (``judgekit/weights/judgekit-135m/``, peft's file layout, a few MB)
over the embedded SmolLM2-135M. :func:`merge_adapter` adds ``scale * B @ A`` to each
adapted weight of the base model (no peft needed at judge time) and saves a plain
Hugging Face directory, once, under the model cache; later runs load it directly.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
SHIPPED = ("judgekit-135m",)
ADAPTER_FILE = "adapter_model.safetensors"
CONFIG_FILE = "adapter_config.json"
CARD_FILE = "judge_card.json"


def shipped_adapter(name: str) -> Path | None:
    """The adapter directory of a shipped judge, or None when ``name`` is not one (or is not installed)."""
    if name.lower() not in SHIPPED:
        return None
    path = WEIGHTS_DIR / name.lower()
    return path if shipped_adapter_dir(path) else None


def shipped_adapter_dir(path: Path) -> bool:
    """True when ``path`` holds a LoRA adapter in peft's layout (to merge into the embedded model)."""
    return (path / ADAPTER_FILE).is_file() and (path / CONFIG_FILE).is_file()


def lora_scale(config: dict[str, object]) -> float:
    """``lora_alpha / r`` (or ``/ sqrt(r)`` with rsLoRA), as peft scales the update."""
    r = float(config["r"])  # type: ignore[arg-type]
    alpha = float(config.get("lora_alpha", r))  # type: ignore[arg-type]
    return alpha / (r**0.5) if config.get("use_rslora") else alpha / r


def merge_adapter(base_dir: Path, adapter_dir: Path, dest: Path, marker: dict[str, str]) -> None:
    """Write ``base + adapter`` as a plain HF model directory at ``dest`` (atomically, via a temp dir)."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = json.loads((adapter_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    scale = lora_scale(config)
    tensors = load_file(str(adapter_dir / ADAPTER_FILE))
    model = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=torch.float32)
    params = dict(model.named_parameters())
    merged = 0
    with torch.no_grad():
        for key, a in tensors.items():
            if not key.endswith(".lora_A.weight"):
                continue
            stem = key[: -len(".lora_A.weight")]
            target = stem.removeprefix("base_model.model.") + ".weight"
            if target not in params:
                raise ValueError(f"adapter {adapter_dir}: {target} is not a weight of the base model")
            b = tensors[f"{stem}.lora_B.weight"]
            params[target].add_(scale * (b.float() @ a.float()))
            merged += 1
    if not merged:
        raise ValueError(f"adapter {adapter_dir}: no LoRA weights found")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        model.save_pretrained(str(tmp))
        AutoTokenizer.from_pretrained(str(base_dir)).save_pretrained(str(tmp))
        card = adapter_dir / CARD_FILE
        if card.is_file():
            shutil.copy(card, tmp / CARD_FILE)
        (tmp / "judgekit_source.json").write_text(json.dumps({**marker, "merged_modules": merged}))
        try:
            os.rename(tmp, dest)
        except OSError:
            if not (dest / "judgekit_source.json").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
