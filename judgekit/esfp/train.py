"""Fine-tune the masked LM of ESFP-RM on labeled preference pairs.

Each pair (ties dropped) gives two pairwise examples, one per order (the slot's label
word is ``first`` in AB order and ``second`` in BA order), and, unless disabled, two
pointwise examples (chosen -> ``good``, rejected -> ``bad``). The loss is the cross
entropy of the label-word logits at the slot, soft-maxed over the verbalizer only.
Explanations come from stage 1 (any runner, cached) or from a JSONL file of
``{"id": ..., "explanations": [for response 1, for response 2]}`` rows.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from judgekit.core.errors import ConfigError
from judgekit.core.runner import Runner
from judgekit.core.stats import accuracy_ci
from judgekit.core.types import Sample
from judgekit.esfp.encoder import load_encoder
from judgekit.esfp.explain import explain_responses
from judgekit.esfp.model import ESFPMeta, ESFPModel, pair_verdict
from judgekit.esfp.slots import Layout, SlotInput, encode_pointwise

Explanations = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and data settings of one training run."""

    epochs: int = 3
    lr: float = 5e-5
    batch_size: int = 8
    weight_decay: float = 0.01
    seed: int = 0
    eval_fraction: float = 0.2
    use_explanation: bool = True
    pointwise: bool = True
    layout: Layout = field(default_factory=Layout)


def preference_pairs(samples: Sequence[Sample]) -> tuple[list[Sample], dict[str, int]]:
    """Keep two-response samples labelled ``A`` or ``B``; count what was dropped and why."""
    kept, dropped = [], {"tie": 0, "unlabelled": 0, "not_a_pair": 0}
    for s in samples:
        if len(s.responses) != 2:
            dropped["not_a_pair"] += 1
        elif s.label == "tie":
            dropped["tie"] += 1
        elif s.label not in ("A", "B"):
            dropped["unlabelled"] += 1
        else:
            kept.append(s)
    return kept, dropped


def split(samples: Sequence[Sample], eval_fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Deterministic held-out split: ids sorted, shuffled with ``seed``, first part held out."""
    if not 0 <= eval_fraction < 1:
        raise ConfigError(f"eval fraction {eval_fraction} must be in [0, 1)")
    order = sorted(range(len(samples)), key=lambda i: samples[i].id)
    random.Random(seed).shuffle(order)
    n_eval = round(len(samples) * eval_fraction)
    held = set(order[:n_eval])
    return [s for i, s in enumerate(samples) if i not in held], [s for i, s in enumerate(samples) if i in held]


def explain_samples(samples: Sequence[Sample], runner: Runner, max_new_tokens: int = 64) -> dict[str, list[str]]:
    """Stage-1 explanations for every response of every sample (through the runner's cache)."""
    items = [(s.prompt, r) for s in samples for r in s.responses]
    texts = iter(explain_responses(items, runner, max_new_tokens))
    return {s.id: [next(texts) for _ in s.responses] for s in samples}


def read_explanations(path: Path) -> dict[str, list[str]]:
    """Read ``{"id", "explanations": [...]}`` JSONL rows."""
    out: dict[str, list[str]] = {}
    for n, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out[str(row["id"])] = [str(x) for x in row["explanations"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}:{n}: expected {{\"id\", \"explanations\": [...]}} ({exc})") from exc
    return out


def write_explanations(path: Path, explanations: Explanations) -> None:
    """Write explanations as JSONL (the format :func:`read_explanations` reads)."""
    with Path(path).open("w") as f:
        for sid, texts in explanations.items():
            f.write(json.dumps({"id": sid, "explanations": list(texts)}, ensure_ascii=False) + "\n")


def _ex(explanations: Explanations | None, s: Sample) -> list[str] | None:
    if explanations is None:
        return None
    if s.id not in explanations:
        raise ConfigError(f"no explanation for sample {s.id!r}")
    return list(explanations[s.id])


def slot_examples(
    model: ESFPModel, samples: Sequence[Sample], explanations: Explanations | None, pointwise: bool
) -> list[tuple[str, SlotInput, int]]:
    """``(form, input, target index)`` training examples (see the module docstring)."""
    out: list[tuple[str, SlotInput, int]] = []
    meta = model.meta
    for s in samples:
        ex = _ex(explanations, s) if meta.use_explanation else None
        ab, ba = model.pair_inputs(s.prompt, s.responses[0], s.responses[1], ex)
        a_wins = s.label == "A"
        out += [("pairwise", ab, 0 if a_wins else 1), ("pairwise", ba, 1 if a_wins else 0)]
        if pointwise:
            for k, resp in enumerate(s.responses):
                inp = encode_pointwise(model.encoder.tokenizer, s.prompt, resp, ex[k] if ex else None,
                                       meta.layout, meta.pointwise_slot)
                good = (k == 0) == a_wins
                out.append(("pointwise", inp, 0 if good else 1))
    return out


LogitsFn = Callable[[str, Sequence[SlotInput]], Any]


def fit(
    module: Any, examples: Sequence[tuple[str, SlotInput, int]], logits_fn: LogitsFn, cfg: TrainConfig,
    on_step: Callable[[int, int, float], None] | None = None,
) -> dict[str, Any]:
    """Minimise cross entropy of ``logits_fn`` over examples (batches never mix forms)."""
    import torch

    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    by_form: dict[str, list[tuple[SlotInput, int]]] = {}
    for form, inp, target in examples:
        by_form.setdefault(form, []).append((inp, target))
    batches_per_epoch = sum((len(v) + cfg.batch_size - 1) // cfg.batch_size for v in by_form.values())
    total = max(1, batches_per_epoch * cfg.epochs)
    opt = torch.optim.AdamW([p for p in module.parameters() if p.requires_grad], lr=cfg.lr,
                            weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: max(0.0, 1 - step / total))
    losses: list[float] = []
    module.train()
    start = time.perf_counter()
    for _ in range(cfg.epochs):
        batches = []
        for form, rows in by_form.items():
            idx = list(range(len(rows)))
            rng.shuffle(idx)
            batches += [(form, [rows[i] for i in idx[k : k + cfg.batch_size]])
                        for k in range(0, len(idx), cfg.batch_size)]
        rng.shuffle(batches)
        for form, batch in batches:
            logits = logits_fn(form, [x for x, _ in batch])
            loss = torch.nn.functional.cross_entropy(logits, torch.tensor([t for _, t in batch]))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
            if on_step:
                on_step(len(losses), total, losses[-1])
    module.eval()
    k = max(1, len(losses) // 10)
    return {"steps": len(losses), "examples": len(examples), "loss_first": sum(losses[:k]) / k,
            "loss_last": sum(losses[-k:]) / k, "seconds": round(time.perf_counter() - start, 2)}


def evaluate(model: ESFPModel, samples: Sequence[Sample], explanations: Explanations | None) -> dict[str, Any]:
    """Held-out metrics: symmetrised pairwise accuracy (ties = half credit) with CIs, and more."""
    if not samples:
        return {"n": 0}
    ex = [_ex(explanations, s) if model.meta.use_explanation else None for s in samples]
    start = time.perf_counter()
    scores = model.score_pairs([(s.prompt, s.responses[0], s.responses[1]) for s in samples], ex)
    seconds = time.perf_counter() - start
    credit, consistent = [], 0
    for s, sc in zip(samples, scores, strict=True):
        label = pair_verdict(sc.probs)
        credit.append(0.5 if label == "tie" else float(label == s.label))
        p_ab, p_ba = sc.per_order
        consistent += pair_verdict(p_ab) == pair_verdict({"A": p_ba["B"], "B": p_ba["A"]})
    out: dict[str, Any] = {"n": len(samples), "accuracy": accuracy_ci(credit),
                           "consistent_rate": consistent / len(samples),
                           "pairs_per_s": len(samples) / seconds if seconds else None}
    point_ex: list[str | None] = []
    for s, x in zip(samples, ex, strict=True):
        point_ex += x if x is not None else [None] * len(s.responses)
    points = model.score_points([(s.prompt, r) for s in samples for r in s.responses], point_ex)
    agree = 0
    for k, sc in enumerate(scores):
        pa, pb = points[2 * k][0]["good"], points[2 * k + 1][0]["good"]
        agree += (pa > pb) == (sc.probs["A"] > sc.probs["B"])
    out["pointwise_pairwise_sign_agreement"] = agree / len(samples)
    return out


def train(
    samples: Sequence[Sample], explanations: Explanations | None, cfg: TrainConfig,
    encoder: str | Path | None = None, explainer: Mapping[str, Any] | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
) -> tuple[ESFPModel, dict[str, Any]]:
    """Drop ties, split with ``cfg.seed``, fine-tune and evaluate (see :func:`train_split`)."""
    pairs, dropped = preference_pairs(samples)
    if len(pairs) < 2:
        raise ConfigError(f"need at least 2 labelled A/B pairs to train, found {len(pairs)} (dropped {dropped})")
    train_set, eval_set = split(pairs, cfg.eval_fraction, cfg.seed)
    model, metrics = train_split(train_set, eval_set, explanations, cfg, encoder, explainer, on_step)
    metrics["data"] = {**metrics["data"], "dropped": dropped}
    model.meta = replace(model.meta, metrics=metrics)
    return model, metrics


def train_split(
    train_set: Sequence[Sample], eval_set: Sequence[Sample], explanations: Explanations | None, cfg: TrainConfig,
    encoder: str | Path | None = None, explainer: Mapping[str, Any] | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
) -> tuple[ESFPModel, dict[str, Any]]:
    """Fine-tune on ``train_set``, evaluate on ``eval_set``; the model's meta is marked ``trained``."""
    if cfg.use_explanation and explanations is None:
        raise ConfigError("training with explanations needs explanations (a runner or --explanations FILE)")
    loaded = load_encoder(encoder, seed=cfg.seed)
    meta = ESFPMeta(trained=False, use_explanation=cfg.use_explanation, layout=cfg.layout,
                    base_model=str(encoder or "embedded:all-MiniLM-L6-v2"), explainer=dict(explainer or {}))
    model = ESFPModel(encoder=loaded, meta=meta, batch_size=cfg.batch_size)
    exs = explanations if cfg.use_explanation else None
    examples = slot_examples(model, train_set, exs, cfg.pointwise)

    def logits_fn(form: str, inputs: Sequence[SlotInput]) -> Any:
        return model.label_logits(inputs, model.pair_ids if form == "pairwise" else model.point_ids)

    fit_stats = fit(loaded.model, examples, logits_fn, cfg, on_step)
    metrics: dict[str, Any] = {
        "data": {"train": len(train_set), "eval": len(eval_set)},
        "train": fit_stats,
        "eval": evaluate(model, eval_set, exs),
        "config": {k: v for k, v in asdict(cfg).items() if k != "layout"},
    }
    model.meta = replace(meta, trained=True, metrics=metrics)
    return model, metrics
