"""Arena charts: ratings with their intervals, and the observed win-rate matrix.

Functions return matplotlib figures (Agg backend, no display); :func:`save_plots`
writes them as PNG, and the HTML report embeds the same figures as inline SVG.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

COLOURS = {"judge": "#3b6ea8", "human": "#c2553a"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "judgekit", "font.size": 9})
    return plt


def rating_figure(summary: Mapping[str, Any]) -> Any:
    """Horizontal interval plot: each system's rating (Elo scale) with its CI, judge and human."""
    plt = _pyplot()
    boards = {k: summary[f"{k}_leaderboard"] for k in ("judge", "human") if summary.get(f"{k}_leaderboard")}
    order = [r["system"] for r in next(iter(boards.values()))["rows"]][::-1]
    fig, ax = plt.subplots(figsize=(7.0, 0.9 + 0.45 * len(order)))
    offset = {"judge": 0.12, "human": -0.12} if len(boards) > 1 else {"judge": 0.0, "human": 0.0}
    for kind, board in boards.items():
        rows = {r["system"]: r for r in board["rows"]}
        ys = [k + offset[kind] for k, s in enumerate(order) if s in rows]
        xs = [rows[s]["rating"] for s in order if s in rows]
        lo = [rows[s]["rating"] - rows[s]["ci"][0] for s in order if s in rows]
        hi = [rows[s]["ci"][1] - rows[s]["rating"] for s in order if s in rows]
        ax.errorbar(xs, ys, xerr=[lo, hi], fmt="o", capsize=3, color=COLOURS[kind], label=kind)
    ax.set_yticks(range(len(order)), order)
    ax.axvline(1000, color="#8a8f98", lw=0.8, ls=":")
    ax.set_xlabel("Bradley-Terry rating (Elo scale, mean 1000) with 95% bootstrap CI over prompts")
    if len(boards) > 1:
        ax.legend(loc="lower right", frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig


def winrate_figure(board: Mapping[str, Any], title: str = "observed win rate (row vs column)") -> Any:
    """Heatmap of the observed win-rate matrix, systems in leaderboard order."""
    import numpy as np

    plt = _pyplot()
    names = list(board["systems"])
    order = [names.index(r["system"]) for r in board["rows"]]
    raw = np.array([[np.nan if v is None else v for v in row] for row in board["win_rate"]], dtype=float)
    rate = raw[np.ix_(order, order)]
    labels = [names[k] for k in order]
    fig, ax = plt.subplots(figsize=(1.6 + 0.8 * len(labels), 1.2 + 0.7 * len(labels)))
    im = ax.imshow(rate, cmap="RdBu", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if not np.isnan(rate[i, j]):
                ax.text(j, i, f"{rate[i, j]:.2f}", ha="center", va="center", fontsize=8)
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return fig


def save_plots(summary: Mapping[str, Any], run_dir: Path) -> dict[str, Path]:
    """Write ``arena_ratings.png`` and ``arena_winrate.png`` (and the human one) into ``run_dir``."""
    plt = _pyplot()
    figures = {"ratings": rating_figure(summary), "winrate": winrate_figure(summary["judge_leaderboard"])}
    if summary.get("human_leaderboard"):
        figures["winrate_human"] = winrate_figure(summary["human_leaderboard"], "human win rate (row vs column)")
    paths = {}
    for name, fig in figures.items():
        paths[name] = run_dir / f"arena_{name}.png"
        fig.savefig(paths[name], dpi=120, bbox_inches="tight")
        plt.close(fig)
    return paths
