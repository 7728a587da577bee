"""Order augmentation: every labelled pair in both presentation orders, labels swapped with it.

A judge trained on pairs shown one way learns the position as much as the content
(the first recipe's SFT taught "answer the first position"). Showing each pair as
A/B and as B/A, with the label following the better response, balances the A and B
labels exactly (ties stay ties) and ties each verdict to content, not position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from judgekit.core.formats import swap_pairwise
from judgekit.core.types import Sample


def both_orders(samples: Sequence[Sample]) -> list[Sample]:
    """``ID:AB`` (as given) and ``ID:BA`` (responses and label swapped) for each two-response sample."""
    out: list[Sample] = []
    for s in samples:
        if len(s.responses) != 2:
            raise ValueError(f"sample {s.id}: order augmentation needs 2 responses, got {len(s.responses)}")
        for order in ("AB", "BA"):
            swapped = order == "BA"
            meta = {**s.metadata, "augment": {"kind": f"order:{order}", "source_id": s.id}}
            out.append(replace(s, id=f"{s.id}:{order}", metadata=meta,
                               responses=s.responses[::-1] if swapped else s.responses,
                               label=swap_pairwise(s.label) if swapped else s.label))
    return out
