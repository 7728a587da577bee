"""ESFP-RM stage 2: label-word probabilities at the slot, symmetrised, as a reward.

The masked LM reads a slot input (see :mod:`judgekit.esfp.slots`); the logits of the
label words at the mask position are soft-maxed over the verbalizer only, so the
label probabilities always sum to 1. Pairwise inputs are scored in both orders and
symmetrised exactly: ``P(A) = (P_AB(first) + P_BA(second)) / 2``. The reward is
``P(A)`` for a pair and ``P(good)`` for a single response.

A saved ESFP model is a Hugging Face masked-LM directory plus ``esfp.json`` holding
the layout, verbalizers, whether explanations are used, the training metrics and
``"trained": true``. :meth:`ESFPModel.load` refuses anything else.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from judgekit.core.errors import ConfigError
from judgekit.esfp.encoder import LoadedEncoder, load_encoder, quiet_transformers
from judgekit.esfp.explain import explain_responses
from judgekit.esfp.slots import (
    PAIRWISE_SLOT,
    PAIRWISE_VERBALIZER,
    POINTWISE_SLOT,
    POINTWISE_VERBALIZER,
    Cut,
    Layout,
    SlotInput,
    Verbalizer,
    encode_pairwise,
    encode_pointwise,
    label_word_ids,
)

META_FILE = "esfp.json"
FORMAT_VERSION = 1


def softmax_over(logits: Sequence[float], labels: Sequence[str]) -> dict[str, float]:
    """Softmax of the label-word logits, keyed by label (sums to 1)."""
    top = max(logits)
    exps = [math.exp(x - top) for x in logits]
    total = sum(exps)
    return {lab: e / total for lab, e in zip(labels, exps, strict=True)}


def symmetrise(p_ab: Mapping[str, float], p_ba: Mapping[str, float]) -> dict[str, float]:
    """Combine the AB-order and BA-order probabilities into order-free ``{"A", "B"}``.

    In the BA order the slot's "first" response is B, so ``P(A)`` averages the AB
    order's ``A`` with the BA order's ``B``. Swapping the two inputs swaps the result
    exactly (float addition is commutative).
    """
    return {"A": (p_ab["A"] + p_ba["B"]) / 2, "B": (p_ab["B"] + p_ba["A"]) / 2}


def pair_verdict(probs: Mapping[str, float]) -> str:
    """``A`` or ``B`` by the larger probability; ``tie`` only when exactly equal."""
    if probs["A"] == probs["B"]:
        return "tie"
    return "A" if probs["A"] > probs["B"] else "B"


def _verbalizer(d: Mapping[str, Any] | None, default: Verbalizer) -> Verbalizer:
    if not d:
        return default
    return Verbalizer(labels=tuple(d["labels"]), words=tuple(d["words"]))


@dataclass(frozen=True)
class ESFPMeta:
    """What ``esfp.json`` records next to the weights."""

    trained: bool = False
    use_explanation: bool = True
    layout: Layout = field(default_factory=Layout)
    pairwise: Verbalizer = PAIRWISE_VERBALIZER
    pointwise: Verbalizer = POINTWISE_VERBALIZER
    pairwise_slot: str = PAIRWISE_SLOT
    pointwise_slot: str = POINTWISE_SLOT
    base_model: str = ""
    explainer: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        d = asdict(self)
        d["format_version"] = FORMAT_VERSION
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ESFPMeta:
        """Inverse of :meth:`to_dict`."""
        return cls(
            trained=bool(d.get("trained", False)),
            use_explanation=bool(d.get("use_explanation", True)),
            layout=Layout(**d.get("layout", {})),
            pairwise=_verbalizer(d.get("pairwise"), PAIRWISE_VERBALIZER),
            pointwise=_verbalizer(d.get("pointwise"), POINTWISE_VERBALIZER),
            pairwise_slot=d.get("pairwise_slot", PAIRWISE_SLOT),
            pointwise_slot=d.get("pointwise_slot", POINTWISE_SLOT),
            base_model=str(d.get("base_model", "")),
            explainer=dict(d.get("explainer", {})),
            metrics=dict(d.get("metrics", {})),
        )


@dataclass(frozen=True)
class PairScore:
    """Symmetrised pair probabilities, the per-order ones, and the cuts made."""

    probs: Mapping[str, float]
    per_order: tuple[Mapping[str, float], Mapping[str, float]]
    cuts: tuple[Cut, ...]


def _head_logits(model: Any, input_ids: Any, attention: Any, positions: Any) -> Any:
    """Vocabulary logits at one position per row, running the LM head only there."""
    import torch

    base = getattr(model, model.base_model_prefix, None)
    head = next((getattr(model, n) for n in ("cls", "lm_head") if hasattr(model, n)), None)
    rows = torch.arange(input_ids.shape[0])
    if base is not None and head is not None:
        hidden = base(input_ids=input_ids, attention_mask=attention)[0]
        return head(hidden[rows, positions])
    return model(input_ids=input_ids, attention_mask=attention).logits[rows, positions]


def collate(inputs: Sequence[SlotInput], pad_id: int) -> tuple[Any, Any, Any]:
    """Pad a batch: ``(input_ids, attention_mask, mask_positions)`` tensors."""
    import torch

    width = max(len(x.input_ids) for x in inputs)
    ids = torch.full((len(inputs), width), pad_id, dtype=torch.long)
    att = torch.zeros((len(inputs), width), dtype=torch.long)
    for r, x in enumerate(inputs):
        ids[r, : len(x.input_ids)] = torch.tensor(x.input_ids)
        att[r, : len(x.input_ids)] = 1
    return ids, att, torch.tensor([x.mask_position for x in inputs])


@dataclass
class ESFPModel:
    """A masked LM plus its ESFP metadata: turns slot inputs into label probabilities."""

    encoder: LoadedEncoder
    meta: ESFPMeta
    batch_size: int = 16

    def __post_init__(self) -> None:
        tok = self.encoder.tokenizer
        self.pair_ids = label_word_ids(tok, self.meta.pairwise.words)
        self.point_ids = label_word_ids(tok, self.meta.pointwise.words)

    @classmethod
    def load(cls, path: str | Path, batch_size: int = 16) -> ESFPModel:
        """Load a trained ESFP model directory; :class:`ConfigError` if it is not one."""
        path = Path(path).expanduser()
        meta_path = path / META_FILE
        if not meta_path.is_file():
            raise ConfigError(
                f"{path} is not a trained ESFP model (no {META_FILE}); train one with `judgekit esfp train DATA`"
            )
        meta = ESFPMeta.from_dict(json.loads(meta_path.read_text()))
        if not meta.trained:
            raise ConfigError(
                f"{path} holds an untrained slot head: its label-word probabilities mean nothing. "
                "Train it with `judgekit esfp train DATA` first"
            )
        encoder = load_encoder(path)
        if encoder.untrained_head:
            raise ConfigError(f"{path}: masked-LM head weights missing ({', '.join(encoder.untrained_head)})")
        return cls(encoder=encoder, meta=meta, batch_size=batch_size)

    def save(self, path: str | Path) -> Path:
        """Write weights, tokenizer and ``esfp.json`` to ``path``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        with quiet_transformers():
            self.encoder.model.save_pretrained(str(path))
            self.encoder.tokenizer.save_pretrained(str(path))
        (path / META_FILE).write_text(json.dumps(self.meta.to_dict(), indent=2, ensure_ascii=False))
        return path

    def label_logits(self, inputs: Sequence[SlotInput], word_ids: Sequence[int]) -> Any:
        """Label-word logits at the slot, shape ``[len(inputs), len(word_ids)]`` (keeps grad)."""
        import torch

        ids, att, pos = collate(inputs, self.encoder.tokenizer.pad_token_id or 0)
        logits = _head_logits(self.encoder.model, ids, att, pos)
        return logits[:, torch.tensor(list(word_ids))]

    def probs(self, inputs: Sequence[SlotInput], form: str) -> list[dict[str, float]]:
        """Label probabilities per input, normalised over the form's verbalizer."""
        import torch

        verb = self.meta.pairwise if form == "pairwise" else self.meta.pointwise
        word_ids = self.pair_ids if form == "pairwise" else self.point_ids
        self.encoder.model.eval()
        # Length-sorted batches waste little on padding. Padding changes float32 results
        # in the last bits, so scores are bit-identical for the same inputs and batch size.
        order = sorted(range(len(inputs)), key=lambda i: len(inputs[i].input_ids))
        out: dict[int, dict[str, float]] = {}
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                rows = self.label_logits([inputs[i] for i in idx], word_ids)
                out.update({i: softmax_over(r.double().tolist(), verb.labels) for i, r in zip(idx, rows, strict=True)})
        return [out[i] for i in range(len(inputs))]

    def pair_inputs(
        self, prompt: str, a: str, b: str, explanations: Sequence[str] | None
    ) -> tuple[SlotInput, SlotInput]:
        """Both orders of one pair (explanations follow their responses)."""
        tok, lay, slot = self.encoder.tokenizer, self.meta.layout, self.meta.pairwise_slot
        ex = explanations if self.meta.use_explanation else None
        ab = encode_pairwise(tok, prompt, a, b, ex, lay, slot)
        ba = encode_pairwise(tok, prompt, b, a, tuple(ex[::-1]) if ex is not None else None, lay, slot)
        return ab, ba

    def score_pairs(
        self, items: Sequence[tuple[str, str, str]], explanations: Sequence[Sequence[str] | None]
    ) -> list[PairScore]:
        """Score ``(prompt, a, b)`` items in both orders and symmetrise."""
        pairs = [self.pair_inputs(p, a, b, e) for (p, a, b), e in zip(items, explanations, strict=True)]
        flat = [x for pair in pairs for x in pair]
        probs = self.probs(flat, "pairwise")
        out = []
        for i, (ab, ba) in enumerate(pairs):
            p_ab, p_ba = probs[2 * i], probs[2 * i + 1]
            out.append(PairScore(probs=symmetrise(p_ab, p_ba), per_order=(p_ab, p_ba), cuts=ab.cuts + ba.cuts))
        return out

    def score_points(
        self, items: Sequence[tuple[str, str]], explanations: Sequence[str | None]
    ) -> list[tuple[dict[str, float], tuple[Cut, ...]]]:
        """Score ``(prompt, response)`` items: ``({"good", "bad"}, cuts)`` each."""
        tok, lay = self.encoder.tokenizer, self.meta.layout
        inputs = [
            encode_pointwise(tok, p, r, e if self.meta.use_explanation else None, lay, self.meta.pointwise_slot)
            for (p, r), e in zip(items, explanations, strict=True)
        ]
        return list(zip(self.probs(inputs, "pointwise"), (x.cuts for x in inputs), strict=True))


RewardFn = Callable[..., list[float | None]]


def _completion_text(completion: Any) -> str | None:
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], Mapping):
        content = completion[-1].get("content")
        return content if isinstance(content, str) else None
    return None


def _prompt_text(prompt: Any) -> str | None:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        users = [m.get("content") for m in prompt if isinstance(m, Mapping) and m.get("role") == "user"]
        return users[-1] if users and isinstance(users[-1], str) else None
    return None


def esfp_reward_fn(model_dir: str | Path, runner: Any = None, explain_tokens: int = 64) -> RewardFn:
    """A TRL reward function ``(completions, **kwargs) -> list[float | None]``.

    Each completion is judged pointwise: stage 1 explains it with ``runner`` (any
    judgekit backend; cached), stage 2 returns ``P(good)`` in [0, 1]. ``runner`` may be
    ``None`` only for a model trained without explanations. Items whose prompt or
    completion cannot be read get ``None`` (TRL ignores them).
    """
    model = ESFPModel.load(model_dir)
    if model.meta.use_explanation and runner is None:
        raise ConfigError(f"{model_dir} was trained with explanations: the reward function needs a runner")

    def reward(completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        prompts = kwargs.get("prompts") or kwargs.get("prompt") or [""] * len(completions)
        texts = [(_prompt_text(p), _completion_text(c)) for p, c in zip(prompts, completions, strict=True)]
        ok = [i for i, (p, c) in enumerate(texts) if p is not None and c is not None]
        items = [(texts[i][0] or "", texts[i][1] or "") for i in ok]
        if model.meta.use_explanation:
            explanations: list[str | None] = list(explain_responses(items, runner, explain_tokens))
        else:
            explanations = [None] * len(items)
        scored = model.score_points(items, explanations)
        out: list[float | None] = [None] * len(completions)
        for i, (probs, _) in zip(ok, scored, strict=True):
            out[i] = probs["good"]
        return out

    reward.__name__ = "esfp_reward"
    return reward
