"""CLI for inference-time scaling: ``judgekit meta-rm data|train`` and ``judgekit scale``.

Thin commands over :mod:`judgekit.scaling.meta_rm` and :mod:`judgekit.scaling.curve`; the data and
scale commands take every judge flag (``--protocol``, ``--model``, ``--samples`` ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from judgekit.cli.common import console, fail, out, progress_bar, summary_table, user_errors
from judgekit.cli.options import with_judge_options
from judgekit.core.errors import ConfigError
from judgekit.judge import run_judge
from judgekit.options import VERDICT_PROTOCOL, JudgeOptions, build_protocol, build_runner, load_for_protocol, resolved
from judgekit.scaling.curve import run_scale
from judgekit.scaling.meta_rm import (
    TrainConfig,
    load_meta_rm,
    read_rows,
    rows_from_judgments,
    train_meta_rm,
    write_rows,
)

meta_app = typer.Typer(no_args_is_help=True, help="Meta reward model: make training rows, train it.")


def parse_ks(text: str) -> list[int]:
    """``"1,2,4,8"`` -> ``[1, 2, 4, 8]`` (sorted, unique); ConfigError when malformed."""
    try:
        ks = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError as exc:
        raise ConfigError(f"--k {text!r}: expected comma-separated integers like 1,2,4,8") from exc
    if not ks or ks[0] < 1:
        raise ConfigError(f"--k {text!r}: every k must be a positive integer")
    return ks


@meta_app.command("data")
@with_judge_options
def meta_rm_data(
    labeled_file: Annotated[Path, typer.Argument(help="Labeled pairwise or verification file.")],
    opts: JudgeOptions,
) -> None:
    """Judge LABELED_FILE with k samples and write meta-RM training rows (meta_rows.jsonl)."""
    opts = resolved(opts, VERDICT_PROTOCOL)  # k sampled verdicts: the generative pairwise judge unless -p says
    with user_errors():
        proto = build_protocol(opts)
        if proto.config.method != "generative":
            raise ConfigError("meta-RM rows need sampled judgments: use --method generative")
        if opts.samples < 2:
            console.print("[yellow]note:[/] --samples is 1; pass --samples 8 (or more) for varied judgments")
        samples = load_for_protocol(labeled_file, proto, opts)
        runner = build_runner(opts, console)
        run_dir = opts.output or Path("runs") / f"{labeled_file.stem}-meta-rm-data"
        with progress_bar(f"sampling judgments (k={proto.config.samples})") as update:
            result = run_judge(samples, proto, runner, run_dir, input_path=labeled_file, progress=update,
                               resume=opts.resume)
        rows = rows_from_judgments(samples, result.judgments)
        if not rows:
            raise ConfigError(f"{labeled_file}: no labeled items, so no training rows")
        rows_path = run_dir / "meta_rows.jsonl"
        write_rows(rows_path, rows)
    out.print(summary_table(result.summary, title="judge run"))
    positives = sum(r.correct for r in rows)
    out.print(f"{len(rows)} rows ({positives} correct, {len(rows) - positives} incorrect) -> {rows_path}")


@meta_app.command("train")
def meta_rm_train(
    rows: Annotated[Path, typer.Argument(help="meta_rows.jsonl from `judgekit meta-rm data`.")],
    output: Annotated[Path, typer.Option("--out", "-o", "--output", help="Directory for the trained meta-RM.")] = Path(
        "runs/meta-rm"
    ),
    base: Annotated[str | None, typer.Option(help="Base model dir or .gguf (default: embedded SmolLM2).")] = None,
    steps: Annotated[int, typer.Option(help="Optimizer steps.")] = 60,
    lr: Annotated[float, typer.Option(help="AdamW learning rate.")] = 2e-5,
    batch_size: Annotated[int, typer.Option(help="Rows per step.")] = 4,
    max_length: Annotated[int, typer.Option(help="Tokens per row (the prompt is cut from the left).")] = 512,
    eval_fraction: Annotated[float, typer.Option(help="Share of items held out for evaluation.")] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed for the split, the shuffling and the head.")] = 0,
) -> None:
    """Train the meta-RM (sequence-classification head, BCE) and save it with metrics.json."""
    with user_errors():
        data = read_rows(rows)
        config = TrainConfig(base=base, steps=steps, lr=lr, batch_size=batch_size, max_length=max_length,
                             eval_fraction=eval_fraction, seed=seed)
        if steps < 1 or batch_size < 1 or not 0 <= eval_fraction < 1:
            fail("--steps and --batch-size must be >= 1 and --eval-fraction in [0, 1)")
        console.print(f"training on {len(data)} rows from {rows} (base: {base or 'embedded SmolLM2-135M'})")

        def on_step(step: int, total: int, loss: float) -> None:
            if step == 1 or step == total or step % 10 == 0:
                console.print(f"step {step}/{total}  loss {loss:.4f}")

        metrics = train_meta_rm(data, output, config, on_step)
    table = Table(title="meta-RM held-out metrics", header_style="bold")
    for col in ("split", "rows", "bce", "accuracy", "auc", "positive rate"):
        table.add_column(col, justify="right")
    for name, key in (("eval (before)", "eval_before"), ("eval (after)", "eval"), ("train (after)", "train")):
        m = metrics[key]
        table.add_row(name, str(m["n"]), *(_num(m[f]) for f in ("bce", "accuracy", "auc", "positive_rate")))
    out.print(table)
    console.print(f"saved: {output} (model, tokenizer, metrics.json)")


def _num(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else "-"


@with_judge_options
def scale(
    labeled_file: Annotated[Path, typer.Argument(help="Labeled pairwise or verification file.")],
    opts: JudgeOptions,
    k: Annotated[str, typer.Option("--k", help="Comma-separated sample counts, e.g. 1,2,4,8.")] = "1,2,4,8",
) -> None:
    """Accuracy of greedy, vote@k and meta@k (with --meta-rm) from one max-k run; PNG + JSON."""
    opts = resolved(opts, VERDICT_PROTOCOL)  # k sampled verdicts: the generative pairwise judge unless -p says
    with user_errors():
        ks = parse_ks(k)
        proto = build_protocol(opts)
        samples = load_for_protocol(labeled_file, proto, opts)
        scorer = None
        if opts.meta_rm is not None:
            scorer = load_meta_rm(str(opts.meta_rm)).score
        runner = build_runner(opts, console)
        out_dir = opts.output or Path("runs") / f"{labeled_file.stem}-scale"
        result = run_scale(samples, proto, runner, ks, out_dir, scorer=scorer,
                           progress=lambda msg: console.print(f"[bold]{msg}[/] ..."))
    table = Table(title=f"scaling curve ({result.summary['labeled']} labeled items)", header_style="bold")
    for col in ("method", "k", "k_meta", "accuracy", "95% CI", "Wilson", "failures"):
        table.add_column(col, justify="right")
    for p in result.points:
        table.add_row(p.method, str(p.k), str(p.k_meta or "-"), f"{p.accuracy:.3f}",
                      f"[{p.ci[0]:.3f}, {p.ci[1]:.3f}]", f"[{p.wilson[0]:.3f}, {p.wilson[1]:.3f}]", str(p.failures))
    out.print(table)
    for warning in result.summary.get("warnings") or ():
        console.print(f"[bold yellow]WARNING:[/] {warning}", highlight=False)
    console.print(f"curve: {result.json_path}  plot: {result.png_path}")


def register(app: typer.Typer) -> None:
    """Add ``meta-rm`` (data, train) and ``scale`` to the judgekit CLI."""
    app.add_typer(meta_app, name="meta-rm")
    app.command("scale")(scale)
