"""``judgekit train rm``: a Bradley-Terry scalar reward model (TRL's RewardTrainer).

From the embedded SmolLM2-135M (or ``--model DIR``) a sequence-classification head
is trained on the training side of the shared preference data (see
:mod:`judgekit.train.rm_data`), CPU and float32 by default, LoRA (merged on save) or
a full fine-tune. The output directory is a plain HF model that ``-p scalar-rm
--model DIR`` judges with, plus ``rm.json`` (data, options, what was dropped) and,
unless ``--no-eval``, the held-out accuracy beside the baselines (``eval.json``).

Options, each recorded in ``rm.json``:

* ``margin``: the loss is ``-log sigmoid(r_c - r_r - margin)`` (TRL's margin column,
  Llama-2 style; one constant for every pair: the shared sources carry no ratings).
* ``length_balance``: as many chosen-longer as chosen-shorter training pairs.
* ``noise``: a seeded fraction of training labels flipped (to measure robustness).
* ``label_smoothing`` (eps): ``-(1-eps) log s(d) - eps log s(-d)`` ("Secrets of RLHF
  II" discusses it as a noise-robust BT loss).
* ``collaborative``: "Two Minds Better Than One" (peer review between two RMs), in
  its offline, cross-fitted form: the pairs are split in two halves, an RM is trained
  on each, each RM scores the OTHER half, and the ``drop`` fraction of each half the
  peer finds least plausible is removed before the final RM trains on what is left.
  The paper filters online, per batch, with a curriculum; this is the one-shot form.

torch, transformers, peft and trl are imported inside the functions only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from judgekit.core.backend import get_backend
from judgekit.core.cpus import default_threads
from judgekit.core.errors import ConfigError
from judgekit.core.models import resolve_model
from judgekit.train.recipe.split import file_sha256
from judgekit.train.rm_data import (
    PAIR_SOURCES,
    PreferencePair,
    flip_labels,
    halves,
    length_balance,
    load_pairs,
    peer_filter,
    subsample,
)
from judgekit.train.rm_eval import evaluate_scores

Log = Callable[[str], None]


@dataclass(frozen=True)
class RMOptions:
    """Everything that shapes the trained RM (all recorded in ``rm.json``)."""

    model: str | None = None
    sources: tuple[str, ...] = PAIR_SOURCES
    limit: int | None = None
    epochs: float = 1.0
    max_steps: int | None = None
    learning_rate: float = 1e-4
    batch_size: int = 4
    max_length: int = 512
    lora_r: int = 16
    margin: float = 0.0
    length_balance: bool = False
    noise: float = 0.0
    label_smoothing: float = 0.0
    collaborative: bool = False
    drop: float = 0.2
    seed: int = 0
    eval_limit: int | None = None

    def check(self) -> None:
        """ConfigError for values that cannot train."""
        if not 0 <= self.noise < 0.5:
            raise ConfigError(f"--noise {self.noise}: must be in [0, 0.5)")
        if not 0 <= self.label_smoothing < 0.5:
            raise ConfigError(f"--label-smoothing {self.label_smoothing}: must be in [0, 0.5)")
        if not 0 <= self.drop < 1:
            raise ConfigError(f"--drop {self.drop}: must be in [0, 1)")
        if self.margin < 0 or self.lora_r < 0 or self.batch_size < 1 or self.max_length < 8:
            raise ConfigError("--margin and --lora-r must be >= 0, --batch-size >= 1, --max-length >= 8")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"--max-steps {self.max_steps}: must be >= 1")
        unknown = [s for s in self.sources if s not in PAIR_SOURCES]
        if unknown:
            raise ConfigError(f"--sources: unknown {', '.join(unknown)}; choose from {', '.join(PAIR_SOURCES)}")


def training_pairs(data_dir: Path, split_file: Path, opts: RMOptions) -> tuple[list[PreferencePair], dict[str, Any]]:
    """The training side, subsampled, balanced and noised as asked, with counts of each step."""
    pairs = load_pairs(data_dir, split_file, "train", opts.sources)
    counts: dict[str, Any] = {"train_side": len(pairs)}
    pairs = subsample(pairs, opts.limit, opts.seed)
    counts["subsampled"] = len(pairs)
    if opts.length_balance:
        pairs = length_balance(pairs, opts.seed)
        counts["length_balanced"] = len(pairs)
    pairs = flip_labels(pairs, opts.noise, opts.seed + 1)
    counts["flipped"] = sum(p.flipped for p in pairs)
    return pairs, counts


def conversation(prompt: str, response: str) -> list[dict[str, str]]:
    """The chat the RM is trained and scored on (the scalar-rm backend renders the same)."""
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]


def fit(pairs: Sequence[PreferencePair], opts: RMOptions, out_dir: Path, log: Log) -> dict[str, Any]:
    """Train one RM on ``pairs`` and save it (merged) to ``out_dir``; returns what happened."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from trl import RewardConfig

    threads = default_threads(None)
    if threads:
        torch.set_num_threads(threads)
    base = resolve_model(opts.model).path
    tok = AutoTokenizer.from_pretrained(str(base))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    rows, too_long = [], 0
    for p in pairs:
        c, r = conversation(p.prompt, p.chosen), conversation(p.prompt, p.rejected)
        if max(_n_tokens(tok, c), _n_tokens(tok, r)) > opts.max_length:
            too_long += 1
            continue
        rows.append({"chosen": c, "rejected": r, **({"margin": opts.margin} if opts.margin else {})})
    if not rows:
        raise ConfigError(f"no training pair fits --max-length {opts.max_length}")
    model = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1, dtype=torch.float32)
    model.config.pad_token_id = tok.pad_token_id
    peft_config = None
    if opts.lora_r:
        from peft import LoraConfig

        peft_config = LoraConfig(task_type="SEQ_CLS", r=opts.lora_r, lora_alpha=2 * opts.lora_r, lora_dropout=0.0,
                                 target_modules="all-linear", modules_to_save=["score"])
    steps = opts.max_steps or max(1, round(opts.epochs * len(rows) / opts.batch_size))
    args = RewardConfig(
        output_dir=str(out_dir / "trainer"), max_steps=steps, per_device_train_batch_size=opts.batch_size,
        learning_rate=opts.learning_rate, use_cpu=True, report_to="none", save_strategy="no",
        logging_steps=max(1, steps // 10), seed=opts.seed, max_length=opts.max_length,
        disable_dropout=True, lr_scheduler_type="linear", warmup_steps=max(1, steps // 10) if steps > 10 else 0,
    )
    trainer = _trainer_class()(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tok,
                               peft_config=peft_config)
    trainer.label_smoothing = opts.label_smoothing
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    for quiet in (PrinterCallback, ProgressCallback):  # library code prints nothing: the log goes to rm.json
        trainer.remove_callback(quiet)
    started = time.perf_counter()
    log(f"training on {len(rows)} pairs for {steps} steps ({'LoRA r' + str(opts.lora_r) if opts.lora_r else 'full'})")
    result = trainer.train()
    trained = trainer.model
    if opts.lora_r:
        trained = trained.merge_and_unload()
    out_dir.mkdir(parents=True, exist_ok=True)
    trained.save_pretrained(str(out_dir))
    tok.save_pretrained(str(out_dir))
    history = [{k: v for k, v in h.items() if k in ("step", "loss", "accuracy", "margin")}
               for h in trainer.state.log_history if "loss" in h]
    return {"pairs": len(rows), "too_long": too_long, "steps": steps, "train_loss": float(result.training_loss),
            "log": history,
            "seconds": round(time.perf_counter() - started, 1)}


def _n_tokens(tok: Any, conv: list[dict[str, str]]) -> int:
    ids = tok.apply_chat_template(conv, tokenize=True)
    return len(ids["input_ids"] if hasattr(ids, "keys") else ids)


def _trainer_class() -> Any:
    """RewardTrainer with an optionally label-smoothed BT loss (eps = 0 is TRL's loss exactly)."""
    import torch
    from torch import nn
    from trl import RewardTrainer

    class SmoothedRewardTrainer(RewardTrainer):  # type: ignore[misc]
        label_smoothing = 0.0

        def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            margin = inputs.pop("margin", None)
            outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], use_cache=False)
            chosen, rejected = torch.chunk(outputs.logits.squeeze(-1), chunks=2)
            diff = chosen - rejected - (margin if margin is not None else 0.0)
            eps = self.label_smoothing
            loss = (-(1 - eps) * nn.functional.logsigmoid(diff) - eps * nn.functional.logsigmoid(-diff)).mean()
            mode = "train" if model.training else "eval"
            with torch.no_grad():
                self._metrics[mode]["accuracy"].append((chosen > rejected).float().mean().item())
                self._metrics[mode]["margin"].append((chosen - rejected).mean().item())
            return (loss, outputs) if return_outputs else loss

    return SmoothedRewardTrainer


def margins(model_dir: Path, pairs: Sequence[PreferencePair], batch_size: int = 8) -> tuple[list[float], list[float]]:
    """Scores of the chosen and of the rejected response of each pair, by the saved RM (the scalar-rm backend)."""
    backend: Any = get_backend("scalar-rm", model=str(model_dir), batch_size=batch_size)
    items = [(p.prompt, p.chosen) for p in pairs] + [(p.prompt, p.rejected) for p in pairs]
    fits = backend.too_long(items)
    ok = [i for i, why in enumerate(fits) if why is None]
    values = dict(zip(ok, backend.rewards([items[i] for i in ok]), strict=True))
    n = len(pairs)
    nan = float("nan")
    return [values.get(i, nan) for i in range(n)], [values.get(n + i, nan) for i in range(n)]


def train_rm(data_dir: Path, split_file: Path, out: Path, opts: RMOptions, evaluate: bool = True,
             log: Log = lambda _: None) -> dict[str, Any]:
    """Train (collaboratively if asked), save to ``out``, evaluate on the held-out side; returns the report."""
    opts.check()
    pairs, counts = training_pairs(data_dir, split_file, opts)
    if not pairs:
        raise ConfigError("no training pairs")
    report: dict[str, Any] = {"options": asdict(opts), "data": counts, "split": str(split_file),
                              "split_sha256": file_sha256(split_file),
                              "never_trained_on": "held-out and any other listed side of the split; RewardBench v1"}
    final = list(pairs)
    if opts.collaborative:
        first, second = halves(pairs, opts.seed + 2)
        peers = {}
        for name, half in (("peer_a", first), ("peer_b", second)):
            log(f"collaborative: training {name} on {len(half)} pairs")
            peers[name] = fit(half, opts, out / name, log)
        kept = []
        for half, peer in ((first, "peer_b"), (second, "peer_a")):
            c, r = margins(out / peer, half)
            kept += peer_filter(half, [x - y for x, y in zip(c, r, strict=True)], opts.drop)
        dropped = [p for p in pairs if p not in kept]
        report["collaborative"] = {"peers": peers, "kept": len(kept), "dropped": len(dropped),
                                   "dropped_flipped": sum(p.flipped for p in dropped),
                                   "kept_flipped": sum(p.flipped for p in kept)}
        final = kept
    report["fit"] = fit(final, opts, out, log)
    if evaluate:
        held = subsample(load_pairs(data_dir, split_file, "heldout", opts.sources), opts.eval_limit, opts.seed)
        log(f"evaluating on {len(held)} held-out pairs")
        c, r = margins(out, held)
        scored = [i for i in range(len(held)) if c[i] == c[i] and r[i] == r[i]]  # NaN: too long to score
        unscored = len(held) - len(scored)
        held, c, r = [held[i] for i in scored], [c[i] for i in scored], [r[i] for i in scored]
        per_source = {}
        for s in opts.sources:
            idx = [i for i, p in enumerate(held) if p.source == s]
            per_source[s] = evaluate_scores([held[i] for i in idx], [c[i] for i in idx], [r[i] for i in idx])
        report["eval"] = {"side": "heldout", "unscored_too_long": unscored,
                          **evaluate_scores(held, c, r), "per_source": per_source}
    (out / "rm.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report
