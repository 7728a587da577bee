"""PPE correctness (arXiv 2410.14872, lmarena/PPE): best-of-K sets with verifiable answers.

Published layout: five hub datasets (split ``train``), one per source benchmark:
``lmarena-ai/PPE-MMLU-Pro-Best-of-K``, ``-MATH-``, ``-GPQA-``, ``-IFEval-``,
``-MBPP-Plus-Best-of-K`` (upstream ``benchmarks/`` registers them as
``mmlu_pro_best_of_k`` ... with ``responses_per_question = 32``). One row per
(question, generator model): ``question_id``, ``prompt``, ``model_name``,
``response_1`` .. ``response_K``, ``scores`` (the K ground-truth correctness
values, booleans on the hub), ``conflict_pairs`` and ``sampled_conflict_pairs``
(0-based ``[i, j]`` index pairs, one response right and the other wrong; the
sampled ones are scored), plus per-set fields (``question``, ``options``,
``parsed_outputs``, ``mean_score`` ...; read from the hub cards). PATH is one file (one source benchmark) or a
folder of them; the subset is the row's ``benchmark`` field, else the file name
(``mmlu_pro_best_of_k.jsonl`` -> ``mmlu_pro``; a hub ``data/train-*.parquet`` file
is named by its dataset folder).

Upstream scores these with ``utils/scorers.py`` ``ConflictScorer`` (accuracy),
``AUCScorer`` and ``BestOfKScorer``. Only that file's opening could be read here
(no snapshot of lmarena/PPE): a response whose score is ``$ERROR$`` scores
``-inf`` (``BestOfKScorer.__init__``: ``.replace({"$ERROR$": -float("inf")})``)
and AUC is sklearn's ``roc_auc_score``. The rest follows the paper's definitions,
in judgekit's reading, pinned by hand-computed tests:

* **accuracy** (judged pointwise or pairwise): over the conflict pairs, right when
  the correct response gets the strictly higher score (pairwise: the verdict picks
  it); a tie or a failure is wrong. Pooled over the pairs of a subset;
* **best-of-K** (pointwise only): for K = 1..n, the exact expected ground-truth
  score of the response the judge ranks first among K responses drawn without
  replacement (tied top scores split evenly), averaged over the subset's rows;
  ``bok_end`` at K = n, ``bok_max`` its maximum over K, ``bok_loss`` the mean over K
  of the squared gap to the oracle curve (the same rule with the ground truth as
  the score);
* **auc**: ROC AUC of the judge's scores against correctness, pooled over the
  subset's responses (ties count one half; a failure ranks lowest).

``overall`` is the mean of the subset accuracies; ``bok_*``/``auc`` without a
subset prefix are means over the subsets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from judgekit.core.data import DataError, read_rows
from judgekit.evaluation.benchmarks.base import (
    Benchmark,
    BenchmarkInfo,
    Comparison,
    EvalSet,
    Item,
    ItemOutcomes,
    ItemResult,
    comparison_outcome,
    seeded_swap,
    unit_ids,
)
from judgekit.evaluation.benchmarks.common import (
    DATA_SUFFIXES,
    check_unique,
    data_files,
    group_results,
    judged,
    limited,
    mean,
    read_records,
    text,
)

_SPLIT_PREFIXES = ("train-", "test-", "data-", "validation-")
_PLAIN_DIRS = {"data", "train", "test"}


def subset_name(file: Path) -> str:
    """The source benchmark a file holds: its stem, or its dataset folder for a hub shard; normalised."""
    is_file = file.suffix.lower() in DATA_SUFFIXES or file.is_file()
    name = file.stem if is_file else file.name
    if is_file and (name.startswith(_SPLIT_PREFIXES) or name in _PLAIN_DIRS):
        name = next((p.name for p in file.parents if p.name and p.name.lower() not in _PLAIN_DIRS), name)
    name = name.lower().replace("-", "_")
    for prefix in ("ppe_",):
        name = name.removeprefix(prefix)
    return name.removesuffix("_best_of_k")


def _responses(row: Mapping[str, Any], where: str) -> list[str]:
    out: list[str] = []
    while f"response_{len(out) + 1}" in row:
        out.append(text(row, f"response_{len(out) + 1}", where))
    return out


def _numbers(row: Mapping[str, Any], name: str, n: int, where: str) -> list[float]:
    values = row.get(name)
    if isinstance(values, str) or not isinstance(values, Sequence) or len(values) != n or not all(
            isinstance(v, int | float) for v in values):
        raise DataError(where, f"question {row.get('question_id')!r}: {name} must hold {n} numbers (one per "
                               "response_N)", field=name)
    return [float(v) for v in values]


def _pairs(row: Mapping[str, Any], gt: Sequence[float], where: str) -> list[tuple[int, int]]:
    raw = row.get("sampled_conflict_pairs") or []
    out = []
    for p in raw:
        if isinstance(p, str) or not isinstance(p, Sequence) or len(p) != 2 or not all(
                isinstance(i, int) and 0 <= i < len(gt) for i in p):
            raise DataError(where, f"question {row.get('question_id')!r}: sampled_conflict_pairs holds {p!r}; "
                                   f"expected [i, j] with 0 <= i, j < {len(gt)}", field="sampled_conflict_pairs")
        i, j = int(p[0]), int(p[1])
        if gt[i] != gt[j]:  # a pair with equal ground truth prefers nothing
            out.append((i, j) if gt[i] > gt[j] else (j, i))
    return out


def _item(row: Mapping[str, Any], subset: str, n: int, where: str) -> Item:
    responses = _responses(row, where)
    if not responses:
        raise DataError(where, f"row {n}: no response_1 .. response_K fields", field="response_1")
    gt = _numbers(row, "scores", len(responses), where)
    pairs = _pairs(row, gt, where)
    qid = str(row.get("question_id", n))
    model = row.get("model_name")
    item_id = f"{subset}:{qid}" + (f":{model}" if model else "")
    comps = []
    for right, wrong in pairs:
        cid = f"p{right}_{wrong}"
        if seeded_swap(f"{item_id}:{cid}"):
            comps.append(Comparison(cid, wrong, right, "B"))
        else:
            comps.append(Comparison(cid, right, wrong, "A"))
    best = max(gt)
    return Item(id=item_id, subset=subset, prompt=text(row, "prompt", where), candidates=tuple(responses),
                correct=tuple(i for i, g in enumerate(gt) if g == best and best > 0), comparisons=tuple(comps),
                mode=None, metadata={"gt": gt, "model": model, "pairs": pairs})


def _sources(path: Path) -> list[tuple[str, list[dict[str, Any]], str]]:
    if path.is_dir() and not any((path / f).exists() for f in ("dataset_dict.json", "dataset_info.json")):
        return [(subset_name(f), [row for _, row in read_rows(f)], str(f)) for f in data_files(path)]
    return [(subset_name(path), list(read_records(path, prefer_splits=("train", "test"))), str(path))]


def load(path: Path, limit: int | None = None) -> EvalSet:
    """One item per row (all K responses); ``limit`` counts rows per file."""
    items: list[Item] = []
    for stem, rows, where in _sources(Path(path)):
        per = [_item(row, str(row.get("benchmark") or stem), n, where) for n, row in enumerate(rows)]
        items.extend(limited(per, limit))
    check_unique(items, str(path))
    return EvalSet("ppe_correctness", tuple(items), str(path))


# --- pure rules -------------------------------------------------------------------------------------

def _comb(n: int, k: int) -> int:
    return math.comb(n, k) if 0 <= k <= n else 0


def best_of_k_curve(rm: Sequence[float], gt: Sequence[float]) -> list[float]:
    """Expected ground truth of the top-``rm`` response among K drawn without replacement, K = 1..n.

    Responses with equal ``rm`` split the pick evenly. For a group of ``m`` tied
    responses with ``t`` responses scored below it, the group supplies the pick of a
    random K-subset with probability ``(C(m+t, K) - C(t, K)) / C(n, K)``.
    """
    n = len(rm)
    levels = sorted(set(rm), reverse=True)
    groups = [[g for r, g in zip(rm, gt, strict=True) if r == level] for level in levels]
    curve = []
    for k in range(1, n + 1):
        below = n
        total = 0.0
        for grp in groups:
            below -= len(grp)
            p = (_comb(len(grp) + below, k) - _comb(below, k)) / _comb(n, k)
            total += p * mean(grp)
        curve.append(total)
    return curve


def roc_auc(scores: Sequence[float], positive: Sequence[bool]) -> float:
    """Mann-Whitney ROC AUC (ties one half); NaN when either class is empty."""
    pos = [s for s, p in zip(scores, positive, strict=True) if p]
    neg = [s for s, p in zip(scores, positive, strict=True) if not p]
    if not pos or not neg:
        return float("nan")
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def _rm(scores: Sequence[float | None]) -> list[float]:
    return [-math.inf if s is None else float(s) for s in scores]  # upstream: $ERROR$ -> -inf


def item_results(evalset: EvalSet, grouped: Mapping[str, ItemOutcomes]) -> list[ItemResult]:
    """Per row: its conflict pairs won (``pair_accuracy``) and, scored pointwise, its best-of-K curves."""
    out = []
    for it, got in judged(evalset, grouped):
        gt = list(it.metadata["gt"])
        detail: dict[str, Any] = {"gt": gt}
        if got.scores and not got.pairs:
            scores = [got.scores.get(i) for i in range(len(it.candidates))]
            rm = _rm(scores)
            right = [rm[a] > rm[b] for a, b in it.metadata["pairs"]]
            detail.update(scores=scores, failed=[i for i, s in enumerate(scores) if s is None],
                          bok=best_of_k_curve(rm, gt), oracle=best_of_k_curve(gt, gt), rule="pointwise")
        else:
            right = []
            verdicts: dict[str, str | None] = {}
            for comp in it.comparisons:
                o = comparison_outcome(it, comp, got)
                verdicts[comp.id] = o.winner if o else None
                right.append(o is not None and o.winner == comp.label)
            detail.update(verdicts=verdicts, rule="pairwise")
        detail.update(pairs=len(right), pairs_right=sum(right),
                      pair_accuracy=sum(right) / len(right) if right else None)
        # accuracy is pooled over a set's pairs, not a share of rows: no per-row credit (and so no Wilson on rows)
        out.append(ItemResult(it.id, it.subset, None, detail, unit_ids(it, got)))
    return out


def _curve_mean(curves: Sequence[Sequence[float]]) -> list[float]:
    n = max((len(c) for c in curves), default=0)
    return [mean([c[k] for c in curves if len(c) > k]) for k in range(n)]


def _subset_numbers(rs: Sequence[ItemResult]) -> dict[str, float]:
    pairs = sum(int(r.detail.get("pairs", 0)) for r in rs)
    out = {"accuracy": sum(int(r.detail.get("pairs_right", 0)) for r in rs) / pairs if pairs else math.nan}
    scored = [r for r in rs if "bok" in r.detail]
    if scored:
        bok = _curve_mean([r.detail["bok"] for r in scored])
        oracle = _curve_mean([r.detail["oracle"] for r in scored])
        out.update(bok_end=bok[-1], bok_max=max(bok),
                   bok_loss=mean([(o - b) ** 2 for o, b in zip(oracle, bok, strict=True)]))
        flat = [(s, g > 0) for r in scored for s, g in zip(_rm(r.detail["scores"]), r.detail["gt"], strict=True)]
        out["auc"] = roc_auc([s for s, _ in flat], [p for _, p in flat])
    return out


def aggregate(results: Sequence[ItemResult]) -> dict[str, float]:
    """Per subset accuracy (``subset/NAME``) and best-of-K / AUC numbers; ``overall`` = mean subset accuracy."""
    per = {name: _subset_numbers(rs) for name, rs in sorted(group_results(results).items())}
    out: dict[str, float] = {"overall": mean([v["accuracy"] for v in per.values()])}
    for name, nums in per.items():
        out[f"subset/{name}"] = nums["accuracy"]
        out.update({f"{key}/{name}": v for key, v in nums.items() if key != "accuracy"})
    for key in ("bok_end", "bok_max", "bok_loss", "auc"):
        vals = [v[key] for v in per.values() if key in v and not math.isnan(v[key])]
        if vals:
            out[key] = mean(vals)
    return out


BENCHMARK = Benchmark(
    name="ppe_correctness",
    description="PPE correctness: 32 responses per question with verified answers; conflict-pair accuracy and "
                "best-of-K",
    upstream="https://github.com/lmarena/PPE (utils/scorers.py ConflictScorer, AUCScorer, BestOfKScorer; "
             "arXiv 2410.14872)",
    load=load, item_results=item_results, aggregate=aggregate, default_mode="pointwise",
    info=BenchmarkInfo(source="lmarena-ai/PPE-{MMLU-Pro,MATH,GPQA,IFEval,MBPP-Plus}-Best-of-K (hub, split train)",
                       license="not stated in the cards read here (GPQA carries a canary string); check each hub card",
                       rows="2,555 rows x 32 responses over 5 sets (as reported; GPQA 512 rows per its card)",
                       reproduces="$ERROR$ -> -inf (BestOfKScorer.__init__, read); accuracy, best-of-K, AUC as the "
                                  "paper defines them (scorer bodies not readable here)",
                       obtained="no: hub only, lmarena/PPE not reachable; tests use a constructed fixture in the "
                                "hub layout"),
)
