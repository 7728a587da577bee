"""Choice scoring (logit mode) for the transformers backend: first-token probabilities of the choices.

One forward pass per prompt, batched and left padded with matching position ids;
only the last position's logits are computed (``logits_to_keep=1`` skips the 49k-wide
LM head everywhere else). With prefix sharing, prompts sharing a token prefix (the two
orders of an item) prefill it once
(:func:`~judgekit.backends.transformers_prefill.prefill_prefixes`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch

from judgekit.backends.prefix import prefill_savings, prefix_groups
from judgekit.backends.transformers_prefill import prefill_prefixes
from judgekit.core.types import Prompt


def choice_token_ids(tokenizer: Any, prompt_text: str, choices: Sequence[str]) -> list[int]:
    """First token id of each choice as it is tokenised right after ``prompt_text``.

    If appending the choice changes the prompt's own last tokens (a merge across the
    boundary), the first token of the choice tokenised alone is used. Raises
    ``ValueError`` when two choices share a first token (they could not be told apart).
    """
    base = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    ids: list[int] = []
    for choice in choices:
        if not choice:
            raise ValueError("choices must be non-empty strings")
        full = tokenizer(prompt_text + choice, add_special_tokens=False)["input_ids"]
        if full[: len(base)] == base and len(full) > len(base):
            ids.append(int(full[len(base)]))
        else:
            ids.append(int(tokenizer(choice, add_special_tokens=False)["input_ids"][0]))
    if len(set(ids)) != len(ids):
        pieces = {c: tokenizer.decode([t]) for c, t in zip(choices, ids, strict=True)}
        raise ValueError(f"choices share a first token, so they cannot be scored apart: {pieces}")
    return ids


def score_choices(backend: Any, prompts: Sequence[Prompt], choices: Sequence[str]) -> list[dict[str, float]]:
    """Probabilities of each choice's first token after each prompt, renormalised over ``choices``.

    ``backend`` is the :class:`~judgekit.backends.transformers.TransformersBackend`.
    """
    if not choices:
        raise ValueError("score_choices needs at least one choice")
    texts = [backend.render(p) for p in prompts]
    encoded = [backend.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    backend._check_length(encoded, 1)
    token_ids = [choice_token_ids(backend.tokenizer, t, choices) for t in texts]
    results: list[dict[str, float]] = [{} for _ in prompts]
    for batch, logits in last_logits(backend, encoded):
        probs = torch.softmax(logits.float(), dim=-1)
        for row, i in enumerate(batch):
            picked = probs[row, token_ids[i]].tolist()
            total = sum(picked)
            if total > 0:
                results[i] = {c: p / total for c, p in zip(choices, picked, strict=True)}
            else:  # no mass at all: zeros, which the format records as a failure
                results[i] = {c: 0.0 for c in choices}
    return results


def last_logits(backend: Any, encoded: list[list[int]]) -> Iterator[tuple[list[int], torch.Tensor]]:
    """``(prompt indices, last-position logits)`` per batch, with or without prefix sharing."""
    if backend.share_prefix and all(len(e) > 1 for e in encoded):
        yield from last_logits_shared(backend, encoded)
        return
    for batch in backend._batches(encoded, backend.batch_size):
        input_ids, attention_mask = backend._pad([encoded[i] for i in batch])
        position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode():
            logits = backend.model(
                input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                logits_to_keep=1,
            ).logits[:, -1, :]
        yield batch, logits


def last_logits_shared(backend: Any, encoded: list[list[int]]) -> Iterator[tuple[list[int], torch.Tensor]]:
    """Batches of whole prefix groups; each group's prefix prefilled once (counted in ``prefill_tokens``)."""
    groups = prefix_groups(encoded)
    backend.prefill_tokens[0] += sum(len(e) for e in encoded)
    backend.prefill_tokens[1] += prefill_savings(encoded, groups)[1]
    groups.sort(key=lambda g: -max(len(encoded[i]) for i in g.members))
    batches: list[list[Any]] = [[]]
    for g in groups:
        if batches[-1] and sum(len(x.members) for x in batches[-1]) + len(g.members) > backend.batch_size:
            batches.append([])
        batches[-1].append(g)
    for chunk in batches:
        rows = [i for g in chunk for i in g.members]
        with torch.inference_mode():
            input_ids, mask, cache = prefill_prefixes(backend, encoded, chunk, rows)
            width = cache.get_seq_length()
            logits = backend.model(
                input_ids=input_ids[:, width:], attention_mask=mask,
                position_ids=(mask.cumsum(-1) - 1).clamp(min=0)[:, width:],
                past_key_values=cache, use_cache=True, logits_to_keep=1,
            ).logits[:, -1, :]
        yield rows, logits
