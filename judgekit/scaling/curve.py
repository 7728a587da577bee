"""The inference-time scaling curve: accuracy of greedy, vote@k and meta@k.

One run draws ``max(ks)`` samples per item and order (one prefill each, cached), then
evaluates every smaller k on a subset of those same samples: each item/order gets a
seeded permutation of its sample indices and k uses its first k entries, so the
subsets are nested (k=2 is inside k=4) and the curve is reproducible. Greedy is one
extra temperature-0 run. Reported accuracies count a parse failure as wrong and
carry a bootstrap interval and a Wilson interval.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from judgekit.core.aggregate import combine_orders, unswap
from judgekit.core.errors import ConfigError
from judgekit.core.runner import Runner
from judgekit.core.stats import accuracy_ci
from judgekit.core.types import Judgment, Parsed, Sample
from judgekit.judge import judge_samples
from judgekit.protocols.base import Protocol, get_protocol
from judgekit.scaling.meta_rm import overlap_warning
from judgekit.scaling.reducers import Reducer, Scorer, default_k_meta, get_reducer, meta
from judgekit.scaling.samples import OrderSamples, order_samples

DEFAULT_SAMPLING_TEMPERATURE = 0.7


@dataclass(frozen=True)
class CurvePoint:
    """Accuracy of one method at one k over the labeled items."""

    method: str
    k: int
    accuracy: float
    ci: tuple[float, float]
    wilson: tuple[float, float]
    n: int
    failures: int
    k_meta: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        d = asdict(self)
        d["ci"], d["wilson"] = list(self.ci), list(self.wilson)
        return d


def subsample(sample_id: str, order: str, max_k: int, k: int, seed: int) -> list[int]:
    """Pick the sample indices used at ``k``: the first k of a seeded permutation (sorted).

    The permutation depends only on ``(seed, sample_id, order)``, so subsets are
    nested across k and identical across runs.
    """
    if not 1 <= k <= max_k:
        raise ValueError(f"k={k} outside 1..{max_k}")
    digest = hashlib.sha256(f"{seed}|{sample_id}|{order}".encode()).hexdigest()
    perm = list(range(max_k))
    random.Random(int(digest[:16], 16)).shuffle(perm)
    return sorted(perm[:k])


def _item_verdict(groups: Sequence[OrderSamples], reduce: Callable[[OrderSamples], Parsed], policy: str) -> str | None:
    """Reduce each order, unswap B/A, combine the orders; ``None`` on a failure."""
    parsed = [reduce(g) for g in groups]
    parsed = [unswap(p) if g.order == "BA" else p for g, p in zip(groups, parsed, strict=True)]
    label, _, _, failure = combine_orders(parsed[0], parsed[1] if len(parsed) > 1 else None, policy)
    return None if failure else label


def _point(method: str, k: int, verdicts: Sequence[str | None], labels: Sequence[str], seed: int,
           k_meta: int | None = None) -> CurvePoint:
    correct = [1.0 if v == lab else 0.0 for v, lab in zip(verdicts, labels, strict=True)]
    ci = accuracy_ci(correct, seed=seed)
    return CurvePoint(
        method=method, k=k, accuracy=float(ci["value"]), ci=(float(ci["ci"][0]), float(ci["ci"][1])),
        wilson=(float(ci["wilson"][0]), float(ci["wilson"][1])), n=len(correct),
        failures=sum(1 for v in verdicts if v is None), k_meta=k_meta,
    )


def compute_curve(
    items: Mapping[str, Sequence[OrderSamples]],
    labels: Mapping[str, str],
    ks: Sequence[int],
    vote_reducer: str = "majority",
    meta_scores: Mapping[tuple[str, str], Sequence[float]] | None = None,
    k_meta: int | None = None,
    seed: int = 0,
    policy: str = "tie",
) -> list[CurvePoint]:
    """vote@k (and meta@k when ``meta_scores`` are given) for every k, from max-k samples.

    ``items`` maps an item id to its per-order samples (all orders drawn with the same
    max k); ``meta_scores[(item_id, order)]`` holds one meta-RM score per sample.
    ``k_meta`` defaults to half of each k. Pure: no model calls.
    """
    ids = [i for i in items if labels.get(i) is not None and items[i]]
    if not ids:
        raise ConfigError("no labeled items with samples to score")
    max_k = min(len(g.parsed) for i in ids for g in items[i])
    if max(ks) > max_k:
        raise ConfigError(f"k={max(ks)} asks for more samples than were drawn ({max_k})")
    gold = [labels[i] for i in ids]
    reducer = get_reducer(vote_reducer)
    points = []
    for k in sorted(set(ks)):
        picks = {(g.sample_id, g.order): subsample(g.sample_id, g.order, max_k, k, seed) for i in ids for g in items[i]}
        votes = [_item_verdict(items[i], partial(_vote, reducer, picks), policy) for i in ids]
        points.append(_point(f"{reducer.name}@k", k, votes, gold, seed))
        if meta_scores is None:
            continue
        km = min(k, k_meta) if k_meta else default_k_meta(k)
        metas = [_item_verdict(items[i], partial(_meta_vote, meta_scores, km, picks), policy) for i in ids]
        points.append(_point("meta@k", k, metas, gold, seed, k_meta=km))
    return points


def _vote(reducer: Reducer, picks: Mapping[tuple[str, str], list[int]], g: OrderSamples) -> Parsed:
    return reducer([g.parsed[j] for j in picks[(g.sample_id, g.order)]])


def _meta_vote(
    scores: Mapping[tuple[str, str], Sequence[float]], k_meta: int, picks: Mapping[tuple[str, str], list[int]],
    g: OrderSamples,
) -> Parsed:
    idx = picks[(g.sample_id, g.order)]
    return meta([g.parsed[j] for j in idx], [scores[(g.sample_id, g.order)][j] for j in idx], k_meta)


def greedy_point(judgments: Sequence[Judgment], labels: Mapping[str, str], seed: int = 0) -> CurvePoint:
    """Accuracy of the greedy (temperature 0, one sample) run."""
    labeled = [j for j in judgments if labels.get(j.sample_id) is not None and "skipped" not in j.extra]
    return _point("greedy", 1, [j.verdict for j in labeled], [labels[j.sample_id] for j in labeled], seed)


def score_items(items: Mapping[str, Sequence[OrderSamples]], scorer: Scorer) -> dict[tuple[str, str], list[float]]:
    """Meta-RM scores for every sample of every item/order, in one batched call."""
    keys = [(g.sample_id, g.order) for groups in items.values() for g in groups]
    pairs = [(g.prompt, t) for groups in items.values() for g in groups for t in g.texts]
    flat = iter(scorer(pairs))
    out: dict[tuple[str, str], list[float]] = {}
    for key, g in zip(keys, (g for groups in items.values() for g in groups), strict=True):
        out[key] = [next(flat) for _ in g.texts]
    return out


@dataclass(frozen=True)
class ScaleResult:
    """A computed curve and where it was written."""

    points: list[CurvePoint]
    json_path: Path
    png_path: Path
    summary: dict[str, Any]


def run_scale(
    samples: Sequence[Sample],
    protocol: Protocol,
    runner: Runner,
    ks: Sequence[int],
    out_dir: Path,
    scorer: Scorer | None = None,
    progress: Callable[[str], None] | None = None,
) -> ScaleResult:
    """Judge greedily and with max(ks) samples, compute the curve, write JSON and PNG.

    ``protocol.config`` supplies everything else (``seed``, ``k_meta`` option, the
    vote reducer, the sampling temperature: 0.7 when the config's is 0).
    """
    cfg = protocol.config
    if cfg.method != "generative":
        raise ConfigError("the scaling curve needs --method generative (sampled judgments)")
    if not ks or min(ks) < 1:
        raise ConfigError(f"--k needs positive integers, got {list(ks)}")
    labels = {s.id: s.label for s in samples if s.label is not None}
    if not labels:
        raise ConfigError("the scaling curve needs labeled items")
    warnings = protocol.check_samples(samples)
    if scorer is not None and cfg.option("meta_rm", None):
        found = overlap_warning(Path(str(cfg.option("meta_rm"))), [s.id for s in samples])
        warnings += [found] if found and found not in warnings else []
    vote_name = "majority" if cfg.reduce == "meta" else cfg.reduce
    greedy_cfg = replace(cfg, samples=1, temperature=0.0, reduce="majority")
    temperature = cfg.temperature if cfg.temperature > 0 else DEFAULT_SAMPLING_TEMPERATURE
    sampled_cfg = replace(cfg, samples=max(ks), temperature=temperature, reduce="majority")
    if progress:
        progress("greedy run")
    greedy = judge_samples(samples, get_protocol(protocol.name, greedy_cfg), runner)
    if progress:
        progress(f"sampling k={max(ks)} at temperature {temperature}")
    sampled = judge_samples(samples, get_protocol(protocol.name, sampled_cfg), runner)
    items = {j.sample_id: order_samples(j, labels.get(j.sample_id)) for j in sampled}
    meta_scores = None
    if scorer is not None:
        if progress:
            progress("scoring samples with the meta-RM")
        meta_scores = score_items(items, scorer)
    k_meta_opt = cfg.option("k_meta", None)
    points = [greedy_point(greedy, labels, cfg.seed)]
    points += compute_curve(items, labels, ks, vote_name, meta_scores,
                            int(k_meta_opt) if k_meta_opt is not None else None, cfg.seed, cfg.inconsistency)
    summary = {
        "protocol": protocol.name,
        "model_id": runner.backend.model_id,
        "ks": sorted(set(ks)),
        "max_k": max(ks),
        "temperature": temperature,
        "seed": cfg.seed,
        "items": len(samples),
        "labeled": len(labels),
        "vote_reducer": vote_name,
        "meta_rm": cfg.option("meta_rm", None) if scorer is not None else None,
        "runner": dict(vars(runner.stats)),
        "points": [p.to_dict() for p in points],
        "warnings": warnings,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out_dir / "curve.json", out_dir / "curve.png"
    json_path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    plot_curve(points, png_path, title=f"{protocol.name} on {runner.backend.model_id} ({len(labels)} items)")
    return ScaleResult(points=points, json_path=json_path, png_path=png_path, summary=summary)


def plot_curve(points: Sequence[CurvePoint], path: Path, title: str = "") -> None:
    """Accuracy against k (log2 axis) with bootstrap intervals; greedy as a band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    ks = sorted({p.k for p in points if p.method != "greedy"})
    for p in (p for p in points if p.method == "greedy"):
        ax.axhline(p.accuracy, color="gray", linestyle="--", label=f"greedy ({p.accuracy:.3f})")
        ax.axhspan(p.ci[0], p.ci[1], color="gray", alpha=0.12)
    for method, color in (("@k", "tab:blue"), ("meta@k", "tab:red")):
        series = [p for p in points if p.method.endswith(method) and (method == "meta@k") == (p.method == "meta@k")]
        if not series:
            continue
        xs = [p.k for p in series]
        ys = [p.accuracy for p in series]
        err = [[p.accuracy - p.ci[0] for p in series], [p.ci[1] - p.accuracy for p in series]]
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, color=color, label=series[0].method)
    if ks:
        ax.set_xscale("log", base=2)
        ax.set_xticks(ks)
        ax.set_xticklabels([str(k) for k in ks])
    ax.set_xlabel("k (sampled judgments per item and order)")
    ax.set_ylabel("accuracy (95% bootstrap CI)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
