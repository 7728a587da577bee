"""The k sampled judgments of one item in one order, read back from a judgment's trace.

The scaling curve, the meta-RM's training rows and its scoring all start from
:func:`order_samples`: one :class:`OrderSamples` per presentation order, holding
the sample texts, their parsed answers and the label a correct sample gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from judgekit.core.errors import ConfigError
from judgekit.core.formats import swap_pairwise
from judgekit.core.types import Parsed, ParseFailure, Verdict


@dataclass(frozen=True)
class OrderSamples:
    """The k sampled judgments of one item in one presentation order.

    ``expected`` is the label a correct sample gives *in this order's terms* (for the
    swapped order B/A, the swapped label), or ``None`` when the item is unlabeled.
    """

    sample_id: str
    order: str
    prompt: str
    texts: tuple[str, ...]
    parsed: tuple[Parsed, ...]
    expected: str | None


def parsed_from_dict(d: Mapping[str, Any]) -> Parsed:
    """Inverse of :func:`judgekit.core.types.parsed_to_dict` (raw text is not kept there)."""
    if not d.get("ok"):
        return ParseFailure(reason=str(d.get("reason", "unknown")), raw="")
    scores = tuple(float(x) for x in d["scores"]) if d.get("scores") is not None else None
    probs = {str(k): float(v) for k, v in d["probs"].items()} if d.get("probs") is not None else None
    return Verdict(label=d.get("label"), scores=scores, probs=probs)


def order_samples(judgment: Any, label: str | None) -> list[OrderSamples]:
    """Per-order samples of one judgment, read back from its trace.

    Works for protocols whose sampled turns line up with ``per_order`` entries that
    carry an ``order`` (``"AB"``/``"BA"``, pairwise style), and for one-turn
    protocols (verification, single-response scoring). Skipped items give ``[]``.
    Raises :class:`~judgekit.core.errors.ConfigError` for other trace shapes.
    """
    if "skipped" in (judgment.extra or {}):
        return []
    turns = [t for t in judgment.trace if t.parsed and "samples" in t.parsed and "raw" in t.parsed]
    orders = [str(p.get("order")) for p in judgment.per_order if "order" in p]
    if orders and len(orders) == len(turns):
        names = orders
    elif len(turns) == 1 and not orders:
        names = ["single"]
    else:
        raise ConfigError(
            f"item {judgment.sample_id}: cannot line up {len(turns)} sampled turns with its orders; "
            "k-sample analysis needs a pairwise-style or one-turn protocol"
        )
    out = []
    for name, turn in zip(names, turns, strict=True):
        parsed_map: Mapping[str, Any] = turn.parsed or {}
        expected = swap_pairwise(label) if name == "BA" else label
        out.append(
            OrderSamples(
                sample_id=judgment.sample_id, order=name, prompt=turn.prompt,
                texts=tuple(str(t) for t in parsed_map["raw"]),
                parsed=tuple(parsed_from_dict(p) for p in parsed_map["samples"]),
                expected=expected,
            )
        )
    return out
