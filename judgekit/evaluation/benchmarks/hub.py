"""Fetch a benchmark's published files from the Hugging Face hub by dataset name (for users with network).

``judgekit eval NAME OWNER/DATASET`` works for a benchmark whose module names its hub
dataset (``Benchmark.fetch``): the files are downloaded once into the hub cache
(``huggingface_hub.snapshot_download``, only the files the loader reads) and read from
there exactly as a local copy would be. Nothing here runs when PATH exists locally.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from judgekit.core.data import DataError


def hub_snapshot(repo_id: str, patterns: Sequence[str]) -> Path:
    """The local folder of the hub dataset ``repo_id`` (files matching ``patterns``); DataError if unreachable."""
    from huggingface_hub import snapshot_download  # a dependency of `datasets`

    try:
        return Path(snapshot_download(repo_id=repo_id, repo_type="dataset", allow_patterns=list(patterns)))
    except Exception as exc:  # offline, unknown or gated repository: one clear line, never a traceback
        first = (str(exc).strip().splitlines() or [""])[0]
        raise DataError(repo_id, f"could not fetch the hub dataset ({type(exc).__name__}: {first}); "
                                 "download its files and pass the local folder") from exc


def hub_fetcher(repo_id: str, patterns: Sequence[str], subdir: str = "") -> Callable[[str], Path | None]:
    """A ``Benchmark.fetch``: ``repo_id`` (or ``hf://datasets/repo_id``) -> the downloaded folder, else None."""
    names = {repo_id.lower(), f"hf://datasets/{repo_id}".lower(), f"hf:/datasets/{repo_id}".lower()}  # Path() folds //

    def fetch(name: str) -> Path | None:
        if name.strip("/").lower() not in names:
            return None
        root = hub_snapshot(repo_id, patterns)
        return root / subdir if subdir else root

    return fetch
