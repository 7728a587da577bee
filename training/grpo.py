"""GRPO for a judge with judgekit's own verdict rewards (TRL GRPOTrainer).

    python training/grpo.py --config training/configs/cpu_tiny_grpo.yaml [key=value ...]
    accelerate launch --config_file training/accelerate/ddp.yaml training/grpo.py --config ...

Prompts are rendered by a judgekit protocol's templates (``protocol: pairwise``,
``verify``, ``rm-r1``...) from labeled files, in both presentation orders for
pairwise protocols (the label is swapped with the order), then chat-templated
exactly as ``judgekit judge`` does. Rewards are :class:`judgekit.train.rewards.JudgeReward`
functions from the ``rewards:`` list: each completion is read by the same Format
parser the evaluation uses. ``extra_files`` mixes in more labeled rows of the same
task, e.g. the Master-RM adversarial verification rows (content-free "master key"
responses labeled incorrect) for verifier training.

``trainer:`` takes any ``trl.GRPOConfig`` field; ``use_vllm: true`` with
``vllm_mode: colocate`` (or ``server`` + ``trl vllm-serve``) uses TRL's vLLM
generation when vLLM is installed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import chat_prompt, load_student, lora_config, model_dir, run_stage, trainer_settings  # noqa: E402


def build_rows(config: dict[str, Any], tokenizer: Any) -> tuple[list[dict[str, Any]], str]:
    """GRPO rows (prompt text, label in the shown order, item_id, swapped) and the verdict format name."""
    from judgekit.core.data import load_samples
    from judgekit.protocols.base import JudgeConfig, get_protocol
    from judgekit.train.distill import format_of, prompt_rows

    proto = get_protocol(config.get("protocol", "pairwise"),
                         JudgeConfig(both_orders=bool(config.get("both_orders", True)),
                                     principles=tuple(config.get("principles") or ())))
    rows: list[dict[str, Any]] = []
    for source in [*(config.get("train_files") or []), *(config.get("extra_files") or [])]:
        samples = load_samples(source, task=proto.task, limit=config.get("limit"))  # type: ignore[arg-type]
        for r in prompt_rows(samples, proto):
            if r.label is None:
                continue
            rows.append({"prompt": chat_prompt(tokenizer, r.messages(), r.prompt.assistant_prefix),
                         "label": r.label, "item_id": f"{Path(source).name}:{r.item_id}", "swapped": r.swapped})
    if not rows:
        raise SystemExit("no labeled rows to train on: check train_files")
    return rows, format_of(proto).name


def build_trainer(config: dict[str, Any]) -> tuple[Any, Any]:
    """The GRPOTrainer and tokenizer a config describes (nothing trained yet)."""
    from datasets import Dataset
    from transformers import PreTrainedModel
    from trl import GRPOConfig, GRPOTrainer

    from judgekit.train.rewards import load_reward_configs, reward_functions

    path = model_dir(config.get("model"))
    model, tokenizer = load_student(path, config.get("dtype", "float32"))
    tokenizer.padding_side = "left"
    rows, fmt = build_rows(config, tokenizer)
    entries = [{"format": fmt, **entry} for entry in (config.get("rewards") or [{}])]
    rewards = reward_functions(load_reward_configs({"rewards": entries}))
    settings = trainer_settings(config, report_to="none", logging_steps=1, save_strategy="no",
                                reward_weights=[r.config.weight for r in rewards])
    args = GRPOConfig(output_dir=str(Path(config["output_dir"]) / "trainer"), **settings)
    # TRL's parameter is a list of str | model | callable (list is invariant, so widen it here)
    reward_funcs: list[str | PreTrainedModel | Callable[..., list[float | None]]] = list(rewards)
    trainer = GRPOTrainer(
        model=model, reward_funcs=reward_funcs, args=args, train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer, peft_config=lora_config(config.get("lora")),
    )
    return trainer, tokenizer


def main(argv: list[str] | None = None) -> Path:
    """Train and save; returns the output directory."""
    return run_stage("grpo", build_trainer, __doc__, argv)


if __name__ == "__main__":
    main()
