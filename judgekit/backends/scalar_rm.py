"""A scalar reward model: any Hugging Face ``AutoModelForSequenceClassification`` with one output.

This is reward-bench's classifier path (Skywork-Reward-V2 and the like): the
(prompt, response) conversation is rendered with the RM's own chat template,
tokenised without truncation, and the head's single logit at the last real token
is the reward. It cannot generate or answer next-token choices; the ``scalar-rm``
protocol (:mod:`judgekit.protocols.scalar_rm`) calls :meth:`ScalarRMBackend.rewards`.

A conversation longer than ``max_length`` tokens is never truncated: its reward is
``None`` and :meth:`ScalarRMBackend.too_long` says why. torch and transformers are
imported here only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from judgekit.core.backend import PromptTooLongError
from judgekit.core.cpus import default_threads
from judgekit.core.errors import ConfigError
from judgekit.core.models import weights_hash
from judgekit.core.types import Generation, GenerationParams, Prompt

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}

__all__ = ["PromptTooLongError", "ScalarRMBackend", "conversation"]


def conversation(prompt: str, response: str) -> list[dict[str, str]]:
    """The two-message chat a scalar RM scores (reward-bench's single-turn layout)."""
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]


class ScalarRMBackend:
    """A sequence-classification reward model behind judgekit's backend registry.

    ``model`` is a local directory (a trained ``judgekit train rm`` output or any HF
    RM). ``model_id`` is the directory name plus a content hash of its config and
    weights, so two RMs never share cached rewards.
    """

    name = "scalar-rm"
    supports_constraints = False

    def __init__(self, model: str | None = None, device: str = "cpu", dtype: str = "float32",
                 batch_size: int = 8, max_length: int | None = None, threads: int | None = None) -> None:
        if not model:
            raise ConfigError("the scalar-rm backend needs --model DIR: a sequence-classification reward model")
        path = Path(model).expanduser()
        if not (path / "config.json").is_file():
            raise ConfigError(f"--model {path}: not a Hugging Face model directory (no config.json)")
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, not {dtype!r}")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        n_threads = default_threads(threads)
        if n_threads:
            torch.set_num_threads(n_threads)
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.model_path = path
        self.model_id = f"{path.name or 'rm'}-{weights_hash(path)}"
        self.device, self.dtype, self.batch_size = device, dtype, batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        loaded = AutoModelForSequenceClassification.from_pretrained(str(path), dtype=_DTYPES[dtype])
        if int(loaded.config.num_labels) != 1:
            raise ConfigError(f"--model {path}: a scalar RM has one output, this head has {loaded.config.num_labels}")
        if loaded.config.pad_token_id is None:  # the head pools at the last non-pad token: it must know the pad
            if self.tokenizer.pad_token_id is None:
                self.tokenizer.pad_token = self.tokenizer.eos_token
            loaded.config.pad_token_id = self.tokenizer.pad_token_id
        self.model: Any = loaded.to(device)  # type: ignore[arg-type]
        self.model.eval()
        limit = getattr(self.model.config, "max_position_embeddings", None)
        self.max_length = int(max_length or limit or 4096)
        template = getattr(self.tokenizer, "chat_template", None)
        self.template = "chat" if template else "plain"
        self.template_hash = hashlib.sha256(str(template).encode()).hexdigest()[:12]

    def identity(self) -> dict[str, Any]:
        """Everything besides the weights that changes a reward (goes into every cache key)."""
        return {"kind": "scalar-rm", "dtype": self.dtype, "template": self.template,
                "template_hash": self.template_hash, "max_length": self.max_length}

    def info(self) -> dict[str, Any]:
        """For the run manifest."""
        return {"backend": self.name, "model_id": self.model_id, "model_path": str(self.model_path),
                "device": self.device, **self.identity()}

    def encode(self, prompt: str, response: str) -> list[int]:
        """Token ids of one scored conversation (chat template if the RM has one)."""
        if self.template == "chat":
            ids: Any = self.tokenizer.apply_chat_template(conversation(prompt, response), tokenize=True)
            if hasattr(ids, "keys"):  # newer transformers return a BatchEncoding
                ids = ids["input_ids"]
            return [int(t) for t in ids]
        return [int(t) for t in self.tokenizer(f"{prompt}\n\n{response}")["input_ids"]]

    def too_long(self, items: Sequence[tuple[str, str]]) -> list[str | None]:
        """Per item, ``None`` if it fits ``max_length`` tokens, else why not."""
        out: list[str | None] = []
        for prompt, response in items:
            n = len(self.encode(prompt, response))
            out.append(None if n <= self.max_length else f"{n} tokens > the RM's limit {self.max_length}")
        return out

    @torch.no_grad()
    def rewards(self, items: Sequence[tuple[str, str]]) -> list[float]:
        """One scalar per (prompt, response), batched by length; raises if one is too long."""
        encoded = [self.encode(p, r) for p, r in items]
        for i, ids in enumerate(encoded):
            if len(ids) > self.max_length:
                raise PromptTooLongError(i, len(ids), self.max_length)
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        out: dict[int, float] = {}
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            for i, value in zip(idx, self._batch([encoded[i] for i in idx]), strict=True):
                out[i] = value
        return [out[i] for i in range(len(encoded))]

    def _batch(self, seqs: list[list[int]]) -> list[float]:
        """Right-padded batch through the model's own pooling (its last non-pad token), as in training."""
        width = max(len(s) for s in seqs)
        pad = int(self.model.config.pad_token_id)
        ids = torch.tensor([s + [pad] * (width - len(s)) for s in seqs], device=self.device)
        mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs], device=self.device)
        logits = self.model(input_ids=ids, attention_mask=mask).logits
        return [float(v) for v in logits[:, 0].float().cpu()]

    def generate(self, prompts: Sequence[Prompt], params: GenerationParams) -> list[list[Generation]]:
        """A scalar RM does not generate; use ``-p scalar-rm``."""
        raise NotImplementedError("the scalar-rm backend only scores (prompt, response) pairs: use -p scalar-rm")

    def score_choices(self, prompts: Sequence[Prompt], choices: Sequence[str]) -> list[dict[str, float]]:
        """A scalar RM has no next-token distribution; use ``-p scalar-rm``."""
        raise NotImplementedError("the scalar-rm backend only scores (prompt, response) pairs: use -p scalar-rm")
