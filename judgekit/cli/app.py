"""The ``judgekit`` command line: thin typer commands over the library.

Everything printed (progress bars, tables, errors) lives here; the library prints
nothing. Errors in input or configuration exit with status 2 and one clear line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from judgekit.api import default_run_dir, judge_file
from judgekit.cli.common import console, fail, out, progress_bar, quiet_libraries, summary_table, user_errors
from judgekit.cli.lazy import LazyCommand, LazyGroup
from judgekit.cli.options import with_judge_options
from judgekit.options import (
    DEFAULT_PROTOCOL,
    JudgeOptions,
    build_protocol,
    build_runner,
    load_for_protocol,
    protocol_of,
    selection,
)
from judgekit.protocols.base import protocol_class, protocol_names
from judgekit.ray_judge import RayPlan, run_judge_ray


class RootGroup(LazyGroup):
    """The root command: ``judge``, ``protocols`` and ``show`` below; every other group imported when used."""

    # Command groups, one module each (`judgekit --help` lists them in this order, by these lines).
    lazy = {
        "scale": LazyCommand("judgekit.cli.scaling", "Accuracy of greedy, vote@k and meta@k (with --meta-rm) from one "
                                                     "max-k run; PNG + JSON."),
        "probe": LazyCommand("judgekit.cli.probe", "Attack a judge (FPR of master keys, injections, position, "
                                                   "verbosity, bias suite); write probe.json/png/md."),
        "eval": LazyCommand("judgekit.cli.eval", "Judge a benchmark with any judge and score it with the benchmark's "
                                                 "upstream rule."),
        "report": LazyCommand("judgekit.cli.eval", "Write report.html (self-contained), summary.md and "
                                                   "report_summary.json for RUN_DIR."),
        "compare": LazyCommand("judgekit.cli.eval", "Paired bootstrap of A minus B on every benchmark both runs "
                                                    "scored; says which differences are significant."),
        "arena": LazyCommand("judgekit.cli.arena", "Judge N systems' outputs pairwise and rank them (Bradley-Terry "
                                                   "with ties, bootstrap CIs)."),
        "reward": LazyCommand("judgekit.cli.reward", "Score policy completions with a judge: rewards.jsonl (one row "
                                                     "per input id), summary, manifest."),
        "reward-serve": LazyCommand("judgekit.cli.reward", "Serve a judge as an OpenRLHF remote reward model with "
                                                           "dynamic batching."),
        "compare-rewards": LazyCommand("judgekit.cli.starc", "STARC distance (Skalse et al. 2024) between each pair of "
                                                             "runs' rewards: 0 same, 1 opposite."),
        "export": LazyCommand("judgekit.cli.export", "Write MODEL as a Hugging Face directory (vLLM, transformers) or "
                                                     "a GGUF file (llama.cpp), with its template."),
        "rubrics": LazyCommand("judgekit.cli.rubrics", "Generate, filter and save rubrics (OpenRubrics CRG)."),
        "meta-rm": LazyCommand("judgekit.cli.scaling", "Meta reward model: make training rows, train it."),
        "augment": LazyCommand("judgekit.cli.probe", "Write training data augmentations (Master-RM, order, Crome)."),
        "train": LazyCommand("judgekit.cli.train", "Train reasoning reward models: distill traces, serve rewards."),
        "esfp": LazyCommand("judgekit.cli.esfp", "ESFP-RM: explanation + masked-LM slot-prediction reward model."),
        "cache": LazyCommand("judgekit.cli.cache", "Show or shrink the on-disk caches (call cache, converted models)."),
    }


app = typer.Typer(
    cls=RootGroup,
    add_completion=False,
    no_args_is_help=True,
    help="Generative judges and reasoning reward models: judge, probe, evaluate, train.",
)


@app.callback()
def _setup() -> None:
    quiet_libraries()


@app.command()
@with_judge_options
def judge(
    file: Annotated[Path, typer.Argument(help="JSONL/JSON/Parquet/CSV file or a saved datasets directory.")],
    opts: JudgeOptions,
    ray: Annotated[str | None, typer.Option(
        help="Judge on a Ray cluster: its address (ray://host:10001, auto) or 'local' (see docs/engines.md).")] = None,
    ray_workers: Annotated[int, typer.Option(help="--ray: worker actors, each with its own backend.")] = 2,
    ray_block_size: Annotated[int, typer.Option(help="--ray: items per block (a multiple of 32).")] = 1024,
    ray_cpus_per_worker: Annotated[float, typer.Option(help="--ray: CPUs reserved per worker.")] = 1.0,
    ray_gpus_per_worker: Annotated[float, typer.Option(
        help="--ray: GPUs per worker (vLLM: --tensor-parallel-size of them).")] = 0.0,
) -> None:
    """Judge every item of FILE and write results.jsonl, manifest.json and summary.json."""
    with user_errors():
        if ray is not None:
            proto = build_protocol(opts)
            samples = load_for_protocol(file, proto, opts)
            plan = RayPlan(address=ray, workers=ray_workers, block_size=ray_block_size,
                           cpus_per_worker=ray_cpus_per_worker, gpus_per_worker=ray_gpus_per_worker)
            with progress_bar(f"judging on Ray ({proto.name}, {proto.config.method})") as update:
                result = run_judge_ray(samples, opts, opts.output or default_run_dir(file, proto), plan,
                                       input_path=file, progress=update,
                                       extra_manifest={"selection": selection(opts, len(samples)),
                                                       "protocol_choice": "given" if opts.protocol else "default"})
        else:
            with progress_bar(f"judging ({protocol_of(opts)}, {opts.method})") as update:
                result = judge_file(file, opts, lambda o: build_runner(o, console), progress=update)
    out.print(summary_table(result.summary, title=judge_title(result.manifest)))
    run_dir = result.run_dir
    console.print(f"results: {run_dir / 'results.jsonl'}  manifest: {run_dir / 'manifest.json'}")


def judge_title(manifest: dict[str, Any] | None) -> str:
    """The summary's title: which protocol on which model, and whether the protocol was the default."""
    if not manifest:
        return "judgekit summary"
    chosen = " (the default for pairs; -p pairwise: a generative verdict)" if (
        manifest.get("protocol_choice") == "default" and manifest.get("protocol") == DEFAULT_PROTOCOL) else ""
    return f"judgekit summary: {manifest.get('protocol')} on {manifest.get('model_id')}{chosen}"


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
        table.add_row(name, cls.task, ", ".join(cls.methods) or "-", cls.description)
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


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        console.print("interrupted: finished items are saved; run the same command again to resume")
        sys.exit(130)
