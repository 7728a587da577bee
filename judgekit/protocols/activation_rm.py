"""Activation reward model: a steering direction from k labelled pairs; reward = projection.

Seed: "Activation Reward Models for Few-Shot Model Alignment" (Chai et al., 2025,
arXiv 2507.01368) builds a reward from activation steering with a few labelled
examples. This is its simplest form, the mean activation difference: for each of
the k few-shot pairs (``--option fewshot=FILE``, a labelled pairwise file) the
(prompt, response) conversation is rendered with the judge model's chat template and
the hidden state of the last token at layer ``--option layer=L`` (default: the
middle layer; negative counts from the top) is read for the chosen and the rejected
response. The direction ``d`` is the mean of ``h(chosen) - h(rejected)``, and a
response's reward is ``h . d / |d|``. ``activation-rm`` compares two responses by
reward (order-free, exact tie recorded); ``activation-rm-pointwise`` gives the reward.

Needs the transformers backend (it reads the model's hidden states). Items of the
few-shot file are never judged: a judged item whose id or prompt is in it stops the
run. Rewards are cached under the backend identity, the layer and the direction's hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from judgekit.core.cache import make_key
from judgekit.core.data import load_samples
from judgekit.core.errors import ConfigError
from judgekit.core.runner import Runner
from judgekit.core.types import Judgment, Sample
from judgekit.protocols.base import Protocol
from judgekit.protocols.scalar_rm import pair_judgment
from judgekit.protocols.single import skipped

Item = tuple[str, str]


def hidden_states(backend: Any, items: Sequence[Item], layer: int) -> list[list[float]]:
    """Last-token hidden state at ``layer`` of each (prompt, response), rendered with the chat template."""
    import torch

    model, tok = getattr(backend, "model", None), getattr(backend, "tokenizer", None)
    if model is None or tok is None or not hasattr(model, "config"):
        raise ConfigError("activation-rm reads hidden states: use --backend transformers")
    out: list[list[float]] = []
    size = int(getattr(backend, "batch_size", 8))
    device = getattr(backend, "device", "cpu")
    seqs = [encode(tok, p, r) for p, r in items]
    with torch.no_grad():
        for start in range(0, len(seqs), size):
            batch = seqs[start:start + size]
            width = max(len(s) for s in batch)
            pad = tok.pad_token_id if tok.pad_token_id is not None else 0
            ids = torch.tensor([s + [pad] * (width - len(s)) for s in batch], device=device)
            mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in batch], device=device)
            states = model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[layer]
            for row, s in enumerate(batch):
                out.append([float(v) for v in states[row, len(s) - 1].float().cpu()])
    return out


def encode(tokenizer: Any, prompt: str, response: str) -> list[int]:
    """Token ids of the two-turn chat (user prompt, assistant response)."""
    conv = [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
    ids = tokenizer.apply_chat_template(conv, tokenize=True)
    if hasattr(ids, "keys"):
        ids = ids["input_ids"]
    return [int(t) for t in ids]


def mean_direction(chosen: Sequence[Sequence[float]], rejected: Sequence[Sequence[float]]) -> list[float]:
    """Mean of ``chosen - rejected`` over the pairs."""
    k = len(chosen)
    if k == 0 or k != len(rejected):
        raise ValueError("need the same positive number of chosen and rejected activations")
    return [sum(c[j] - r[j] for c, r in zip(chosen, rejected, strict=True)) / k for j in range(len(chosen[0]))]


def project(vector: Sequence[float], direction: Sequence[float]) -> float:
    """``v . d / |d|`` (0 for a zero direction)."""
    norm = sum(d * d for d in direction) ** 0.5
    return sum(v * d for v, d in zip(vector, direction, strict=True)) / norm if norm else 0.0


@dataclass
class ActivationRMProtocol(Protocol):
    """Pairwise by the projection of each response's activation on a few-shot direction."""

    name: ClassVar[str] = "activation-rm"
    option_names: ClassVar[tuple[str, ...]] = ("fewshot", "layer")
    flag_options: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = "activation RM: few-shot mean activation difference at a layer; reward = projection"
    task: ClassVar[str] = "pairwise"
    methods: ClassVar[tuple[str, ...]] = ()  # no verdict prompt: --method does not apply
    scored: ClassVar[bool] = True
    _direction: tuple[int, list[float], int] | None = field(default=None, init=False, repr=False)

    def fewshot_path(self) -> Path:
        """The few-shot file; ConfigError if missing."""
        raw = self.config.option("fewshot")
        if not raw:
            raise ConfigError(f"protocol {self.name!r} needs --option fewshot=FILE (labelled pairwise items)")
        path = Path(str(raw)).expanduser()
        if not path.is_file():
            raise ConfigError(f"--option fewshot={path}: file not found")
        return path

    def check(self) -> None:
        """A few-shot file, an integer layer, nothing unknown."""
        super().check()
        self.fewshot_path()
        try:
            int(self.config.option("layer", 0))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"--option layer={self.config.option('layer')!r}: not an integer") from exc

    def fewshot(self) -> list[Sample]:
        """The labelled pairs the direction comes from (ties and unlabelled rows are refused)."""
        path = self.fewshot_path()
        rows = load_samples(path, task="pairwise")
        bad = [s.id for s in rows if s.label not in ("A", "B") or len(s.responses) != 2]
        if bad:
            raise ConfigError(f"{path}: few-shot items need two responses and label A or B (not {bad[0]!r})")
        return rows

    def check_samples(self, samples: Sequence[Sample]) -> list[str]:
        """Stop when a judged item is one of the few-shot items (same id or same prompt)."""
        shots = self.fewshot()
        ids, prompts = {s.id for s in shots}, {s.prompt for s in shots}
        clash = [s.id for s in samples if s.id in ids or s.prompt in prompts]
        if clash:
            raise ConfigError(f"{len(clash)} judged item(s) are in the few-shot file (first: {clash[0]}); "
                              "an activation RM is never evaluated on its own examples")
        return super().check_samples(samples)

    def direction(self, runner: Runner) -> tuple[int, list[float], int]:
        """(layer, direction, k), computed once per protocol instance."""
        if self._direction is None:
            backend = runner.backend
            n_layers = int(getattr(getattr(backend, "model", None), "config", None).num_hidden_layers)  # type: ignore[union-attr]
            layer = int(self.config.option("layer", n_layers // 2))
            if not -n_layers <= layer <= n_layers:
                raise ConfigError(f"--option layer={layer}: the model has {n_layers} layers")
            layer = layer if layer >= 0 else n_layers + 1 + layer
            shots = self.fewshot()
            good = [(s.prompt, s.responses[0 if s.label == "A" else 1]) for s in shots]
            bad = [(s.prompt, s.responses[1 if s.label == "A" else 0]) for s in shots]
            states = hidden_states(backend, good + bad, layer)
            self._direction = (layer, mean_direction(states[: len(good)], states[len(good):]), len(shots))
        return self._direction

    def decoding(self) -> dict[str, Any]:
        """What the manifest records."""
        return {"method": "activation-rm", "fewshot": str(self.config.option("fewshot")),
                "layer": self.config.option("layer", "middle")}

    def rewards(self, runner: Runner, items: Sequence[Item]
                ) -> tuple[dict[Item, float], dict[Item, str], dict[str, Any]]:
        """Projection per distinct item (cached), reasons for skipped ones, and what the direction was."""
        layer, direction, k = self.direction(runner)
        digest = hashlib.sha256(json.dumps([round(v, 6) for v in direction]).encode()).hexdigest()[:16]
        unique = list(dict.fromkeys(items))
        limit = int(getattr(runner.backend, "max_context", 0) or 0)
        tok = getattr(runner.backend, "tokenizer", None)
        bad: dict[Item, str] = {}
        if limit and tok is not None:
            for it in unique:
                n = len(encode(tok, *it))
                if n > limit:
                    bad[it] = f"{n} tokens > context {limit}"
        ident = runner.identity()
        keys = {it: make_key({"kind": "activation-rm", "backend": ident, "layer": layer, "direction": digest,
                              "prompt": it[0], "response": it[1]}) for it in unique if it not in bad}
        found = runner.cache.get_many(keys.values()) if runner.cache is not None else {}
        have = {it: float(found[k]["reward"]) for it, k in keys.items() if k in found}
        todo = [it for it in keys if it not in have]
        runner.stats.cache_hits += len(have)
        runner.stats.cache_misses += len(todo)
        fresh = {it: project(h, direction) for it, h in zip(todo, hidden_states(runner.backend, todo, layer),
                                                            strict=True)} if todo else {}
        have.update(fresh)
        if runner.cache is not None and fresh:
            runner.cache.put_many({keys[it]: {"reward": v} for it, v in fresh.items()})
        return have, bad, {"layer": layer, "k": k, "direction": digest}

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """Two responses per sample; each scored alone."""
        for s in samples:
            if len(s.responses) != 2:
                raise ConfigError(f"sample {s.id}: {self.name} needs 2 responses, got {len(s.responses)}")
        have, bad, about = self.rewards(runner, [(s.prompt, r) for s in samples for r in s.responses])
        out = []
        for s in samples:
            a, b = ((s.prompt, r) for r in s.responses)
            why = bad.get(a) or bad.get(b)
            if why:
                out.append(skipped(s.id, why))
                continue
            j = pair_judgment(s.id, have[a], have[b])
            out.append(replace(j, extra={**j.extra, "activation": about}))
        return out


@dataclass
class ActivationRMPointwiseProtocol(ActivationRMProtocol):
    """One response per item: the reward is the projection."""

    name: ClassVar[str] = "activation-rm-pointwise"
    description: ClassVar[str] = "activation RM pointwise: projection of the response's activation on the direction"
    task: ClassVar[str] = "pointwise"

    def judge(self, samples: Sequence[Sample], runner: Runner) -> list[Judgment]:
        """The projection of each sample's first response."""
        have, bad, about = self.rewards(runner, [(s.prompt, r) for s in samples for r in s.responses[:1]])
        out = []
        for s in samples:
            it = (s.prompt, s.responses[0])
            if it in bad:
                out.append(skipped(s.id, bad[it]))
                continue
            out.append(Judgment(sample_id=s.id, verdict=f"{have[it]:.6g}", reward=have[it], scores=(have[it],),
                                extra={"form": "pointwise", "reward_is_score": True, "activation": about}))
        return out
