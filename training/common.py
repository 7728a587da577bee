"""Helpers shared by training/sft.py and training/grpo.py: config, chat rendering, saving.

Prompts are rendered with the student's own chat template exactly as the
transformers backend renders them at judge time (``add_generation_prompt=True``),
so the trained checkpoint sees the same text in training and in ``judgekit judge``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python training/sft.py` from a clone
    sys.path.insert(0, str(ROOT))


def load_config(path: Path | str, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Read a YAML config and apply ``dotted.key=value`` overrides (values parsed as YAML)."""
    config = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise SystemExit(f"override {item!r}: expected key=value")
        node = config
        *parents, leaf = key.strip().split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = _scalar(yaml.safe_load(raw))
    return config


def _scalar(value: Any) -> Any:
    """YAML 1.1 reads ``1e-4`` as a string; learning rates written that way are numbers."""
    if isinstance(value, str) and re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+", value):
        return float(value)
    return value


def model_dir(name: str | None) -> str:
    """A loadable HF directory: the embedded SmolLM2 (``None``), a .gguf file, or a local dir."""
    from judgekit.core.models import resolve_model

    return str(resolve_model(name).path)


def chat_prompt(tokenizer: Any, messages: Sequence[Mapping[str, str]], prefix: str = "") -> str:
    """The judge prompt as the model sees it at inference (generation prompt included)."""
    text: str = tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
    return text + prefix


def completion_of(record: Mapping[str, Any]) -> str:
    """The assistant text of a prompt/completion record (string or message list)."""
    comp = record["completion"]
    if isinstance(comp, str):
        return comp
    return "".join(m.get("content", "") for m in comp if m.get("role", "assistant") == "assistant")


def text_rows(records: Sequence[Mapping[str, Any]], tokenizer: Any) -> list[dict[str, str]]:
    """Conversational distill records -> plain ``prompt``/``completion`` strings for TRL.

    The completion ends with the tokenizer's EOS token (the chat template's end of
    turn for SmolLM2), so the model learns to stop after the verdict.
    """
    eos = tokenizer.eos_token or ""
    rows = []
    for rec in records:
        prompt = rec["prompt"] if isinstance(rec["prompt"], str) else chat_prompt(tokenizer, rec["prompt"])
        completion = completion_of(rec)
        if eos and not completion.endswith(eos):
            completion += eos
        rows.append({"prompt": prompt, "completion": completion})
    return rows


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    """All JSON lines of a file."""
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def lora_config(settings: Mapping[str, Any] | None) -> Any:
    """A peft LoraConfig from the ``lora:`` section, or None for full fine-tuning."""
    if not settings:
        return None
    from peft import LoraConfig

    params = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.05, "target_modules": "all-linear",
              "task_type": "CAUSAL_LM", **dict(settings)}
    return LoraConfig(**params)


def trainer_settings(config: dict[str, Any], **defaults: Any) -> dict[str, Any]:
    """The ``trainer:`` section over ``defaults``, with CPU-safe precision.

    TRL's configs default to ``bf16=True``. On a CPU without native bfloat16 matmuls
    (AVX2-only x86) autocast then falls back to a scalar GEMM: one SFT step of the
    recipe measured 255 s in bf16. So with ``use_cpu`` and no explicit ``bf16``,
    training runs in float32.
    """
    settings = {**defaults, **(config.get("trainer") or {})}
    if settings.get("use_cpu") and "bf16" not in settings:
        settings["bf16"] = False
    return settings


def load_student(path: str, dtype: str = "float32") -> tuple[Any, Any]:
    """Model and tokenizer (pad token set) from a local directory."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype))
    return model, tokenizer


def save_for_judgekit(trainer: Any, tokenizer: Any, out_dir: Path | str, meta: Mapping[str, Any]) -> Path:
    """Save a plain HF directory (LoRA merged) that ``judgekit judge --model DIR`` loads.

    A LoRA run also keeps its adapter in ``OUT/adapter`` (what ``training/ship_judge.py``
    packs into the shipped judge).

    Full fine-tunes go through ``trainer.save_model`` so DeepSpeed ZeRO-3 shards are
    gathered; LoRA adapters are merged into the base weights first.
    """
    out = Path(out_dir)
    unwrapped = trainer.accelerator.unwrap_model(trainer.model)
    if hasattr(unwrapped, "merge_and_unload"):  # peft model: merged weights, plus the adapter in adapter/
        if trainer.accelerator.is_main_process:
            unwrapped.save_pretrained(str(out / "adapter"))
            unwrapped.merge_and_unload().save_pretrained(str(out))
    else:
        trainer.save_model(str(out))
    if trainer.accelerator.is_main_process:
        tokenizer.save_pretrained(str(out))
        history = [h for h in trainer.state.log_history if h]
        (out / "judgekit_training.json").write_text(
            json.dumps({**meta, "log_history": history}, indent=2, default=str) + "\n", encoding="utf-8"
        )
    return out


def latest_checkpoint(trainer_dir: Path) -> str | None:
    """The newest ``checkpoint-N`` a killed run left behind (a re-run resumes from it), or None."""
    found = sorted(trainer_dir.glob("checkpoint-*"), key=lambda p: int(p.name.rsplit("-", 1)[1])
                   if p.name.rsplit("-", 1)[1].isdigit() else -1)
    return str(found[-1]) if found else None


def run_stage(
    stage: str, build_trainer: Callable[[dict[str, Any]], tuple[Any, Any]], doc: str | None,
    argv: list[str] | None = None,
) -> Path:
    """Parse ``--config`` + overrides, train, save for judgekit; shared by sft.py and grpo.py."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="YAML config (see training/configs/).")
    parser.add_argument("overrides", nargs="*", help="dotted.key=value overrides, e.g. trainer.max_steps=10")
    ns = parser.parse_args(argv)
    config = load_config(ns.config, ns.overrides)
    trainer, tokenizer = build_trainer(config)
    result = trainer.train(resume_from_checkpoint=latest_checkpoint(Path(config["output_dir"]) / "trainer"))
    out = save_for_judgekit(trainer, tokenizer, config["output_dir"],
                            {"stage": stage, "config": config, "train_metrics": result.metrics})
    if trainer.accelerator.is_main_process:
        print(f"saved {out}: judgekit judge FILE --model {out}")
    return out
