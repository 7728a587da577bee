"""Supervised fine-tuning of a judge on distilled traces (TRL SFTTrainer).

    python training/sft.py --config training/configs/cpu_tiny_sft.yaml [key=value ...]
    accelerate launch --config_file training/accelerate/zero2.yaml training/sft.py --config ...

The dataset is the prompt/completion JSONL written by ``judgekit train distill``
(or ``training/distill.py``). Prompts are rendered with the student's chat template
exactly as ``judgekit judge`` renders them; the loss covers the completion only
(``completion_only_loss``). ``lora:`` in the config switches from a full fine-tune to
LoRA (peft); the adapter is merged on save, so the output directory is a plain
Hugging Face model: ``judgekit judge FILE --model OUTPUT_DIR``.

Config keys: ``model`` (null = embedded SmolLM2-135M), ``train_file``, ``eval_file``,
``output_dir``, ``dtype``, ``lora``, ``limit``, and ``trainer`` (any ``trl.SFTConfig``
field: ``max_steps``, ``learning_rate``, ``max_length``, ``use_cpu``, ``report_to``...).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    load_student,
    lora_config,
    model_dir,
    read_jsonl,
    run_stage,
    text_rows,
    trainer_settings,
)


def build_trainer(config: dict[str, Any]) -> tuple[Any, Any]:
    """The SFTTrainer and tokenizer a config describes (nothing trained yet)."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    path = model_dir(config.get("model"))
    model, tokenizer = load_student(path, config.get("dtype", "float32"))
    records = read_jsonl(config["train_file"])[: config.get("limit")]
    if not records:
        raise SystemExit(f"{config['train_file']}: no training rows (did distillation keep any trace?)")
    train = Dataset.from_list(text_rows(records, tokenizer))
    evaluation = None
    if config.get("eval_file"):
        evaluation = Dataset.from_list(text_rows(read_jsonl(config["eval_file"]), tokenizer))
    settings = trainer_settings(config, report_to="none", logging_steps=1, save_strategy="no")
    args = SFTConfig(
        output_dir=str(Path(config["output_dir"]) / "trainer"),
        completion_only_loss=True,
        **settings,
    )
    trainer = SFTTrainer(
        model=model, args=args, train_dataset=train, eval_dataset=evaluation,
        processing_class=tokenizer, peft_config=lora_config(config.get("lora")),
    )
    return trainer, tokenizer


def main(argv: list[str] | None = None) -> Path:
    """Train and save; returns the output directory."""
    return run_stage("sft", build_trainer, __doc__, argv)


if __name__ == "__main__":
    main()
