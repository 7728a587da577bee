"""``judgekit export MODEL --format hf|gguf -o PATH``: a judge for vLLM, transformers or llama.cpp."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from judgekit.cli.common import console, user_errors
from judgekit.train.export import FORMATS, GGUF_TYPES, export_model


def export(
    model: Annotated[str, typer.Argument(help="judgekit-135m, smollm2, a .gguf file or a Hugging Face directory.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help=f"{' or '.join(FORMATS)}.")] = "hf",
    output: Annotated[Path, typer.Option("--out", "-o", "--output", help="hf: a new directory; gguf: a .gguf "
                                         "file or a directory for <model>.<type>.gguf.")] = Path("exported"),
    gguf_type: Annotated[str, typer.Option(help=f"--format gguf: weight type, {', '.join(GGUF_TYPES)}.")] = "f16",
) -> None:
    """Write MODEL as a Hugging Face directory (vLLM, transformers) or a GGUF file (llama.cpp), with its template."""
    with user_errors():
        done = export_model(model, fmt, output, gguf_type)
    console.print(f"exported {done.model_id} as {done.format}: {done.path} ({done.bytes / 1e6:.1f} MB)")


def register(app: typer.Typer) -> None:
    """Add ``judgekit export`` to the app."""
    app.command("export")(export)
