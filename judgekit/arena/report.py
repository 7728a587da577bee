"""The arena section of the HTML report, read from a run directory's ``arena.json``.

Every name and number goes through :func:`judgekit.evaluation.report_html.esc`; charts are the
same figures as the PNGs, embedded as inline SVG.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from judgekit.arena.plots import rating_figure, winrate_figure
from judgekit.evaluation.report_html import _ci, _num, _svg, esc


def _record(row: Mapping[str, Any]) -> str:
    """Wins-losses-ties."""
    return f"{row['wins']:g}-{row['losses']:g}-{row['ties']:g}"


def _interval(ci: Any) -> str:
    """A rating interval in whole Elo points."""
    return f"[{ci[0]:.0f}, {ci[1]:.0f}]"


def _board_html(board: Mapping[str, Any], title: str) -> str:
    rows = "".join(
        f"<tr><td class=num>{esc(r['rank'])}</td><td>{esc(r['system'])}</td><td class=num>{esc(round(r['rating']))}"
        f"</td><td class=num>{esc(_interval(r['ci']))}</td><td class=num>"
        f"{esc('-'.join(str(x) for x in r['rank_ci']))}</td><td class=num>"
        f"{esc(_record(r))}</td><td class=num>{_num(r['win_rate'])}</td></tr>"
        for r in board["rows"]
    )
    boot = board["bootstrap"]
    return (f"<h3>{esc(title)}</h3><table><tr><th>rank</th><th>system</th><th>rating</th><th>95% CI</th>"
            f"<th>rank CI</th><th>W-L-T</th><th>win rate</th></tr>{rows}</table>"
            f"<p class=note>{esc(board['n_comparisons'])} decided comparisons on {esc(board['n_prompts'])} prompts; "
            f"tie parameter nu {_num(board['tie_nu'])}; intervals: percentile bootstrap over prompts, "
            f"{esc(boot['n_boot'])} resamples, seed {esc(boot['seed'])}.</p>")


def arena_section(run_dir: Path) -> str:
    """HTML for the arena section, or ``""`` when the run is not an arena."""
    path = Path(run_dir) / "arena.json"
    if not path.exists():
        return ""

    summary = json.loads(path.read_text(encoding="utf-8"))
    parts = ["<h2>Arena</h2>", f"<p>{esc(summary['decided'])} of {esc(summary['pairs'])} pairs decided by "
             f"{esc(', '.join(summary['judges']))} (jury rule {esc(summary['jury']['method'])}).</p>",
             f"<div class=chart>{_svg(rating_figure(summary))}</div>",
             _board_html(summary["judge_leaderboard"], "Judge leaderboard")]
    if summary.get("human_leaderboard"):
        parts.append(_board_html(summary["human_leaderboard"], "Human leaderboard (the file's labels)"))
        ra = summary["rank_agreement"]
        parts.append(f"<p>Rank agreement with humans: Kendall &tau; {_num(ra['kendall_tau'])} "
                     f"{_ci(ra['kendall_tau_ci'])}, Spearman &rho; {_num(ra['spearman_rho'])} "
                     f"{_ci(ra['spearman_rho_ci'])}.</p>")
    parts.append(f"<div class='chart small'>{_svg(winrate_figure(summary['judge_leaderboard']))}</div>")
    stats = summary.get("jury_stats")
    if stats:
        humans = stats.get("human_agreement") or {}
        rows = "".join(
            f"<tr><td>{esc(name)}</td><td class=num>{_num(m['accuracy'])}</td><td class=num>{_ci(m['ci95'])}</td>"
            f"<td class=num>{esc(m['n'])}</td><td class=num>{_num(m['coverage'])}</td><td class=num>"
            f"{_num((humans.get(name) or {}).get('fleiss_kappa_with_humans'))}</td></tr>"
            for name, m in {**stats["judges"], "panel": stats["panel"]}.items()
        )
        parts.append("<h3>Judges against the labels</h3><table><tr><th>judge</th><th>accuracy</th><th>95% CI</th>"
                     f"<th>n</th><th>coverage</th><th>Fleiss &kappa; with humans</th></tr>{rows}</table>")
        base = summary.get("baselines") or {}
        if base.get("baselines"):
            rows = "".join(f"<tr><td>{esc(name)}</td><td class=num>{_num(b['accuracy'])}</td>"
                           f"<td class=num>{_ci(b['ci95'])}</td><td class=num>{esc(b['n'])}</td></tr>"
                           for name, b in base["baselines"].items())
            below = base.get("below_baseline")
            note = f"<p class=note><b>below baseline: {esc(below)}</b></p>" if below else ""
            parts.append("<h3>Trivial baselines on the same pairs</h3><table><tr><th>baseline</th><th>accuracy</th>"
                         f"<th>95% CI</th><th>n</th></tr>{rows}</table>{note}")
        if humans:
            parts.append(f"<p class=note>Fleiss &kappa; among the human annotators: "
                         f"{_num(humans['fleiss_kappa_humans'])} ({esc(humans['n'])} items).</p>")
    return "".join(parts)
