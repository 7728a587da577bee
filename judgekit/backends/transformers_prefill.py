"""Prefix sharing for the transformers backend: prefill a shared prompt part once, copy its KV cache.

Two cases, both pure uses of the model's KV cache (``DynamicCache``):

* :func:`shared_prefill`: the ``n`` samples of one prompt. The prompt minus its last
  token goes through the model once and the cache rows are interleaved ``n`` times.
* :func:`prefill_prefixes`: prompts sharing a token prefix (the two orders of an
  item, :func:`judgekit.backends.prefix.prefix_groups`). Each group's prefix is run
  once and its cache copied to every member.

Call both inside ``torch.inference_mode()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from transformers import DynamicCache

from judgekit.backends.prefix import PrefixGroup


def shared_prefill(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, n: int) -> Any:
    """Prefill each prompt once and copy its KV cache for its ``n`` continuations.

    ``num_return_sequences`` would copy the prompt ``n`` times *before* the prefill,
    so ``n`` samples would cost ``n`` prefills. Here the prompt minus its last token
    goes through the model once; the cache rows are then interleaved ``n`` times
    and ``generate`` only runs the last prompt token and the decode steps.
    """
    cache = DynamicCache(config=model.config)
    if input_ids.shape[1] > 1:
        mask = attention_mask[:, :-1]
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        model(
            input_ids=input_ids[:, :-1],
            attention_mask=mask,
            position_ids=positions,
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        cache.batch_repeat_interleave(n)
    return cache


def prefill_prefixes(
    backend: Any, encoded: list[list[int]], groups: Sequence[PrefixGroup], rows: list[int]
) -> tuple[torch.Tensor, torch.Tensor, Any]:
    """Prefill each group's shared prefix once; ``(input_ids, attention_mask, cache)`` for ``rows``.

    ``backend`` is the :class:`~judgekit.backends.transformers.TransformersBackend`
    (its ``model`` and left-padding ``_pad``). Row ``r`` of the result is prompt
    ``rows[r]`` laid out as ``[pad | prefix | pad | suffix]``; the cache holds the
    prefix part (one copy per row, taken from its group's). The mask covers both
    paddings and position ids derived from it count real tokens only, so every row
    attends to exactly its own prompt.
    """
    group_of = {i: k for k, g in enumerate(groups) for i in g.members}
    pre_ids, pre_mask = backend._pad([encoded[g.members[0]][: g.shared] for g in groups])
    suf_ids, suf_mask = backend._pad([encoded[i][groups[group_of[i]].shared :] for i in rows])
    cache = DynamicCache(config=backend.model.config)
    backend.model(
        input_ids=pre_ids, attention_mask=pre_mask, position_ids=(pre_mask.cumsum(-1) - 1).clamp(min=0),
        past_key_values=cache, use_cache=True, logits_to_keep=1,
    )
    select = torch.tensor([group_of[i] for i in rows], device=pre_ids.device)
    cache.batch_select_indices(select)
    input_ids = torch.cat([pre_ids[select], suf_ids], dim=1)
    return input_ids, torch.cat([pre_mask[select], suf_mask], dim=1), cache
