"""``judgekit eval``, ``judgekit report`` and ``judgekit compare``: benchmarks, reports, paired comparisons.

Thin typer commands over :mod:`judgekit.evaluation.evaluate` and :mod:`judgekit.evaluation.report`;
everything printed lives here.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from judgekit.cli.common import baseline_rows, console, fail, out, user_errors
from judgekit.cli.options import with_judge_options
from judgekit.core.errors import ConfigError
from judgekit.core.stats import MIN_N_SIGNIFICANT
from judgekit.evaluation.benchmarks import benchmark_names, generic, get_benchmark
from judgekit.evaluation.evaluate import companion_options, run_eval
from judgekit.evaluation.formatting import fmt, fmt_ci, significance_text
from judgekit.evaluation.report import ReportError, compare_runs, write_report
from judgekit.options import (
    JudgeOptions,
    build_protocol,
    build_runner,
    columns_from,
    judge_config,
    protocol_of,
    refuse_unsupported,
)

N_BOOT_HELP = "Bootstrap resamples for the intervals."
MIN_N_HELP = "Never call a difference significant when it rests on fewer paired items than this."


@contextmanager
def _group_progress() -> Iterator[Callable[[str, int, int], None]]:
    """One progress bar per protocol group; yields ``update(label, done, total)``."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as bar:
        tasks: dict[str, TaskID] = {}

        def update(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done, total=total)

        yield update


def _fmt(x: Any) -> str:
    return fmt(x)


def scores_table(scores: Mapping[str, Any]) -> Table:
    """Every aggregate number of a scored run with its interval and n."""
    table = Table(title=f"{scores['benchmark']}: {scores['items_judged']} of {scores['items_total']} items",
                  header_style="bold")
    for col, justify in (("metric", "left"), ("value", "right"), ("95% CI", "right"), ("Wilson 95%", "right"),
                         ("n", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    primary = scores.get("primary")
    for key, m in scores["metrics"].items():
        name = f"[bold]{key}[/]" if key == primary else key
        wilson = fmt_ci(m["wilson"]) if m.get("wilson") else ""
        table.add_row(name, _fmt(m.get("value")), fmt_ci(m.get("ci")), wilson, _fmt(m.get("n")))
    diag = scores.get("diagnostics") or {}
    for key in ("parse_failure_rate", "tie_rate", "position_consistency", "score_failure_rate", "skipped"):
        if diag.get(key) is not None:
            table.add_row(f"[dim]{key}[/]", _fmt(diag[key]), "", "", "")
    base = scores.get("baselines") or {}
    if base:
        judge = base["judge"]
        table.add_row("unit accuracy (judge)", _fmt(judge["accuracy"]), fmt_ci(judge["ci95"]), "", _fmt(judge["n"]))
        for name, value in baseline_rows(base):
            if name.startswith("baseline: "):
                b = base["baselines"][name.removeprefix("baseline: ")]
                table.add_row(f"[dim]{name}[/]", _fmt(b["accuracy"]), fmt_ci(b["ci95"]), "", _fmt(b["n"]))
            else:
                table.add_row(name, value, "", "", "")
    return table


def comparison_table(comparison: Mapping[str, Any]) -> Table:
    """Paired differences per benchmark and metric, significant ones highlighted."""
    table = Table(title=f"A = {comparison['run_a']}   B = {comparison['run_b']}", header_style="bold")
    for col in ("benchmark", "metric", "A", "B", "A-B", "95% CI", "p", "n", "significant"):
        table.add_column(col, justify="left" if col in ("benchmark", "metric", "significant") else "right")
    for bench, c in comparison["benchmarks"].items():
        for key, m in c["metrics"].items():
            sig = significance_text(m)
            style = "bold green" if m.get("significant") and (m.get("diff") or 0) > 0 else \
                "bold red" if m.get("significant") else None
            table.add_row(bench, key, _fmt(m.get("a")), _fmt(m.get("b")), _fmt(m.get("diff")),
                          fmt_ci(m.get("ci")), _fmt(m.get("p_value")), _fmt(m.get("n")), sig, style=style)
    return table


def benchmarks_table() -> Table:
    """One row per registered benchmark: source, license, rows, the rule reproduced, data obtained here."""
    table = Table(title="judgekit eval benchmarks", header_style="bold", show_lines=True)
    for col in ("benchmark", "source", "license", "rows", "scorer reproduces", "full data here"):
        table.add_column(col, overflow="fold")
    for name in benchmark_names():
        info = get_benchmark(name).info
        table.add_row(name, info.source, info.license, info.rows, info.reproduces, info.obtained)
    return table


def _benchmark(name: str, opts: JudgeOptions) -> Any:
    """Look up the benchmark; the generic one honours the column flags."""
    try:
        bench = get_benchmark(name)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    columns = columns_from(opts)
    if columns is not None:
        if bench.name != "generic":
            raise ConfigError(f"column flags apply to `eval generic` only; {bench.name} is read in its "
                              "published schema")

        bench = dataclasses.replace(bench, load=functools.partial(generic.load, columns=columns))
    return bench


@with_judge_options
def eval_command(
    benchmark: Annotated[str | None, typer.Argument(help="A benchmark name (`judgekit eval --list` shows them).",
                                                    show_default=False)] = None,
    path: Annotated[Path | None, typer.Argument(help="The benchmark's published file(s): JSONL/JSON/parquet, a "
                                                    "folder, a saved datasets directory, or the hub dataset "
                                                    "name where the benchmark declares one (needs network).",
                                                    show_default=False)] = None,
    *,
    opts: JudgeOptions,
    list_benchmarks: Annotated[bool, typer.Option("--list", help="List the benchmarks (source, license, rows, "
                                                                 "scorer, data obtained) and exit.")] = False,
    n_boot: Annotated[int, typer.Option(help=N_BOOT_HELP)] = 1000,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write report.html, summary.md and "
                                                                      "report_summary.json.")] = True,
    examples: Annotated[int, typer.Option(help="Example judgments per group in the report.")] = 12,
) -> None:
    """Judge a benchmark with any judge and score it with the benchmark's upstream rule."""
    if list_benchmarks:
        out.print(benchmarks_table())
        return
    if benchmark is None or path is None:
        fail("eval needs BENCHMARK and PATH (or --list)")
        return
    with user_errors():
        refuse_unsupported(opts, "eval", "sample")
        bench = _benchmark(benchmark, opts)
        # options only a companion takes (a pairwise run's best-of-N lists: --option permutations=identity)
        _, extra = companion_options(protocol_of(opts), judge_config(opts))
        keys = {k for k, _ in extra}
        own = tuple(o for o in opts.option if o.partition("=")[0].strip() not in keys)
        proto = build_protocol(dataclasses.replace(opts, option=own))
        run_dir = opts.output or Path("runs") / f"eval-{bench.name}-{proto.name}-{proto.config.method}"
        runner = build_runner(opts, console)
        with _group_progress() as update:
            result = run_eval(bench, path, proto, runner, run_dir, limit=opts.limit, progress=update,
                              resume=opts.resume, n_boot=n_boot, seed=opts.seed, report=report, examples=examples,
                              extra=extra)
    out.print(scores_table(result.scores))
    for note in result.scores.get("notes") or []:
        console.print(f"note: {note}", highlight=False)
    console.print(f"scores: {run_dir / 'scores.json'}", highlight=False)
    if result.report:
        console.print(f"report: {result.report['html']}  markdown: {result.report['markdown']}", highlight=False)


def report_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (from `judgekit eval` or `judgekit judge`).")],
    compare: Annotated[Path | None, typer.Option(help="Another eval run to compare with (paired bootstrap).")] = None,
    examples: Annotated[int, typer.Option(help="Example judgments per group.")] = 12,
    n_boot: Annotated[int, typer.Option(help=N_BOOT_HELP)] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    min_n: Annotated[int, typer.Option(help=MIN_N_HELP)] = MIN_N_SIGNIFICANT,
) -> None:
    """Write report.html (self-contained), summary.md and report_summary.json for RUN_DIR."""
    try:
        paths = write_report(run_dir, compare_with=compare, examples=examples, n_boot=n_boot, seed=seed,
                             min_n=min_n)
    except (ReportError, ValueError, FileNotFoundError) as exc:
        fail(str(exc))
        return
    summary = json.loads(paths["json"].read_text(encoding="utf-8"))
    if summary.get("comparison"):
        out.print(comparison_table(summary["comparison"]))
    console.print(f"report: {paths['html']}\nmarkdown: {paths['markdown']}\njson: {paths['json']}", highlight=False)


def compare_command(
    run_a: Annotated[Path, typer.Argument(help="Eval run directory A (or a folder of eval runs).")],
    run_b: Annotated[Path, typer.Argument(help="Eval run directory B (or a folder of eval runs).")],
    n_boot: Annotated[int, typer.Option(help=N_BOOT_HELP)] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    min_n: Annotated[int, typer.Option(help=MIN_N_HELP)] = MIN_N_SIGNIFICANT,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the comparison as JSON here.")] = None,
) -> None:
    """Paired bootstrap of A minus B on every benchmark both runs scored; says which differences are significant."""
    try:
        comparison = compare_runs(run_a, run_b, n_boot=n_boot, seed=seed, min_n=min_n)
    except (ReportError, ValueError, FileNotFoundError) as exc:
        fail(str(exc))
        return
    if not comparison["benchmarks"]:
        fail(f"no benchmark scored by both runs (A: {comparison['only_a']}, B: {comparison['only_b']})")
    out.print(comparison_table(comparison))
    for name, c in comparison["benchmarks"].items():
        console.print(f"{name}: {c['items_common']} paired items ({c['items_only_a']} only in A, "
                      f"{c['items_only_b']} only in B)", highlight=False)
    console.print(f"significant = 95% interval excludes 0 and n >= {min_n} paired items", highlight=False)
    if json_out is not None:
        json_out.write_text(json.dumps(comparison, indent=2) + "\n", encoding="utf-8")
        console.print(f"json: {json_out}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``eval``, ``report`` and ``compare`` to the CLI."""
    app.command("eval")(eval_command)
    app.command("report")(report_command)
    app.command("compare")(compare_command)
