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
SUMMARY_KEYS = ("items", "judged", "skipped", "parse_failures", "parse_failure_rate",
                "judge", "baselines", "best_baseline", "below_baseline", "length_strata")
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


def cell(rate: Mapping[str, Any], compact: bool = False) -> str:
    """``0.350 [0.181, 0.567] (7/20)`` (compact: ``0.35 [0.18,0.57]``); ``-`` when nothing was judged."""
    if not rate["n"]:
        return "-"
    lo, hi = rate["ci95"]
    if compact:
        return f"{rate['rate']:.2f} [{lo:.2f},{hi:.2f}]"
    return f"{rate['rate']:.3f} [{lo:.3f}, {hi:.3f}] ({rate['k']}/{rate['n']})"


def display(name: str) -> str:
    """Make a key or row name visible (a blank-space key shows as ``' '``)."""
    return repr(name) if not name.strip() or name != name.strip() or len(name) <= 2 else name


def table_rows(report: Mapping[str, Any], compact: bool = False) -> tuple[list[str], list[list[str]]]:
    """Headers and rows: one row per measured quantity, one column per defence setting.

    Compact rows (for terminals) merge the group into the name and give the raw
    model's counts in their own column.
    """
    settings: list[str] = [RAW]
    for entry in report["attacks"].values():
        settings += [s for s in entry["settings"] if s not in settings]
    lead = ["attack", "metric", "name"] if compact else ["attack", "metric", "group", "name"]
    headers = [*lead, *settings, "k/n (raw)" if compact else "parse fail (raw)"]
    rows = []
    for attack, entry in report["attacks"].items():
        by_setting = {s: {(r["metric"], r["group"], r["name"]): r for r in v["rates"]}
                      for s, v in entry["settings"].items()}
        for r in entry["settings"][RAW]["rates"]:
            key = (r["metric"], r["group"], r["name"])
            cells = [cell(by_setting[s][key], compact) if s in by_setting and key in by_setting[s] else ""
                     for s in settings]
            if compact:
                name = display(r["name"]) if r["group"] in ("key", "injection", "length", "bias", "order") \
                    else f"{r['group']}: {display(r['name'])}"
                rows.append([attack, r["metric"], name, *cells, f"{r['k']}/{r['n']}"])
            else:
                rows.append([attack, r["metric"], r["group"], display(r["name"]), *cells, str(r["parse_failures"])])
        rows += baseline_rows(attack, entry, settings, compact)
    return headers, rows


def _score_rate(score: Mapping[str, Any] | None) -> dict[str, Any]:
    """A baseline/judge score (``accuracy, ci95, correct, n``) as a rate row for :func:`cell`."""
    if not score:
        return {"rate": None, "ci95": [0.0, 0.0], "k": 0, "n": 0}
    return {"rate": score["accuracy"], "ci95": score["ci95"], "k": score["correct"], "n": score["n"]}


def baseline_rows(attack: str, entry: Mapping[str, Any], settings: Sequence[str],
                  compact: bool) -> list[list[str]]:
    """The judge's accuracy over the attack's labelled items beside the trivial baselines on the same items.

    One row for the judge, one per baseline (position, length, random rules), the
    length-controlled accuracy, and a ``below baseline`` row naming the best baseline
    wherever the judge does not beat it (the same verdict as ``judgekit judge``'s summary).
    """
    summaries = {s: v["summary"] for s, v in entry["settings"].items()}
    raw: Mapping[str, Any] = summaries.get(RAW) or next(iter(summaries.values()), {})
    if not raw.get("baselines"):
        return []
    keys = [("judge", "all labelled items")] + [("baseline", name) for name in raw["baselines"]]

    def score(summary: Mapping[str, Any], group: str, name: str) -> Mapping[str, Any] | None:
        return summary.get("judge") if group == "judge" else (summary.get("baselines") or {}).get(name)

    rows = []
    for group, name in keys:
        cells = [cell(_score_rate(score(summaries[s], group, name)), compact) if s in summaries else ""
                 for s in settings]
        own = _score_rate(score(raw, group, name))
        label = f"{group}: {name}"
        rows.append([attack, "accuracy", label, *cells, f"{own['k']}/{own['n']}"] if compact
                    else [attack, "accuracy", group, name, *cells, ""])
    extra = [("length-controlled", "judge", lambda m: _num((m.get("length_strata") or {}).get("length_controlled"))),
             ("below baseline", "best rule the judge does not beat", lambda m: str(m.get("below_baseline") or "-"))]
    for metric, name, value in extra:
        if metric == "length-controlled" and not raw.get("length_strata"):
            continue
        cells = [value(summaries[s]) if s in summaries else "" for s in settings]
        rows.append([attack, metric, name, *cells, ""] if compact else [attack, metric, "judge", name, *cells, ""])
    return rows


def _num(value: Any) -> str:
    return "-" if value is None else f"{float(value):.3f}"


def markdown_table(report: Mapping[str, Any]) -> str:
    """Render the table as GitHub Markdown (for docs and READMEs)."""
    headers, rows = table_rows(report)

    def esc(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# Which rows each attack's chart shows (the table and JSON always hold all of them).
CHART_METRICS = {"injection": ("flip-to-attacker",)}


def plot_report(report: Mapping[str, Any], path: Path) -> Path:
    """Draw a grouped bar chart per attack (one bar per row and defence setting, 95% CI whiskers) as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    attacks = list(report["attacks"].items())
    widest = max(len(_chart_rows(n, e)) * len(e["settings"]) for n, e in attacks)
    fig, axes = plt.subplots(len(attacks), 1, figsize=(max(8.0, 0.32 * widest + 2), 3.6 * len(attacks)),
                             squeeze=False)
    for ax, (name, entry) in zip(axes[:, 0], attacks, strict=True):
        _attack_axis(ax, name, entry, _renderable())
    fig.suptitle(f"judgekit probe: {report.get('model_id', '')} ({report.get('protocol', '')}, "
                 f"{report.get('method', '')})", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _chart_rows(name: str, entry: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    keep = CHART_METRICS.get(name)
    return [r for r in entry["settings"][RAW]["rates"] if keep is None or r["metric"] in keep]


def _renderable() -> set[int]:
    """Code points the default chart font can draw (no CJK font is assumed)."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    font = FT2Font(font_manager.findfont(font_manager.FontProperties()))
    return set(font.get_charmap())


def _label(text: str, glyphs: set[int]) -> str:
    return display(text) if all(ord(c) in glyphs for c in text) else ascii(text)


def _attack_axis(ax: Any, name: str, entry: Mapping[str, Any], glyphs: set[int]) -> None:
    settings = list(entry["settings"])
    base = _chart_rows(name, entry)
    width = 0.8 / len(settings)
    colors = ["#c0392b", "#2471a3", "#229954", "#7d3c98", "#d68910"]
    for si, setting in enumerate(settings):
        found = {(r["metric"], r["group"], r["name"]): r for r in entry["settings"][setting]["rates"]}
        xs, vals, lo, hi = [], [], [], []
        for i, r in enumerate(base):
            row = found.get((r["metric"], r["group"], r["name"]))
            if row is None or not row["n"]:
                continue
            xs.append(i + (si - (len(settings) - 1) / 2) * width)
            vals.append(row["rate"])
            lo.append(max(0.0, row["rate"] - row["ci95"][0]))  # float noise can make these -1e-17
            hi.append(max(0.0, row["ci95"][1] - row["rate"]))
        ax.bar(xs, vals, width=width, yerr=[lo, hi], capsize=2, label=setting,
               color=colors[si % len(colors)], alpha=0.85, error_kw={"elinewidth": 0.8})
    ax.set_xticks(range(len(base)))
    labels = [f"[clean {r['metric']}]" if r["group"] == "clean"
              else f"[{r['name']}]" if r["group"] in ("family", "overall") else _label(r["name"], glyphs)
              for r in base]
    ax.set_xticklabels(labels, fontsize=7, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(", ".join(dict.fromkeys(r["metric"] for r in base)), fontsize=8)
    ax.set_title(f"{name}: {entry['description']} ({entry['items']} judged items per setting)", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), title="defence", title_fontsize=7)
