"""The ``judgekit`` command line: thin typer commands over the library.

Everything printed (progress bars, tables, errors) lives here; the library prints
nothing. Errors in input or configuration exit with status 2 and one clear line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from judgekit.cli.options import JudgeOptions, build_protocol, build_runner, load_for_protocol, with_judge_options
from judgekit.protocols.base import protocol_class, protocol_names

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Generative judges and reasoning reward models: judge, probe, evaluate, train.",
)
console = Console(stderr=True)
out = Console()


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar; yields ``update(done, total)``."""
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def fail(message: str, code: int = 2) -> None:
    """Print one error line and exit non-zero."""
    console.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn expected user-facing errors into a clean message and exit code 2.

    Besides bad input and configuration: requests a server failed for good (the
    successes are cached, so running again retries only those) and operating-system
    errors such as an unwritable path or a file-size limit.
    """
    from judgekit.core.backend import PartialChoicesError, PartialGenerationError
    from judgekit.core.data import DataError
    from judgekit.core.prompts import TemplateError
    from judgekit.protocols.base import ConfigError
    from judgekit.protocols.rubric.schema import RubricError

    try:
        yield
    except (DataError, ConfigError, TemplateError, RubricError, OSError) as exc:
        fail(str(exc))
    except (PartialGenerationError, PartialChoicesError) as exc:
        i, why = min(exc.errors.items())
        fail(f"{len(exc.errors)} of {len(exc.results)} model requests failed (first, prompt {i}: {why}); "
             "the successes are cached: run the same command again to retry the rest")


def summary_table(summary: dict[str, Any], title: str = "judgekit summary") -> Table:
    """The end-of-run table."""
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in ("items", "judged", "skipped", "labeled", "accuracy", "accuracy_ci95", "accuracy_parsed",
                "tie_rate", "parse_failure_rate", "position_consistency", "judgments_per_s", "resumed_items"):
        if key in summary and summary[key] is not None:
            table.add_row(key, _fmt(summary[key]))
    runner = summary.get("runner") or {}
    if runner:
        table.add_row("cache hits / misses", f"{runner.get('cache_hits', 0)} / {runner.get('cache_misses', 0)}")
    if summary.get("items_with_sample_failures"):
        table.add_row("items with failed samples", str(summary["items_with_sample_failures"]))
    for warning in summary.get("warnings") or ():
        table.add_row("[bold yellow]WARNING[/]", warning)
    return table


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


@app.command()
@with_judge_options
def judge(
    file: Annotated[Path, typer.Argument(help="JSONL/JSON/Parquet/CSV file or a saved datasets directory.")],
    opts: JudgeOptions,
) -> None:
    """Judge every item of FILE and write results.jsonl, manifest.json and summary.json."""
    from judgekit.judge import run_judge

    with user_errors():
        proto = build_protocol(opts)
        samples = load_for_protocol(file, proto, opts)
        runner = build_runner(opts, console)
        run_dir = opts.output or Path("runs") / f"{file.stem}-{proto.name}-{proto.config.method}"
        with progress_bar(f"judging ({proto.name}, {proto.config.method})") as update:
            result = run_judge(samples, proto, runner, run_dir, input_path=file, progress=update,
                               resume=opts.resume)
    out.print(summary_table(result.summary))
    console.print(f"results: {run_dir / 'results.jsonl'}  manifest: {run_dir / 'manifest.json'}")


@app.command()
def protocols() -> None:
    """List the judging protocols with a one-line description."""
    table = Table(show_header=True, header_style="bold")
    for col in ("protocol", "task", "methods", "description"):
        table.add_column(col)
    for name in protocol_names():
        try:
            cls = protocol_class(name)
        except ImportError as exc:  # an optional dependency is missing
            table.add_row(name, "-", "-", f"unavailable: {exc}")
            continue
        table.add_row(name, cls.task, ", ".join(cls.methods), cls.description)
    out.print(table)


@app.command()
def show(
    results: Annotated[Path, typer.Argument(help="A results.jsonl file or run directory.")],
    limit: Annotated[int, typer.Option(help="How many items to print.")] = 3,
) -> None:
    """Print a few judgments with their turns, to read why a verdict was given."""
    path = results / "results.jsonl" if results.is_dir() else results
    if not path.exists():
        fail(f"{path}: not found")
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i >= limit:
                break
            row = json.loads(line)
            out.rule(f"{row['sample_id']}: verdict={row['verdict']} reward={row['reward']}")
            for turn in row.get("trace", []):
                out.print(f"[bold]{turn['name']}[/]", markup=True)
                out.print(turn["output"] or json.dumps(turn.get("parsed")), markup=False, highlight=False)


def _register_subcommands() -> None:
    """Attach command groups that live in their own modules, when present."""
    import importlib

    for module in (
        "judgekit.cli.rubrics",  # judgekit rubrics generate
        "judgekit.cli.scaling",  # judgekit meta-rm data|train, judgekit scale
        "judgekit.cli.probe",  # judgekit probe, judgekit augment master-rm
        "judgekit.cli.train",  # judgekit train distill|sft|grpo|serve-reward
        "judgekit.cli.eval",  # judgekit eval, report, compare
        "judgekit.cli.esfp",  # judgekit esfp train|compare
        "judgekit.cli.arena",  # judgekit arena
        "judgekit.cli.reward",  # judgekit reward, judgekit reward-serve
    ):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        mod.register(app)


_register_subcommands()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        console.print("interrupted: finished items are saved; run the same command again to resume")
        sys.exit(130)
