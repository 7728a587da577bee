"""What every command prints with: the two consoles, progress bars, error exits, the summary table.

Everything printed (progress bars, tables, errors) lives in the CLI; the library
prints nothing. Errors in input or configuration exit with status 2 and one clear line.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from judgekit.core.backend import PartialChoicesError, PartialGenerationError
from judgekit.core.data import DataError
from judgekit.core.errors import ConfigError
from judgekit.core.prompts import TemplateError
from judgekit.protocols.rubric.schema import RubricError

console = Console(stderr=True)
out = Console()


def quiet_libraries() -> None:
    """Keep third-party chatter out of the terminal: the CLI prints its own progress and errors.

    transformers' deprecation notices (e.g. ``past_key_values``) and load reports,
    tqdm bars (GGUF conversion, weight loading) and library FutureWarnings are turned
    off for this process; an explicit ``TRANSFORMERS_VERBOSITY`` / ``TQDM_DISABLE`` wins.
    """
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if "transformers" in sys.modules:  # already imported: the variables above are read at import
        from transformers.utils import logging as hf_logging  # the optional [local] extra, loaded already

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning,
                            module=r"(transformers|torch|accelerate|peft|outlines|outlines_core|datasets|trl)(\.|$)")


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar; yields ``update(done, total)``.

    The bar appears at the first ``update`` (when the work starts), so lines printed
    before it (the model-preparation line) and an error in the input or the flags are
    not preceded by an empty bar.
    """
    bar = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False,
    )
    tasks: list[TaskID] = []

    def update(done: int, total: int) -> None:
        if not tasks:  # first call: the clock starts now, not while the model loaded
            tasks.append(bar.add_task(label, total=total))
            bar.start()
        bar.update(tasks[0], completed=done, total=total)

    try:
        yield update
    finally:
        if tasks:
            bar.stop()


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
    try:
        yield
    except (DataError, ConfigError, TemplateError, RubricError, OSError) as exc:
        fail(str(exc))
    except (PartialGenerationError, PartialChoicesError) as exc:
        i, why = min(exc.errors.items())
        fail(f"{len(exc.errors)} of {len(exc.results)} model requests failed (first, prompt {i}: {why}); "
             "the successes are cached: run the same command again to retry the rest")


#: The summary rows: summary.json key -> (row name, what the number means, for a first-time reader).
_ROWS: dict[str, tuple[str, str]] = {
    "items": ("items", "rows of the input that were selected"),
    "judged": ("judged", "items the model was asked about"),
    "skipped": ("skipped", "too long for the model's context: not judged"),
    "labeled": ("labeled", "judged items whose right answer the file gives"),
    "accuracy": ("accuracy", "verdict = label; unreadable answers count as wrong"),
    "accuracy_ci95": ("accuracy 95% CI", "95% interval: few items leave it wide"),
    "accuracy_parsed": ("accuracy (readable)", "accuracy over items with a readable verdict"),
    "tie_rate": ("tie rate", "ties: the judge said tie, or its two orders disagreed"),
    "parse_failure_rate": ("unreadable rate", "no verdict could be read (reason in results.jsonl)"),
    "position_consistency": ("order agreement", "share of items whose A/B and B/A verdicts agree"),
    "judgments_per_s": ("items judged / s", "all orders of an item = 1"),
    "resumed_items": ("resumed", "items kept from an interrupted earlier run"),
}


def summary_table(summary: dict[str, Any], title: str = "judgekit summary") -> Table:
    """The end-of-run table: each number, and what it means."""
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("what it means", style="dim")
    for key, (name, meaning) in _ROWS.items():
        if key in summary and summary[key] is not None:
            table.add_row(name, _fmt(summary[key]), meaning)
    for name, value in baseline_rows(summary):
        table.add_row(name, value, _BASELINE_MEANING.get(name.split(":")[0], ""))
    runner = summary.get("runner") or {}
    if runner:
        table.add_row("cache hits / misses", f"{runner.get('cache_hits', 0)} / {runner.get('cache_misses', 0)}",
                      "model calls answered from the cache / computed")
    if summary.get("items_with_sample_failures"):
        table.add_row("items with failed samples", str(summary["items_with_sample_failures"]),
                      "some of the k samples were unreadable")
    for warning in summary.get("warnings") or ():
        table.add_row("[bold yellow]WARNING[/]", "", warning)
    return table


_BASELINE_MEANING = {
    "accuracy, preferred longer / shorter": "accuracy on pairs whose right answer is the longer / the shorter one",
    "length-controlled accuracy": "mean of the two: what a judge gets beyond picking by length (a length rule: 0.5)",
    "baseline": "a content-blind rule on the same items, with its 95% interval",
    "[bold yellow]below baseline[/]": "the judge does not beat this trivial rule",
}


def baseline_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """Table rows for the baselines beside the judge, and a warning when the judge does not beat the best."""
    rows: list[tuple[str, str]] = []
    strata = summary.get("length_strata")
    if strata:
        lo, sh = strata["preferred_longer"], strata["preferred_shorter"]
        rows.append(("accuracy, preferred longer / shorter",
                     f"{_fmt(lo['accuracy'])} (n={lo['n']}) / {_fmt(sh['accuracy'])} (n={sh['n']})"))
        rows.append(("length-controlled accuracy", _fmt(strata["length_controlled"])))
    for name, b in (summary.get("baselines") or {}).items():
        lo_hi = b["ci95"]
        rows.append((f"baseline: {name}", f"{_fmt(b['accuracy'])} [{lo_hi[0]:.3f}, {lo_hi[1]:.3f}]"))
    below = summary.get("below_baseline")
    if below:
        best = summary["baselines"][below]["accuracy"]
        judge = (summary.get("judge") or {}).get("accuracy", summary.get("accuracy"))
        rows.append(("[bold yellow]below baseline[/]", f"{below} ({_fmt(best)} >= judge {_fmt(judge)})"))
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)
