"""Teacher-forced scoring of a continuation after a context, for the transformers backend.

Each (context, continuation) pair is one sequence ``render(context) + continuation``,
run through the model once. The continuation's token ids are the context's ids
followed by the continuation tokenised on its own (the rendered context ends with the
chat template's generation prompt, so no token merges across the boundary), and the
log-prob of continuation token ``t`` is read at the position before it. Sequences are
left padded, so the continuation sits at the end of every row and only the last
``max continuation length + 1`` positions go through the LM head (``logits_to_keep``).
Batches are bounded by a token budget on those positions: the 49k-wide logits are the
memory cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from judgekit.core.backend import PromptTooLongError
from judgekit.core.types import ContinuationScore, Prompt

#: Batch bound: sequences x kept positions (the LM head's output is this x vocabulary floats).
KEPT_POSITIONS_BUDGET = 2048


def encode_pairs(backend: Any, contexts: Sequence[Prompt], continuations: Sequence[str]) -> list[tuple[list[int], int]]:
    """``(token ids of context + continuation, number of continuation tokens)`` per pair."""
    out = []
    for ctx, text in zip(contexts, continuations, strict=True):
        head = backend.tokenizer(backend.render(ctx), add_special_tokens=False)["input_ids"]
        tail = backend.tokenizer(text, add_special_tokens=False)["input_ids"] if text else []
        out.append((list(head) + list(tail), len(tail)))
    return out


def _batches(pairs: list[tuple[list[int], int]], max_batch: int) -> list[list[int]]:
    order = sorted(range(len(pairs)), key=lambda i: -len(pairs[i][0]))
    batches: list[list[int]] = [[]]
    for i in order:
        keep = max([pairs[j][1] for j in batches[-1]] + [pairs[i][1]]) + 1
        if batches[-1] and ((len(batches[-1]) + 1) * keep > KEPT_POSITIONS_BUDGET or len(batches[-1]) >= max_batch):
            batches.append([])
        batches[-1].append(i)
    return [b for b in batches if b]


def score_continuations(
    backend: Any, contexts: Sequence[Prompt], continuations: Sequence[str], values: bool = False
) -> list[ContinuationScore]:
    """Per-token log-probs of each continuation (see the module docstring); soft values on request."""
    pairs = encode_pairs(backend, contexts, continuations)
    if backend.max_context is not None:
        for i, (ids, _) in enumerate(pairs):
            if len(ids) > backend.max_context:
                raise PromptTooLongError(i, len(ids), backend.max_context)
    results: list[ContinuationScore | None] = [None] * len(pairs)
    for batch in _batches(pairs, backend.batch_size):
        keep = max(pairs[i][1] for i in batch) + 1
        input_ids, mask = backend._pad([pairs[i][0] for i in batch])
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode():
            logits = backend.model(
                input_ids=input_ids, attention_mask=mask, position_ids=positions, logits_to_keep=keep,
            ).logits.float()  # [B, keep, V]: positions width-keep .. width-1
        lse = torch.logsumexp(logits, dim=-1)  # soft value V(s) = log sum_a exp(f(s, a)), alpha = 1
        for row, i in enumerate(batch):
            ids, n = pairs[i]
            text = continuations[i]
            if n == 0:
                results[i] = ContinuationScore(logprobs=(), n_chars=len(text),
                                               values=(float(lse[row, -1]), float(lse[row, -1])) if values else None)
                continue
            targets = torch.tensor(ids[-n:], device=logits.device)
            # logits at kept index k predict the token at absolute position width-keep+k+1
            rows = logits[row, keep - n - 1 : keep - 1, :]
            picked = rows.gather(-1, targets[:, None])[:, 0] - lse[row, keep - n - 1 : keep - 1]
            vals = (float(lse[row, keep - n - 1]), float(lse[row, keep - 1])) if values else None
            results[i] = ContinuationScore(logprobs=tuple(float(x) for x in picked.tolist()), n_chars=len(text),
                                           values=vals)
    return [r for r in results if r is not None]
