"""``judgekit cache info|prune``: how big the on-disk caches are, and making them smaller.

The call cache (``calls.sqlite``) grows with every new prompt, model and setting;
converted models and compiled grammars sit beside it. ``info`` shows where they are
and their sizes; ``prune`` deletes call-cache entries older than some days (or all),
and with ``--models`` the converted models, which are rebuilt on next use.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from judgekit.cli.common import console, fail, out, user_errors
from judgekit.core.cache import CallCache, default_cache_dir, default_call_cache_path, disk_size

cache_app = typer.Typer(no_args_is_help=True, help="Show or shrink the on-disk caches (call cache, converted models).")

CacheDir = Annotated[Path | None, typer.Option(help="Cache directory (default $JUDGEKIT_CACHE or ~/.cache/judgekit).")]


def _paths(cache_dir: Path | None) -> tuple[Path, Path]:
    """The call-cache file and the cache root for ``--cache-dir`` (as the judge commands resolve them)."""
    if cache_dir is not None:
        return cache_dir / "calls.sqlite", cache_dir
    return default_call_cache_path(), default_cache_dir()


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


@cache_app.command("info")
def info(cache_dir: CacheDir = None) -> None:
    """Where the caches are, their sizes and the number of cached model calls."""
    calls, root = _paths(cache_dir)
    table = Table(title="judgekit caches", header_style="bold")
    for col in ("cache", "path", "entries", "size"):
        table.add_column(col, overflow="fold")
    with user_errors():
        if calls.is_file():
            cache = CallCache(calls)
            entries = str(len(cache))
            cache.close()
        else:
            entries = "-"
        table.add_row("model calls", str(calls), entries, _mb(disk_size(calls)) if calls.is_file() else "absent")
        for name, what in (("models", "converted models"), ("outlines", "compiled grammars")):
            folder = root / name
            if folder.is_dir():
                items = [d for d in folder.iterdir() if not d.name.startswith(".")]
                table.add_row(what, str(folder), str(len(items)), _mb(disk_size(folder)))
            else:
                table.add_row(what, str(folder), "-", "absent")
    out.print(table)


@cache_app.command("prune")
def prune(
    older_than: Annotated[float | None, typer.Option(
        help="Delete cached model calls older than this many days (undated old entries count as old).")] = None,
    all_calls: Annotated[bool, typer.Option("--all", help="Delete every cached model call.")] = False,
    models: Annotated[bool, typer.Option("--models", help="Also delete converted models and compiled grammars "
                                         "(rebuilt on next use).")] = False,
    cache_dir: CacheDir = None,
) -> None:
    """Shrink the caches: old (or all) model calls, and with --models the converted models."""
    if older_than is None and not all_calls and not models:
        fail("say what to prune: --older-than DAYS, --all and/or --models")
    if older_than is not None and all_calls:
        fail("--older-than and --all exclude each other")
    if older_than is not None and older_than < 0:
        fail("--older-than must be >= 0 days")
    calls, root = _paths(cache_dir)
    with user_errors():
        if (older_than is not None or all_calls) and calls.is_file():
            before = disk_size(calls)
            cache = CallCache(calls)
            removed = cache.prune(None if all_calls else older_than * 86400)  # type: ignore[operator]
            left = len(cache)
            cache.close()
            console.print(f"model calls: removed {removed}, kept {left}; {_mb(before)} -> {_mb(disk_size(calls))}")
        elif older_than is not None or all_calls:
            console.print(f"model calls: no cache at {calls}")
        if models:
            for name in ("models", "outlines"):
                folder = root / name
                if folder.is_dir():
                    size = disk_size(folder)
                    shutil.rmtree(folder)
                    console.print(f"{name}: removed {folder} ({_mb(size)})")


def register(app: typer.Typer) -> None:
    """Attach ``judgekit cache info|prune`` to the main app."""
    app.add_typer(cache_app, name="cache")
