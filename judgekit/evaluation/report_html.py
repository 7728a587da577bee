"""The self-contained HTML report: inline CSS, inline SVG charts, escaped text.

Charts are rendered by matplotlib into ``<svg>`` elements with no external
references; every piece of run data (model output above all) goes through
:func:`html.escape`. Nothing on the page loads from the network.
"""

from __future__ import annotations

import html
import io
import json
import re
import time
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from judgekit.core.stats import MIN_N_SIGNIFICANT, CalibrationBin
from judgekit.evaluation.formatting import fmt, fmt_ci, significance_text

BAR = "#3b6ea8"
ACCENT = "#c2553a"
GREY = "#8a8f98"


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    start = text.find("<svg")
    svg = text[start:] if start >= 0 else text
    # matplotlib writes fixed pt sizes; let the page scale the chart to its column.
    return re.sub(r'(<svg[^>]*?) width="[^"]*" height="[^"]*"', r"\1", svg, count=1)


def _figure(height: float) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "judgekit", "font.size": 9})
    fig, ax = plt.subplots(figsize=(7.0, height))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def bar_chart(
    rows: Sequence[tuple[str, float | None, Sequence[float] | None, int | None]],
    title: str,
    xlabel: str = "score",
    highlight: str | None = None,
    xlim: tuple[float, float] | None = (0.0, 1.0),
    reference: float | None = None,
) -> str:
    """Horizontal bars with percentile-interval error bars: ``(name, value, [lo, hi], n)``."""
    rows = [r for r in rows if r[1] is not None]
    if not rows:
        return ""
    fig, ax = _figure(0.9 + 0.32 * len(rows))
    names = [f"{r[0]}  (n={r[3]})" if r[3] is not None else r[0] for r in rows]
    vals = [float(r[1]) for r in rows]  # type: ignore[arg-type]
    lo_err = [max(0.0, v - r[2][0]) if r[2] else 0.0 for v, r in zip(vals, rows, strict=True)]
    hi_err = [max(0.0, r[2][1] - v) if r[2] else 0.0 for v, r in zip(vals, rows, strict=True)]
    colors = [ACCENT if r[0] == highlight else BAR for r in rows]
    y = list(range(len(rows)))[::-1]
    ax.barh(y, vals, color=colors, xerr=[lo_err, hi_err], capsize=3, error_kw={"elinewidth": 1, "ecolor": "#222"})
    ax.set_yticks(y, names)
    for yy, v in zip(y, vals, strict=True):
        ax.text(v, yy, f" {v:.3f}", va="center", ha="left", fontsize=8, color="#222")
    if xlim:
        ax.set_xlim(xlim[0], xlim[1] * 1.12)
    if reference is not None:
        ax.axvline(reference, color=GREY, linestyle="--", linewidth=1)
    ax.set_xlabel(xlabel)
    ax.set_title(title, loc="left", fontsize=10)
    return _svg(fig)


def diff_chart(rows: Sequence[tuple[str, float, Sequence[float] | None, bool]], title: str) -> str:
    """Paired differences (A minus B) with intervals; significant ones highlighted."""
    rows = [r for r in rows if r[1] is not None]
    if not rows:
        return ""
    fig, ax = _figure(0.9 + 0.32 * len(rows))
    y = list(range(len(rows)))[::-1]
    vals = [r[1] for r in rows]
    lo_err = [max(0.0, v - r[2][0]) if r[2] else 0.0 for v, r in zip(vals, rows, strict=True)]
    hi_err = [max(0.0, r[2][1] - v) if r[2] else 0.0 for v, r in zip(vals, rows, strict=True)]
    colors = [ACCENT if r[3] else GREY for r in rows]
    ax.barh(y, vals, color=colors, xerr=[lo_err, hi_err], capsize=3, error_kw={"elinewidth": 1, "ecolor": "#222"})
    ax.axvline(0, color="#222", linewidth=0.8)
    ax.set_yticks(y, [r[0] for r in rows])
    ax.set_xlabel("A minus B (coloured: interval excludes 0)")
    ax.set_title(title, loc="left", fontsize=10)
    return _svg(fig)


def calibration_chart(bins: Sequence[CalibrationBin], title: str) -> str:
    """Reliability diagram: observed accuracy against mean confidence per bin."""
    used = [b for b in bins if b.count and b.mean_confidence is not None and b.accuracy is not None]
    if not used:
        return ""
    fig, ax = _figure(3.6)
    ax.plot([0, 1], [0, 1], color=GREY, linestyle="--", linewidth=1, label="perfect calibration")
    ax.plot([b.mean_confidence for b in used], [b.accuracy for b in used], marker="o", color=BAR,
            label="judge")
    for b in used:
        ax.annotate(str(b.count), (float(b.mean_confidence), float(b.accuracy)),  # type: ignore[arg-type]
                    textcoords="offset points", xytext=(4, -10), fontsize=7, color=GREY)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("confidence of the predicted verdict")
    ax.set_ylabel("accuracy")
    ax.legend(loc="upper left", frameon=False)
    ax.set_title(title, loc="left", fontsize=10)
    return _svg(fig)


MAX_TEXT = 6000


def esc(x: Any) -> str:
    """Escape any value for HTML text or attributes."""
    return html.escape("" if x is None else str(x), quote=True)


def _clip(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    return text[:MAX_TEXT] + f"\n... [{len(text) - MAX_TEXT} more characters in results.jsonl]"


def _num(x: Any) -> str:
    return esc(fmt(x))


def _ci(ci: Sequence[float] | None) -> str:
    return esc(fmt_ci(ci))


def _metric_rows(metrics: Mapping[str, Any], prefix: str) -> list[tuple[str, Any, Any, Any]]:
    return [(k.split("/", 1)[1], m.get("value"), m.get("ci"), m.get("n"))
            for k, m in metrics.items() if k.startswith(prefix)]


def _charts(summary: Mapping[str, Any]) -> str:
    metrics = summary.get("metrics") or {}
    parts = []
    subsets = _metric_rows(metrics, "subset/")
    primary = summary.get("primary")
    if primary in metrics:
        m = metrics[primary]
        subsets = [(f"{primary} (headline)", m.get("value"), m.get("ci"), m.get("n")), *subsets]
    if subsets:
        parts.append(bar_chart(subsets, "Scores per subset (bars: 95% bootstrap interval)",
                               highlight=f"{primary} (headline)"))
    other = [(k, m.get("value"), m.get("ci"), m.get("n")) for k, m in metrics.items()
             if not k.startswith("subset/") and k != primary and m.get("value") is not None
             and 0.0 <= float(m["value"]) <= 1.0 and not k.startswith("kappa")]
    if other:
        parts.append(bar_chart(other, "Other scores (bars: 95% bootstrap interval)"))
    return "".join(f'<div class="chart">{p}</div>' for p in parts if p)


def _cards(summary: Mapping[str, Any]) -> str:
    diag = summary.get("diagnostics") or {}
    cards = []
    if summary.get("primary_value") is not None:
        ci = "95% CI " + _ci(summary.get("primary_ci"))
        cards.append((summary.get("primary"), _num(summary["primary_value"]), ci))
    cards.append(("items judged", esc(summary.get("items_judged")), f"of {esc(summary.get('items_total'))}"))
    for key in ("parse_failure_rate", "tie_rate", "position_consistency", "score_failure_rate"):
        if diag.get(key) is not None:
            cards.append((key.replace("_", " "), _num(diag[key]), ""))
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="k">{esc(k)}</div><div class="v">{v}</div><div class="ci">{c}</div></div>'
        for k, v, c in cards
    ) + "</div>"


def _metric_table(summary: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{esc(k)}</td><td class=num>{_num(m.get('value'))}</td><td class=num>{_ci(m.get('ci'))}</td>"
        f"<td class=num>{_num(m.get('n'))}</td></tr>"
        for k, m in (summary.get("metrics") or {}).items()
    )
    if not rows:
        return '<p class="note">No labelled scores in this run.</p>'
    return f"<table><tr><th>metric</th><th>value</th><th>95% CI</th><th>n</th></tr>{rows}</table>"


def _diag_table(summary: Mapping[str, Any]) -> str:
    diag = summary.get("diagnostics") or {}
    rows = "".join(f"<tr><td>{esc(k)}</td><td class=num>{_num(v)}</td></tr>" for k, v in diag.items())
    return f"<table><tr><th>diagnostic</th><th>value</th></tr>{rows}</table>" if rows else ""


def _calibration(summary: Mapping[str, Any]) -> str:
    cal = summary.get("calibration")
    if not cal:
        return ""
    bins = [CalibrationBin(**b) for b in cal["bins"]]
    chart = calibration_chart(bins, "Reliability diagram (logit-mode probabilities)")
    return (f"<h2>Calibration</h2><p>{esc(cal['n'])} verdicts with probabilities: ECE {_num(cal['ece'])}, "
            f"Brier score {_num(cal['brier'])}. Point labels are bin counts.</p><div class='chart small'>{chart}</div>")


def _comparison(summary: Mapping[str, Any]) -> str:
    comp = summary.get("comparison")
    if not comp:
        return ""
    min_n = comp.get("min_n") or MIN_N_SIGNIFICANT
    out = [f"<h2>Comparison</h2><p>A = this run, B = <code>{esc(comp.get('run_b'))}</code>. "
           "Paired bootstrap over the items both runs judged; significant = the interval excludes 0 "
           f"and the number rests on at least {esc(min_n)} paired items.</p>"]
    for bench, c in (comp.get("benchmarks") or {}).items():
        rows, chart_rows = [], []
        for key, m in c.get("metrics", {}).items():
            sig = '<span class="sig">yes</span>' if m.get("significant") else esc(significance_text(m))
            rows.append(f"<tr><td>{esc(key)}</td><td class=num>{_num(m.get('a'))}</td><td class=num>"
                        f"{_num(m.get('b'))}</td><td class=num>{_num(m.get('diff'))}</td><td class=num>"
                        f"{_ci(m.get('ci'))}</td><td class=num>{_num(m.get('p_value'))}</td><td class=num>"
                        f"{_num(m.get('n'))}</td><td>{sig}</td></tr>")
            if m.get("diff") is not None:
                chart_rows.append((key, m["diff"], m.get("ci"), bool(m.get("significant"))))
        out.append(f"<h3>{esc(bench)} ({esc(c.get('items_common'))} paired items)</h3><table><tr><th>metric</th>"
                   "<th>A</th><th>B</th><th>A-B</th><th>95% CI</th><th>p</th><th>n</th><th>significant</th></tr>"
                   + "".join(rows) + "</table>")
        out.append(f'<div class="chart">{diff_chart(chart_rows, f"{bench}: A minus B")}</div>')
    return "".join(out)


def _judgment_html(j: Mapping[str, Any]) -> str:
    head = (f"<p>unit <code>{esc(j.get('sample_id'))}</code>: verdict <b>{esc(j.get('verdict'))}</b>"
            f", reward {_num(j.get('reward'))}, consistent {esc(j.get('consistent'))}")
    if j.get("parse_failure"):
        head += f", <span class=sig>parse failure: {esc(j.get('failure_reason'))}</span>"
    if j.get("extra", {}).get("skipped"):
        head += f", skipped: {esc(j['extra']['skipped'])}"
    head += "</p>"
    if j.get("per_order"):
        head += f"<pre>{esc(json.dumps(j['per_order'], ensure_ascii=False))}</pre>"
    turns = "".join(
        f"<details><summary>{esc(t.get('name'))}: model output</summary><pre>{esc(_clip(str(t.get('output', ''))))}"
        f"</pre><details><summary>prompt</summary><pre>{esc(_clip(str(t.get('prompt', ''))))}</pre></details>"
        f"</details>"
        for t in j.get("trace") or ()
    )
    return head + turns


def _status(credit: Any) -> tuple[str, str]:
    if credit is None:
        return "part", "subset-level"
    c = float(credit)
    return ("ok", "correct") if c >= 0.999 else ("bad", "incorrect") if c <= 0.001 else ("part", f"credit {c:.2f}")


def _examples(results: Sequence[Mapping[str, Any]], scores: Mapping[str, Any] | None,
              per_group: int) -> str:
    by_id = {str(r.get("sample_id")): r for r in results}
    items = list((scores or {}).get("items") or [])
    if not items:
        chosen = results[: per_group * 2]
        body = "".join(f"<details><summary>{esc(r.get('sample_id'))}: {esc(r.get('verdict'))}</summary>"
                       f"{_judgment_html(r)}</details>" for r in chosen)
        return f"<h2>Example judgments</h2><p class=note>First {len(chosen)} judgments.</p>{body}"
    groups: dict[str, list[Mapping[str, Any]]] = {"incorrect": [], "correct": [], "partial": []}
    for it in items:
        cls, _ = _status(it.get("credit"))
        key = {"ok": "correct", "bad": "incorrect"}.get(cls, "partial")
        if len(groups[key]) < per_group:
            groups[key].append(it)
    out = ["<h2>Example judgments</h2><p class=note>Model output is shown as escaped text. "
           f"Up to {per_group} items per group, in benchmark order.</p>"]
    for name, rows in groups.items():
        if not rows:
            continue
        out.append(f"<h3>{esc(name.capitalize())} ({len(rows)})</h3>")
        for it in rows:
            cls, text = _status(it.get("credit"))
            units = [by_id[u] for u in it.get("units", []) if u in by_id]
            out.append(
                f'<details><summary><span class="badge {cls}">{esc(text)}</span>{esc(it.get("item_id"))} '
                f'<span class=sub>({esc(it.get("subset"))})</span></summary>'
                f'<pre>{esc(json.dumps(it.get("detail"), ensure_ascii=False))}</pre>'
                + "".join(_judgment_html(u) for u in units) + "</details>"
            )
    return "".join(out)


def render_html(summary: Mapping[str, Any], results: Sequence[Mapping[str, Any]],
                scores: Mapping[str, Any] | None = None, examples: int = 12, sections: Sequence[str] = ()) -> str:
    """Render the whole report page as one string (no external assets).

    Plain data in: the report summary, the run's result rows, its ``scores.json`` (or
    None) and ready-made HTML ``sections`` (e.g. the arena's) placed before the examples.
    """
    css = resources.files("judgekit").joinpath("evaluation/report_assets/report.css").read_text(encoding="utf-8")
    title = summary.get("benchmark") or "judging run"
    notes = "".join(f"<p class=note>{esc(n)}</p>" for n in summary.get("notes") or [])
    upstream = f"<p class=sub>Scoring: {esc(summary.get('upstream'))}</p>" if summary.get("upstream") else ""
    judging = summary.get("judging") or {}
    if judging:
        upstream += (f"<p class=sub>Judged {esc(judging.get('mode'))} with <code>{esc(judging.get('protocol'))}</code> "
                     f"({esc(judging.get('method'))}); best-of-n rule: {esc(judging.get('best_of_n'))}</p>")
    boot = summary.get("bootstrap") or {}
    boot_line = (f"<p class=note>Intervals: percentile bootstrap, {esc(boot.get('n_boot'))} resamples, "
                 f"seed {esc(boot.get('seed'))}, stratified by subset.</p>") if boot else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>judgekit report: {esc(title)}</title>
<style>{css}</style></head>
<body><main>
<header class="top"><h1>judgekit report: {esc(title)}</h1>
<div class="sub">{esc(summary.get("description") or "")}</div>
<div class="sub">model <code>{esc(summary.get("model"))}</code>
&middot; protocol <code>{esc(summary.get("protocol"))}</code>
&middot; run <code>{esc(summary.get("run_dir"))}</code></div>{upstream}</header>
{_cards(summary)}
<h2>Scores</h2>{_charts(summary)}{boot_line}{_metric_table(summary)}{notes}
<h2>Judge diagnostics</h2>{_diag_table(summary)}
{_calibration(summary)}
{_comparison(summary)}
{"".join(sections)}
{_examples(results, scores, examples)}
<h2>Run manifest</h2><pre>{esc(json.dumps(summary.get("manifest"), indent=2, ensure_ascii=False, default=str))}</pre>
<footer>Generated by judgekit on {esc(time.strftime("%Y-%m-%d %H:%M:%S"))}. Self-contained: no network assets.</footer>
</main></body></html>
"""
