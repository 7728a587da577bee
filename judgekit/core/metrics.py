"""Run-level metrics from judgments and labels (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from judgekit.core.baselines import baseline_summary
from judgekit.core.rank_metrics import listwise_summary
from judgekit.core.stats import Z95_ROUNDED, rate, wilson_interval
from judgekit.core.types import Judgment, Sample


def summarize(
    samples: Sequence[Sample], judgments: Sequence[Judgment], elapsed_s: float | None = None
) -> dict[str, Any]:
    """Counts and rates a user looks at after a run.

    Accuracy counts a parse failure as wrong (``accuracy``) and also reports the
    rate over parsed items only (``accuracy_parsed``); skipped items are excluded.
    With labels, the trivial baselines scored on the same items sit beside it
    (:func:`judgekit.core.baselines.baseline_summary`).
    """
    labels = {s.id: s.label for s in samples}
    judged = [j for j in judgments if "skipped" not in j.extra]
    failures = [j for j in judged if j.parse_failure]
    parsed = [j for j in judged if not j.parse_failure]
    labeled = [j for j in judged if labels.get(j.sample_id) is not None]
    correct = sum(1 for j in labeled if j.verdict == labels[j.sample_id])
    parsed_labeled = [j for j in labeled if not j.parse_failure]
    with_consistency = [j for j in judged if j.consistent is not None]
    out: dict[str, Any] = {
        "items": len(judgments),
        "judged": len(judged),
        "skipped": len(judgments) - len(judged),
        "parse_failures": len(failures),
        "parse_failure_rate": rate(len(failures), len(judged)),
        "tie_rate": rate(sum(1 for j in parsed if j.verdict == "tie"), len(parsed)),
        "position_consistency": rate(sum(1 for j in with_consistency if j.consistent), len(with_consistency)),
        "labeled": len(labeled),
    }
    partial = sum(1 for j in judged if j.extra.get("sample_failures"))
    if partial:  # a verdict read from some of its k samples: counted, never hidden
        out["items_with_sample_failures"] = partial
    if labeled:
        lo, hi = wilson_interval(correct, len(labeled), z=Z95_ROUNDED)
        out["accuracy"] = correct / len(labeled)
        out["accuracy_ci95"] = [lo, hi]
        out["accuracy_parsed"] = rate(correct, len(parsed_labeled))
        out.update(baseline_summary(samples, judgments))
    listwise = [{"sample_id": j.sample_id, "listwise": j.extra["listwise"]} for j in judged
                if j.extra.get("listwise") and not j.parse_failure]
    if listwise:  # best-of-N accuracy is ``accuracy`` (verdict = letter of the best response)
        gold = {s.id: s.metadata.get("gold_ranking") for s in samples}
        out["listwise"] = listwise_summary(gold, listwise)
    if elapsed_s is not None:
        out["elapsed_s"] = round(elapsed_s, 3)
        out["judgments_per_s"] = round(len(judged) / elapsed_s, 3) if elapsed_s > 0 else None
    return out

