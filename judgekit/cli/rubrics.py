"""``judgekit rubrics generate``: contrastive rubric generation with the consistency filter."""

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from judgekit.cli.common import console, out, user_errors
from judgekit.cli.options import with_judge_options
from judgekit.core.errors import ConfigError
from judgekit.options import JudgeOptions, build_runner, judge_config, load_for_protocol, resolved
from judgekit.protocols.rubric.consistency import generate_rubrics
from judgekit.protocols.rubric.generate import rubric_filename, save_rubrics
from judgekit.protocols.rubric.protocol import RubricProtocol

rubrics_app = typer.Typer(no_args_is_help=True, help="Generate, filter and save rubrics (OpenRubrics CRG).")


@rubrics_app.command("generate")
@with_judge_options
def generate(
    pairs: Annotated[Path, typer.Argument(help="Pairwise file with a preference label (A/B, 1/2, chosen/rej.).")],
    opts: JudgeOptions,
    tries: Annotated[int, typer.Option(help="Rubrics sampled per prompt until one passes the filter.")] = 3,
) -> None:
    """Write a rubric per labeled pair; keep it only if judging with it reproduces the label in both orders.

    The kept rubrics go to -o/--out (default runs/rubrics-generated), one YAML file per prompt.
    """
    out_dir = opts.output or Path("runs/rubrics-generated")
    opts = resolved(opts, "rubric")  # rubrics are written and checked by a generative judge, not the pmi default
    with user_errors():
        if tries < 1:
            raise ConfigError("--tries must be at least 1")
        config = judge_config(opts)
        proto = RubricProtocol(config=config)
        samples = load_for_protocol(pairs, proto, opts)
        runner = build_runner(opts, console)
        console.print(f"generating rubrics for {len(samples)} pairs (up to {tries} tries each) ...")
        report = generate_rubrics(samples, runner, config, tries=tries)
        paths = save_rubrics(report, out_dir)
    counts = report.counts()
    table = Table(title="rubric generation (consistency filter)", header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in ("prompts", "kept", "rejected", "prompts_without_rubric", "skipped", "tries"):
        table.add_row(key, str(counts[key]))
    out.print(table)
    detail = Table(title="per prompt", header_style="bold")
    for col in ("sample", "tries", "kept", "last rejection"):
        detail.add_column(col, overflow="fold")
    for o in report.outcomes:
        kept = rubric_filename(o.sample_id) if o.rubric else (o.skipped or "no")
        detail.add_row(o.sample_id, str(o.tries), kept, o.rejected[-1] if o.rejected else "")
    out.print(detail)
    console.print(f"{len(paths)} rubric file(s) in {out_dir}; reuse with "
                  f"--protocol rubric --option rubric_dir={out_dir} (or --rubric {out_dir}/<file>.yaml)")


def register(app: typer.Typer) -> None:
    """Attach ``judgekit rubrics ...`` to the main app."""
    app.add_typer(rubrics_app, name="rubrics")
