"""Held-out table of the judge recipe: every evaluated model, source and method, with 95% CIs.

    python training/recipe_table.py runs/recipe            # prints markdown; writes runs/recipe/table.json
    python training/recipe_table.py runs/ablation --models base,lora,lora-crome   # other model names

Grades each run's ``results.jsonl`` against the labels of the held-out file it judged
(``OUT/data/heldout_<src>.jsonl``), not against the run's own summary:
pairwise items count as correct only when both orders agree on the label
(position-consistent accuracy; an order disagreement is never a tie here), and a
parse failure is wrong. Master-key rows come from each model's ``probe.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from judgekit.core.baselines import Score, baseline_verdicts, baselines, best_baseline, length_strata  # noqa: E402
from judgekit.core.data import load_samples  # noqa: E402
from judgekit.core.stats import wilson_interval  # noqa: E402
from judgekit.train.recipe.split import SOURCES  # noqa: E402

MODELS = ("base", "sft", "grpo-r1", "sft2", "grpo")  # grpo-r1: round 1's GRPO, over sft


def grade(results: Path, heldout: Path, task: str) -> dict[str, Any]:
    labels = {s.id: s.label for s in load_samples(heldout, task)}  # type: ignore[arg-type]
    rows = [json.loads(line) for line in results.open(encoding="utf-8") if line.strip()]
    rows = [r for r in rows if "skipped" not in (r.get("extra") or {})]
    n = len(rows)
    if task == "pairwise":
        correct = sum(1 for r in rows if r.get("consistent") and not r["parse_failure"]
                      and r["verdict"] == labels[r["sample_id"]])
    else:
        correct = sum(1 for r in rows if not r["parse_failure"] and r["verdict"] == labels[r["sample_id"]])
    lo, hi = wilson_interval(correct, n) if n else (0.0, 0.0)
    out = {"n": n, "correct": correct, "accuracy": correct / n if n else None, "ci95": [lo, hi],
           "parse_failure_rate": sum(r["parse_failure"] for r in rows) / n if n else None}
    if task == "verify":
        out["auc"] = auc([((r.get("probs") or {}).get("correct"), labels[r["sample_id"]] == "correct") for r in rows])
    if task == "pairwise":
        out["position_consistency"] = sum(1 for r in rows if r.get("consistent")) / n if n else None
        out["tie_rate"] = sum(1 for r in rows if r["verdict"] == "tie") / n if n else None
    return out


def auc(scored: list[tuple[float | None, bool]]) -> float | None:
    """ROC AUC of P(correct) for correct vs incorrect items (ties count half); None without probabilities."""
    pos = [p for p, ok in scored if ok and p is not None]
    neg = [p for p, ok in scored if not ok and p is not None]
    if not pos or not neg or len(pos) + len(neg) < len(scored):
        return None
    return sum((a > b) + 0.5 * (a == b) for a in pos for b in neg) / (len(pos) * len(neg))


def master_keys(probe: Path) -> dict[str, Any]:
    report = json.loads(probe.read_text(encoding="utf-8"))
    rates = report["attacks"]["master-keys"]["settings"]["raw"]["rates"]
    per_key = {r["name"]: r["rate"] for r in rates if r["metric"] == "fpr" and r["group"] == "key"}
    hits = sum(r["k"] for r in rates if r["metric"] == "fpr" and r["group"] == "key")
    total = sum(r["n"] for r in rates if r["metric"] == "fpr" and r["group"] == "key")
    failures = sum(r.get("parse_failures", 0) for r in rates if r["metric"] == "fpr" and r["group"] == "key")
    lo, hi = wilson_interval(hits, total) if total else (0.0, 0.0)
    return {"n": total, "false_positives": hits, "fpr": hits / total if total else None, "ci95": [lo, hi],
            "parse_failures": failures, "per_key": per_key}


_TRACE = re.compile(r"final answer is (\S+?),? which (matches|does not match) the reference answer (\S+?)\.?\n")
_COMPARE_TRACE = re.compile(r"final answer is (\S+?); the reference answer is (\S+?); [^\n]*? are (the same|different)")


def trace_diagnosis(results: Path, heldout: Path) -> dict[str, Any] | None:
    """How generative verification traces go wrong: reading the candidate's answer, or comparing it.

    For rule-style traces ("final answer is X, which matches / does not match the
    reference answer Y", or the rule-compare form "final answer is X; the reference
    answer is Y; X and Y are the same / different"): how often X is the dataset's
    extracted candidate answer, and how often the stated relation is the true
    relation between X and Y.
    """
    truth = {s.id: s for s in load_samples(heldout, "verify")}
    read = compared = traced = 0
    for line in results.open(encoding="utf-8"):
        row = json.loads(line)
        text = "".join(t.get("output", "") for t in row.get("trace", []))
        m = _TRACE.search(text + "\n")
        c = None if m else _COMPARE_TRACE.search(text + "\n")
        if m:
            said, relation, ref = m.group(1).rstrip(".,"), m.group(2), m.group(3).rstrip(".,")
        elif c:
            said, ref = c.group(1).rstrip(".,;"), c.group(2).rstrip(".,;")
            relation = "matches" if c.group(3) == "the same" else "does not match"
        else:
            continue
        traced += 1
        sample = truth[row["sample_id"]]
        read += said == str(sample.metadata.get("candidate_answer", "")).replace(",", "")
        compared += (relation == "matches") == (said == ref)
    if not traced:
        return None
    return {"rule_traces": traced, "answer_read_correctly": read / traced, "relation_correct": compared / traced}


def position_diagnosis(results: Path, heldout: Path) -> dict[str, Any] | None:
    """Whether a content signal lies under the position bias (pairwise logit runs, both orders).

    With ``d1`` / ``d2`` the log-odds of the first response over the second (unswapped)
    in the AB / BA order, ``(d1 - d2) / 2`` is the pull towards whichever response is
    shown first and ``(d1 + d2) / 2`` what is left once position is removed. Reported:
    the mean position pull, and the accuracy of the order-averaged verdict (the sign of
    ``d1 + d2``; a tie label counts as wrong), i.e. what a judge with no position bias at
    all would score with this model's content preferences.
    """
    labels = {s.id: s.label for s in load_samples(heldout, "pairwise")}
    pull, right, n = 0.0, 0, 0
    for line in results.open(encoding="utf-8"):
        row = json.loads(line)
        orders = {p["order"]: p.get("probs") or {} for p in row.get("per_order") or []}
        ab, ba = orders.get("AB", {}), orders.get("BA", {})
        if not all(q.get(k, 0) > 0 for q in (ab, ba) for k in ("A", "B")):
            continue
        d1, d2 = math.log(ab["A"] / ab["B"]), math.log(ba["A"] / ba["B"])
        n += 1
        pull += (d1 - d2) / 2
        right += (d1 + d2) != 0 and ("A" if d1 + d2 > 0 else "B") == labels[row["sample_id"]]
    if not n:
        return None
    lo, hi = wilson_interval(right, n)
    return {"n": n, "position_pull": pull / n, "order_averaged_accuracy": right / n, "ci95": [lo, hi]}


def fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def source_baselines(out: Path) -> dict[str, list[Score]]:
    """The trivial baselines (and, for verification, the rules) on each held-out file, best first."""
    found = {}
    for name, source in SOURCES.items():
        path = out / "data" / f"heldout_{name}.jsonl"
        if path.is_file():
            found[name] = baselines(load_samples(path, source.task), source.task)  # type: ignore[arg-type]
    return found


def below(g: dict[str, Any], base: list[Score]) -> str:
    """' (below baseline: NAME)' when the accuracy does not beat the source's best baseline."""
    best = best_baseline(base)
    if best is None or best.accuracy is None or g["accuracy"] is None or g["accuracy"] > best.accuracy:
        return ""
    return f" (below baseline: {best.name})"


def baseline_lines(out: Path, base: dict[str, list[Score]]) -> list[str]:
    """Markdown rows: every baseline per held-out source, with Wilson intervals and length strata."""
    lines = ["", "| baseline | source | items | accuracy [95% CI] | preferred longer / shorter | length-controlled |",
             "|---|---|---:|---|---|---:|"]
    for name, scores in base.items():
        samples = load_samples(out / "data" / f"heldout_{name}.jsonl", SOURCES[name].task)  # type: ignore[arg-type]
        for b in scores:
            strata = ""
            controlled = None
            if SOURCES[name].task == "pairwise":
                st = length_strata(samples, baseline_verdicts(samples, "pairwise")[b.name])
                strata = f"{fmt(st.longer.accuracy)} / {fmt(st.shorter.accuracy)}"
                controlled = st.controlled
            lines.append(f"| {b.name} | {name} | {b.n} | {fmt(b.accuracy)} [{b.ci95[0]:.3f}, {b.ci95[1]:.3f}] | "
                         f"{strata} | {fmt(controlled)} |")
    return lines


def main(out_dir: str, models: tuple[str, ...] = MODELS) -> None:
    out = Path(out_dir)
    table: dict[str, Any] = {}
    lines = ["| model | source | mode | items | accuracy [95% CI] | position consistency | tie rate | parse failures |",
             "|---|---|---|---:|---|---:|---:|---:|"]
    base = source_baselines(out)
    for model in models:
        for name, source in SOURCES.items():
            for method in ("logit", "generative"):
                res = out / "eval" / model / f"{name}-{method}" / "results.jsonl"
                if not res.is_file():
                    continue
                g = grade(res, out / "data" / f"heldout_{name}.jsonl", source.task)
                table.setdefault(model, {})[f"{name}-{method}"] = g
                lines.append(f"| {model} | {name} | {method} | {g['n']} | {fmt(g['accuracy'])} "
                             f"[{g['ci95'][0]:.3f}, {g['ci95'][1]:.3f}]{below(g, base.get(name, []))} | "
                             f"{fmt(g.get('position_consistency'))} | "
                             f"{fmt(g.get('tie_rate'))} | {fmt(g['parse_failure_rate'])} |")
    if base:
        lines += baseline_lines(out, base)
        table["_baselines"] = {n: {b.name: b.to_dict() for b in scores} for n, scores in base.items()}
    auc_lines = [f"| {m} | {fmt(table[m]['gsm8k-logit'].get('auc'))} |" for m in models
                 if "gsm8k-logit" in table.get(m, {})]
    if auc_lines:
        lines += ["", "| model | GSM8K logit: AUC of P(correct), correct vs incorrect candidates |", "|---|---:|",
                  *auc_lines]
    key_lines = []
    for model in models:
        for method in ("logit", "generative"):
            probe = out / "eval" / model / f"master-keys-{method}" / "probe.json"
            if not probe.is_file():
                continue
            mk = master_keys(probe)
            table.setdefault(model, {})[f"master-keys-{method}"] = mk
            worst = max(mk["per_key"].items(), key=lambda kv: kv[1], default=("–", float("nan")))
            key_lines.append(f"| {model} | 10 bundled | {method} | {mk['n']} | {fmt(mk['fpr'])} "
                             f"[{mk['ci95'][0]:.3f}, {mk['ci95'][1]:.3f}] | {worst[0]!r} {worst[1]:.2f} |")
    if key_lines:
        lines += ["", "| model | master keys | mode | key items | FPR [95% CI] | worst key |",
                  "|---|---|---|---:|---|---|", *key_lines]
    diag_lines = []
    for model in models:
        res = out / "eval" / model / "gsm8k-generative" / "results.jsonl"
        diag = trace_diagnosis(res, out / "data" / "heldout_gsm8k.jsonl") if res.is_file() else None
        if diag:
            table.setdefault(model, {})["gsm8k-generative-traces"] = diag
            diag_lines.append(f"| {model} | {diag['rule_traces']} | {diag['answer_read_correctly']:.3f} | "
                              f"{diag['relation_correct']:.3f} |")
    if diag_lines:
        lines += ["", "| model | GSM8K generative rule traces | candidate answer read correctly | "
                  "stated match/mismatch correct |", "|---|---:|---:|---:|", *diag_lines]
    pos_lines = []
    for model in models:
        for name, source in SOURCES.items():
            res = out / "eval" / model / f"{name}-logit" / "results.jsonl"
            if source.task != "pairwise" or not res.is_file():
                continue
            pos = position_diagnosis(res, out / "data" / f"heldout_{name}.jsonl")
            if pos:
                table.setdefault(model, {})[f"{name}-logit-position"] = pos
                pos_lines.append(f"| {model} | {name} | {pos['n']} | {pos['position_pull']:.2f} | "
                                 f"{pos['order_averaged_accuracy']:.3f} [{pos['ci95'][0]:.3f}, {pos['ci95'][1]:.3f}] |")
    if pos_lines:
        lines += ["", "| model | source (logit) | items | position pull (log-odds) | "
                  "order-averaged accuracy [95% CI] |", "|---|---|---:|---:|---|", *pos_lines]
    times = out / "times.tsv"
    if times.is_file():
        lines += ["", "| stage | seconds |", "|---|---:|"]
        for line in times.read_text().splitlines():
            stage, _, secs = line.split("\t")
            lines.append(f"| {stage} | {secs} |")
            table.setdefault("_times", {})[stage] = int(secs)
    (out / "table.json").write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="held-out table of a recipe (or ablation) output directory")
    parser.add_argument("out_dir")
    parser.add_argument("--models", default=",".join(MODELS), help="model names under OUT/eval/, in table order")
    ns = parser.parse_args()
    main(ns.out_dir, tuple(m for m in ns.models.split(",") if m))
