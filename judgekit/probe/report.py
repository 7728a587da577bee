"""Probe reports: a JSON document, table rows (raw model next to each defence) and a PNG.

The JSON report is the source of truth; the table and the chart are views of it, so
``judgekit probe`` output can be re-rendered later from ``probe.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from judgekit.probe.attacks import Rate
from judgekit.probe.run import RAW, PhaseResult

PROBE_VERSION = 1
SUMMARY_KEYS = ("items", "judged", "skipped", "parse_failures", "parse_failure_rate")
# What each metric means, for the table caption and the chart axis.
METRIC_TEXT = {
    "fpr": "false-positive rate (content-free answer judged correct)",
    "accuracy": "accuracy",
    "attacker-verdict": "attacker's verdict given",
    "flip-to-attacker": "verdict flipped toward the attacker",
    "consistency": "position consistency",
    "first-position": "first-position preference",
    "padded-wins": "padded worse response wins / is accepted",
}


def rate_to_dict(rate: Rate) -> dict[str, Any]:
    """JSON view of one rate row."""
    lo, hi = rate.ci95
    return {"metric": rate.metric, "group": rate.group, "name": rate.name, "k": rate.k, "n": rate.n,
            "rate": rate.rate, "ci95": [lo, hi], "parse_failures": rate.parse_failures}


def build_report(results: Sequence[PhaseResult], meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Assemble the probe report: per attack, per defence setting, its rates and run summary."""
    attacks: dict[str, Any] = {}
    for res in results:
        entry = attacks.setdefault(res.phase.attack.name, {
            "description": res.phase.attack.description,
            "protocol": res.phase.protocol.name,
            "both_orders": res.phase.protocol.config.both_orders,
            "items": len(res.phase.items),
            "settings": {},
        })
        entry["settings"][res.phase.defense] = {
            "rates": [rate_to_dict(r) for r in res.rates],
            "summary": {k: res.summary.get(k) for k in SUMMARY_KEYS},
            "run_dir": str(res.run_dir) if res.run_dir else None,
        }
    return {"judgekit_probe": PROBE_VERSION, **dict(meta or {}), "attacks": attacks}


def write_json(report: Mapping[str, Any], path: Path) -> None:
    """Write the report atomically."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def cell(rate: Mapping[str, Any]) -> str:
    """``0.350 [0.181, 0.567] (7/20)``; ``-`` when nothing was judged."""
    if not rate["n"]:
        return "- (0/0)"
    lo, hi = rate["ci95"]
    return f"{rate['rate']:.3f} [{lo:.3f}, {hi:.3f}] ({rate['k']}/{rate['n']})"


def display(name: str) -> str:
    """Make a key or row name visible (a blank-space key shows as ``' '``)."""
    return repr(name) if not name.strip() or name != name.strip() or len(name) <= 2 else name


def table_rows(report: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Headers and rows: one row per measured quantity, one column per defence setting."""
    settings: list[str] = [RAW]
    for entry in report["attacks"].values():
        settings += [s for s in entry["settings"] if s not in settings]
    headers = ["attack", "metric", "group", "name", *settings, "parse fail (raw)"]
    rows = []
    for attack, entry in report["attacks"].items():
        by_setting = {s: {(r["metric"], r["group"], r["name"]): r for r in v["rates"]}
                      for s, v in entry["settings"].items()}
        for r in entry["settings"][RAW]["rates"]:
            key = (r["metric"], r["group"], r["name"])
            cells = [cell(by_setting[s][key]) if s in by_setting and key in by_setting[s] else ""
                     for s in settings]
            rows.append([attack, r["metric"], r["group"], display(r["name"]), *cells, str(r["parse_failures"])])
    return headers, rows


def markdown_table(report: Mapping[str, Any]) -> str:
    """Render the table as GitHub Markdown (for docs and READMEs)."""
    headers, rows = table_rows(report)

    def esc(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def plot_report(report: Mapping[str, Any], path: Path) -> Path:
    """Bar chart per attack (one bar per row and defence setting, 95% CI whiskers) as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    attacks = list(report["attacks"].items())
    heights = [max(1.6, 0.32 * len(e["settings"][RAW]["rates"]) * len(e["settings"]) + 1.0) for _, e in attacks]
    fig, axes = plt.subplots(len(attacks), 1, figsize=(9, sum(heights)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, (name, entry) in zip(axes[:, 0], attacks, strict=True):
        _attack_axis(ax, name, entry)
    fig.suptitle(f"judgekit probe: {report.get('model_id', '')} ({report.get('protocol', '')})", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _attack_axis(ax: Any, name: str, entry: Mapping[str, Any]) -> None:
    settings = list(entry["settings"])
    base = entry["settings"][RAW]["rates"]
    labels = [f"{r['metric']}: {display(r['name'])}" for r in base]
    width = 0.8 / len(settings)
    colors = ["#c0392b", "#2471a3", "#229954", "#7d3c98", "#d68910"]
    for si, setting in enumerate(settings):
        found = {(r["metric"], r["group"], r["name"]): r for r in entry["settings"][setting]["rates"]}
        ys, vals, errs_lo, errs_hi = [], [], [], []
        for i, r in enumerate(base):
            row = found.get((r["metric"], r["group"], r["name"]))
            if row is None or not row["n"]:
                continue
            ys.append(i + (si - (len(settings) - 1) / 2) * width)
            vals.append(row["rate"])
            errs_lo.append(row["rate"] - row["ci95"][0])
            errs_hi.append(row["ci95"][1] - row["rate"])
        ax.barh(ys, vals, height=width, xerr=[errs_lo, errs_hi], capsize=2, label=setting,
                color=colors[si % len(colors)], alpha=0.85)
    ax.set_yticks(range(len(base)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_title(f"{name}: {entry['description']} (n items={entry['items']})", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    if len(settings) > 1:
        ax.legend(fontsize=7, loc="lower right")
