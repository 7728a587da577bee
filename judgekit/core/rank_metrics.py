"""Ranking metrics against gold rankings (pure): Kendall tau-b, NDCG, and a listwise run summary.

* :func:`kendall_tau` is tau-b over predicted scores (mean ranks may tie) against the gold
  positions: ``(C - D) / sqrt((P - Tx)(P - Ty))``; ``None`` when either side is constant.
* :func:`ndcg` uses gains ``n - 1 - gold position`` and discounts ``1 / log2(pos + 2)``;
  responses tied in the prediction share the mean discount of the positions they occupy
  (McSherry & Najork, ECIR 2008), so a tie is never broken in the judge's favour.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from judgekit.core.stats import rate


def kendall_tau(pred_ranks: Sequence[float], gold_ranking: Sequence[int]) -> float | None:
    """Kendall tau-b between predicted mean ranks (lower = better) and a gold ranking (best first)."""
    n = len(pred_ranks)
    gold_pos = [0] * n
    for pos, i in enumerate(gold_ranking):
        gold_pos[i] = pos
    conc = disc = tx = ty = 0
    for i in range(n):
        for j in range(i + 1, n):
            dx = pred_ranks[i] - pred_ranks[j]
            dy = gold_pos[i] - gold_pos[j]
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                tx += 1
            elif dy == 0:
                ty += 1
            elif (dx > 0) == (dy > 0):
                conc += 1
            else:
                disc += 1
    denom = math.sqrt((conc + disc + tx) * (conc + disc + ty))
    return None if denom == 0 else (conc - disc) / denom


def ndcg(pred_ranks: Sequence[float], gold_ranking: Sequence[int]) -> float:
    """NDCG of the predicted order (mean ranks, ties averaged) against the gold ranking."""
    n = len(pred_ranks)
    gain = [0.0] * n
    for pos, i in enumerate(gold_ranking):
        gain[i] = float(n - 1 - pos)
    order = sorted(range(n), key=lambda i: pred_ranks[i])
    dcg, pos = 0.0, 0
    while pos < n:
        group = [i for i in order if pred_ranks[i] == pred_ranks[order[pos]]]
        discount = sum(1 / math.log2(p + 2) for p in range(pos, pos + len(group))) / len(group)
        dcg += discount * sum(gain[i] for i in group)
        pos += len(group)
    ideal = sum(g / math.log2(p + 2) for p, g in enumerate(sorted(gain, reverse=True)))
    return dcg / ideal if ideal > 0 else 0.0


def listwise_summary(gold: Mapping[str, Sequence[int] | None], judged: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Listwise metrics of a run: gold rankings by sample id, each judgment's ``extra["listwise"]``.

    ``kendall_tau`` and ``ndcg`` are means over the items with a gold ranking and a
    combined ranking; ``best_consistency`` is the share of items whose display orders all
    put the same response first, ``full_agreement`` the share where every order gave the
    same full ranking, ``mean_agreement`` the mean share of orders agreeing with the best.
    """
    rows = [(sid, lw) for sid, lw in ((str(j["sample_id"]), j["listwise"]) for j in judged) if lw]
    taus, gains = [], []
    for sid, lw in rows:
        ranking = gold.get(sid)
        if ranking is not None and lw.get("mean_ranks") is not None:
            tau = kendall_tau(lw["mean_ranks"], ranking)
            if tau is not None:
                taus.append(tau)
            gains.append(ndcg(lw["mean_ranks"], ranking))
    out: dict[str, Any] = {
        "listwise_items": len(rows),
        "best_consistency": rate(sum(1 for _, lw in rows if lw.get("consistent")), len(rows)),
        "full_agreement": rate(sum(1 for _, lw in rows if lw.get("full_agreement")), len(rows)),
        "mean_agreement": (sum(float(lw["agreement"]) for _, lw in rows if lw.get("agreement") is not None)
                           / len(rows)) if rows else None,
        "gold_rankings": len(gains),
    }
    if gains:
        out["kendall_tau"] = sum(taus) / len(taus) if taus else None
        out["ndcg"] = sum(gains) / len(gains)
    return out
