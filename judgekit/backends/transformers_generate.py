"""Generation for the transformers backend: one left-padded batch through ``model.generate``.

Greedy decoding throughout: sampling is a logits processor (:class:`SeededSampler`)
that draws each row's token from its own seeded generator and leaves only that token,
so a sample does not depend on the batch it runs in. ``n`` samples share one prefill
(:func:`~judgekit.backends.transformers_prefill.shared_prefill`), and with ``n = 1``
prompts sharing a prefix prefill it once
(:func:`~judgekit.backends.transformers_prefill.prefill_prefixes`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from transformers import GenerationConfig, LogitsProcessorList
from transformers.generation.logits_process import TemperatureLogitsWarper, TopPLogitsWarper

from judgekit.backends.prefix import prefix_groups
from judgekit.backends.transformers_prefill import prefill_prefixes, shared_prefill
from judgekit.core.types import Generation, GenerationParams


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


def stop_token_ids(tokenizer: Any, model: Any) -> list[int]:
    """The tokenizer's EOS id and the model's generation-config EOS ids, without repeats."""
    ids: list[int] = []
    gen_eos = getattr(model.generation_config, "eos_token_id", None)
    for cand in [tokenizer.eos_token_id, *(gen_eos if isinstance(gen_eos, list) else [gen_eos])]:
        if cand is not None and int(cand) not in ids:
            ids.append(int(cand))
    return ids


def generate_batch(
    backend: Any,
    seqs: list[list[int]],
    params: GenerationParams,
    constraint: Callable[[], Any] | None,
    seeds: Sequence[int],
) -> list[list[Generation]]:
    """``params.n`` generations for each token list of one batch (``backend``: a TransformersBackend).

    ``constraint`` makes the constrained-decoding logits processor of this batch (it
    keeps per-row state), or is ``None``; ``seeds`` holds one seed per (prompt, sample) row.
    """
    input_ids, attention_mask = backend._pad(seqs)
    sample = params.temperature > 0
    processors = LogitsProcessorList()
    if constraint is not None:
        processors.append(constraint())
    if sample:
        if params.temperature != 1.0:
            processors.append(TemperatureLogitsWarper(params.temperature))
        if params.top_p < 1.0:
            processors.append(TopPLogitsWarper(params.top_p))
        processors.append(SeededSampler(seeds, backend.device))  # draws; decoding below is greedy
    config = GenerationConfig(
        max_new_tokens=params.max_new_tokens,
        do_sample=False,
        num_return_sequences=1,
        top_k=None,
        top_p=None,
        temperature=None,
        pad_token_id=int(backend.tokenizer.pad_token_id),
        eos_token_id=backend._eos_ids,
        stop_strings=list(params.stop) or None,
        cache_implementation="static" if backend.static_cache else None,
    )
    with torch.inference_mode():
        cache = None
        if params.n == 1 and backend.share_prefix and not backend.static_cache and all(len(x) > 1 for x in seqs):
            groups = prefix_groups(seqs)
            if len(groups) < len(seqs):
                input_ids, attention_mask, cache = prefill_prefixes(backend, seqs, groups, list(range(len(seqs))))
        if params.n > 1:
            if not backend.static_cache:
                cache = shared_prefill(backend.model, input_ids, attention_mask, params.n)
            input_ids = input_ids.repeat_interleave(params.n, dim=0)
            attention_mask = attention_mask.repeat_interleave(params.n, dim=0)
        out = backend.model.generate(
            input_ids=input_ids,
            attention_mask=attention_mask,
            past_key_values=cache,
            generation_config=config,
            logits_processor=processors,
            tokenizer=backend.tokenizer if params.stop else None,
        )
    new = out[:, input_ids.shape[1] :].tolist()
    gens = [to_generation(backend.tokenizer, backend._eos_ids, row, params) for row in new]
    return [gens[k * params.n : (k + 1) * params.n] for k in range(len(seqs))]


def to_generation(tokenizer: Any, eos_ids: Sequence[int], row: list[int], params: GenerationParams) -> Generation:
    """Decode one generated row: cut at EOS, then at the first stop string."""
    n_tok = len(row)
    ended = False
    for j, tok in enumerate(row):
        if tok in eos_ids:
            n_tok, ended = j, True
            break
    text = str(tokenizer.decode(row[:n_tok], skip_special_tokens=True))
    cut = [text.find(s) for s in params.stop if s and s in text]
    if cut:
        text, ended = text[: min(cut)], True
    finish = "stop" if ended or n_tok < params.max_new_tokens else "length"
    return Generation(text=text, finish_reason=finish, num_tokens=n_tok)
