"""Charts for the HTML report, rendered by matplotlib into inline SVG text.

Each function returns a complete ``<svg>`` element (no external references) or
an empty string when there is nothing to draw.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

from judgekit.stats import CalibrationBin

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
