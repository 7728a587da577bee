"""``judgekit arena``: rank N systems from pairwise judgments, with one judge or a jury.

Thin typer command over :mod:`judgekit.arena`; everything printed lives here.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from judgekit.arena.data import ArenaColumns, load_arena, schedule
from judgekit.arena.jury import METHODS, SPLITS
from judgekit.arena.panel import panel_specs
from judgekit.arena.report import _interval, _record
from judgekit.arena.run import ArenaSettings, PanelJudge, run_arena
from judgekit.cli.common import console, fail, out, user_errors
from judgekit.cli.eval import _group_progress
from judgekit.cli.options import with_judge_options
from judgekit.core.errors import ConfigError
from judgekit.evaluation.formatting import fmt, fmt_ci
from judgekit.evaluation.report import write_report
from judgekit.options import JudgeOptions, build_protocol, build_runner, refuse_unsupported


def leaderboard_table(board: Mapping[str, Any], title: str) -> Table:
    """Rank, system, rating with its interval, record and observed win rate."""
    table = Table(title=title, header_style="bold")
    for col in ("rank", "system", "rating", "95% CI", "rank CI", "W-L-T", "win rate"):
        table.add_column(col, justify="left" if col == "system" else "right")
    for r in board["rows"]:
        rank_ci = "-".join(str(x) for x in r["rank_ci"]) if None not in r["rank_ci"] else ""
        table.add_row(str(r["rank"]), r["system"], f"{r['rating']:.0f}", _interval(r["ci"]),
                      rank_ci, _record(r), fmt(r["win_rate"]))
    return table


def jury_table(stats: Mapping[str, Any]) -> Table:
    """Accuracy of each judge and of the panel against the file's labels, and agreement with humans."""
    humans = stats.get("human_agreement") or {}
    table = Table(title="judges vs human labels", header_style="bold")
    for col in ("judge", "accuracy", "95% CI", "n", "coverage", "kappa vs majority", "Fleiss kappa +humans"):
        table.add_column(col, justify="left" if col == "judge" else "right")
    rows = {**stats["judges"], **({"panel": stats["panel"]} if len(stats["judges"]) > 1 else {})}
    for name, m in rows.items():
        h = humans.get(name) or {}
        table.add_row(name, fmt(m["accuracy"]), fmt_ci(m["ci95"]), str(m["n"]), fmt(m["coverage"]),
                      fmt(h.get("cohen_kappa_vs_majority")), fmt(h.get("fleiss_kappa_with_humans")))
    if humans:
        table.caption = f"Fleiss kappa among the human annotators: {fmt(humans['fleiss_kappa_humans'])}"
    return table


def arena_command(
    file: Annotated[Path, typer.Argument(help="System outputs: long, wide or pre-paired (e.g. PandaLM).")],
    opts: JudgeOptions,
    layout: Annotated[str, typer.Option(help="auto, long, wide or pairs.")] = "auto",
    system_col: Annotated[str | None, typer.Option(help="Long layout: column naming the system.")] = None,
    response_col: Annotated[str | None, typer.Option(help="Long layout: column holding the response.")] = None,
    budget: Annotated[int | None, typer.Option(help="Pairs sampled per prompt (default: all pairs).")] = None,
    schedule_seed: Annotated[int, typer.Option(help="Seed for pair sampling and A/B placement.")] = 0,
    judge_spec: Annotated[list[str] | None, typer.Option(
        "--judge", help="A jury member as key=value,... over the shared flags (repeatable).")] = None,
    panel: Annotated[Path | None, typer.Option(help="YAML panel of judges (see docs/arena.md).")] = None,
    jury: Annotated[str | None, typer.Option(help="Vote rule: majority, weighted or mean-prob.")] = None,
    split: Annotated[str | None, typer.Option(help="Evenly split jury: abstain (no verdict) or tie.")] = None,
    n_boot: Annotated[int, typer.Option(help="Bootstrap resamples (over prompts) for the intervals.")] = 1000,
    plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Write the PNG charts.")] = True,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write report.html too.")] = True,
) -> None:
    """Judge N systems' outputs pairwise and rank them (Bradley-Terry with ties, bootstrap CIs)."""
    with user_errors():
        refuse_unsupported(opts, "arena", "sample")
        cols = ArenaColumns(layout, opts.id_col, opts.prompt_col, system_col, response_col,
                            tuple(c.strip() for c in (opts.response_cols or "").split(",") if c.strip()))
        data = load_arena(file, cols, limit=opts.limit)
        try:
            pairs = schedule(data, budget, schedule_seed)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        specs, panel_settings = panel_specs(judge_spec or [], panel, opts)
        settings = ArenaSettings(jury=jury or panel_settings.get("method", "majority"),
                                 split=split or panel_settings.get("split", "abstain"), n_boot=n_boot)
        if settings.jury not in METHODS or settings.split not in SPLITS:
            raise ConfigError(f"--jury {settings.jury!r} / --split {settings.split!r}: choose "
                              f"{', '.join(METHODS)} / {', '.join(SPLITS)}")
        judges = [PanelJudge(s.name, build_protocol(s.opts), functools.partial(build_runner, s.opts, console),
                             s.weight) for s in specs]
        run_dir = opts.output or Path("runs") / f"{file.stem}-arena"
        console.print(f"{len(data.systems)} systems, {len(pairs)} pairs, {len(judges)} judge(s)")
        extra = {"arena": {"layout": data.layout, "budget": budget, "schedule_seed": schedule_seed,
                           "systems": data.systems, "jury": [s.to_dict() for s in specs]}}

        with _group_progress() as update:
            summary = run_arena(pairs, judges, run_dir, settings, input_path=file, progress=update,
                                resume=opts.resume, extra_manifest=extra, plots=plots)
    if not summary["decided"]:
        fail(f"no pair got a verdict ({summary['undecided']}); see {run_dir / 'results.jsonl'}", code=1)
    out.print(leaderboard_table(summary["judge_leaderboard"], f"judge leaderboard ({summary['decided']} of "
                                f"{summary['pairs']} pairs decided)"))
    if "human_leaderboard" in summary:
        out.print(leaderboard_table(summary["human_leaderboard"], "human leaderboard (the file's labels)"))
        ra = summary["rank_agreement"]
        out.print(f"rank agreement judge vs human: Kendall tau {fmt(ra['kendall_tau'])} {fmt_ci(ra['kendall_tau_ci'])}"
                  f", Spearman rho {fmt(ra['spearman_rho'])} {fmt_ci(ra['spearman_rho_ci'])}"
                  f" ({len(ra['systems'])} systems, {ra['n_prompts']} prompts)")
    if "jury_stats" in summary and any(m["n"] for m in summary["jury_stats"]["judges"].values()):
        out.print(jury_table(summary["jury_stats"]))
    if report:
        write_report(run_dir)
    console.print(f"arena: {run_dir / 'arena.json'}" + (f"  report: {run_dir / 'report.html'}" if report else ""))


def register(app: typer.Typer) -> None:
    """Add ``arena`` to the CLI."""
    app.command("arena")(with_judge_options(arena_command))
