"""Judge a whole file: chunked, written incrementally, resumable, recorded.

A run directory holds ``results.partial.jsonl`` while the run is in progress (one
line per finished item, flushed as it goes) and, once every item is done,
``results.jsonl`` in input order, ``manifest.json`` and ``summary.json``. A re-run of
the same configuration picks up the partial file and the call cache and only judges
what is missing; the final file is identical either way.

A run holds an exclusive lock on ``run_dir/.lock`` (a second run into the same
directory fails at once with :class:`RunDirError`), and moves the final files of an
earlier finished run into ``run_dir/superseded/N/`` before it starts, so a killed run
never leaves a stale complete-looking ``results.jsonl`` beside its partial file.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from judgekit.core.aggregate import annotate
from judgekit.core.backend import PartialChoicesError, PartialGenerationError
from judgekit.core.cache import make_key
from judgekit.core.metrics import summarize
from judgekit.core.prompts import template_hash
from judgekit.core.rundir import RunDirError as RunDirError  # re-exported: callers catch it from here
from judgekit.core.rundir import (
    locked,
    open_partial,
    prepare_dir,
    resume_rows,
    supersede_finals,
    write_json,
    write_jsonl,
)
from judgekit.core.runner import Runner
from judgekit.core.types import Judgment, Sample, Turn
from judgekit.protocols.base import Protocol

FINALS = ("results.jsonl", "manifest.json", "summary.json")
PACKAGES = ("judgekit", "torch", "transformers", "outlines", "outlines_core", "jinja2", "datasets", "trl", "httpx")
Progress = Callable[[int, int], None]
OnChunk = Callable[[list[Judgment]], None]
# Judges the items still to do, handing each finished group of judgments to the callback
# (written to the partial file at once); returns them all. Default: judge_samples here.
JudgeFn = Callable[[Sequence[Sample], OnChunk], list[Judgment]]


@dataclass(frozen=True)
class RunResult:
    """What a finished run produced."""

    run_dir: Path
    judgments: list[Judgment]
    summary: dict[str, Any]
    manifest: dict[str, Any]
    resumed: int


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that shape outputs (no imports)."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def file_digest(path: Path) -> str:
    """sha256 of a file, or of a directory's files in name order."""
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def judge_samples(
    samples: Sequence[Sample],
    protocol: Protocol,
    runner: Runner,
    chunk_size: int = 32,
    on_chunk: Callable[[list[Judgment]], None] | None = None,
) -> list[Judgment]:
    """Judge samples chunk by chunk (no files); ``on_chunk`` sees each finished chunk.

    Each judgment goes through :func:`~judgekit.core.aggregate.annotate` (sample counts,
    the order-tie reward rule).
    """
    out: list[Judgment] = []
    for start in range(0, len(samples), chunk_size):
        part = samples[start : start + chunk_size]
        chunk = [annotate(j, s) for j, s in zip(_judge_chunk(part, protocol, runner), part, strict=True)]
        out.extend(chunk)
        if on_chunk:
            on_chunk(chunk)
    return out


def _judge_chunk(samples: Sequence[Sample], protocol: Protocol, runner: Runner, tries: int = 3) -> list[Judgment]:
    """``protocol.judge``; when a server refused prompts as too long, judge again.

    The runner remembers the refusals, so the second pass records those items as
    skipped (as a backend that counts tokens does up front) and takes everything
    else from the cache. Any other failure is raised.
    """
    for _ in range(tries - 1):
        try:
            return protocol.judge(samples, runner)
        except (PartialGenerationError, PartialChoicesError) as exc:
            if set(exc.errors) - exc.too_long:
                raise
    return protocol.judge(samples, runner)


def run_fingerprint(protocol: Protocol, runner: Runner, input_digest: str) -> str:
    """Everything that determines a run's results, hashed."""
    return make_key(
        {
            "input": input_digest,
            "protocol": protocol.name,
            "config": protocol.config.to_dict(),
            "backend": runner.identity(),
            "templates": {t: template_hash(t) for t in protocol.templates},
        }
    )


def run_judge(
    samples: Sequence[Sample],
    protocol: Protocol,
    runner: Runner,
    run_dir: Path,
    input_path: Path | None = None,
    progress: Progress | None = None,
    resume: bool = True,
    chunk_size: int = 32,
    extra_manifest: dict[str, Any] | None = None,
    judge_fn: JudgeFn | None = None,
) -> RunResult:
    """Judge ``samples`` into ``run_dir`` (see module docstring).

    ``judge_fn`` replaces the local judging loop (:mod:`judgekit.ray_judge` sends blocks
    to Ray workers); ``runner`` then only has to answer ``identity()``, ``backend`` and
    ``stats`` for the fingerprint, manifest and summary. Raises :class:`RunDirError` when
    ``run_dir`` is not a writable directory or another run holds it.
    """
    prepare_dir(run_dir)
    with locked(run_dir):
        return _run_locked(samples, protocol, runner, run_dir, input_path, progress, resume, chunk_size,
                           extra_manifest, judge_fn)


def _run_locked(
    samples: Sequence[Sample],
    protocol: Protocol,
    runner: Runner,
    run_dir: Path,
    input_path: Path | None,
    progress: Progress | None,
    resume: bool,
    chunk_size: int,
    extra_manifest: dict[str, Any] | None,
    judge_fn: JudgeFn | None = None,
) -> RunResult:
    warnings = protocol.check_samples(samples)  # refuses unsound inputs before any work
    superseded = supersede_finals(run_dir, FINALS)
    digest = file_digest(input_path) if input_path else make_key({"ids": [s.id for s in samples]})
    fingerprint = run_fingerprint(protocol, runner, digest)
    partial_path = run_dir / "results.partial.jsonl"
    previous = resume_rows(partial_path, fingerprint, "sample_id") if resume else {}
    todo = [s for s in samples if s.id not in previous]
    started = time.perf_counter()
    done_count = len(samples) - len(todo)
    if progress:
        progress(done_count, len(samples))
    with open_partial(partial_path, fingerprint, resuming=bool(previous)) as fh:

        def on_chunk(chunk: list[Judgment]) -> None:
            nonlocal done_count
            for j in chunk:
                fh.write(json.dumps(j.to_dict(), ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            done_count += len(chunk)
            if progress:
                progress(done_count, len(samples))

        if judge_fn is None:
            fresh = judge_samples(todo, protocol, runner, chunk_size, on_chunk)
        else:
            fresh = judge_fn(todo, on_chunk)
    elapsed = time.perf_counter() - started
    by_id = {j.sample_id: j.to_dict() for j in fresh}
    by_id.update({k: v for k, v in previous.items() if k not in by_id})
    rows = [by_id[s.id] for s in samples]
    write_jsonl(run_dir / "results.jsonl", rows)
    partial_path.unlink()
    judgments = [judgment_from_dict(r) for r in rows]
    summary = summarize(samples, judgments, elapsed if fresh else None)
    summary["resumed_items"] = len(previous)
    summary["runner"] = vars(runner.stats)
    if warnings:
        summary["warnings"] = warnings
    shown = [s.metadata["chosen_position"] for s in samples if "chosen_position" in s.metadata]
    extra = dict(extra_manifest or {})
    if superseded is not None:
        extra["superseded"] = str(superseded.relative_to(run_dir))
    if shown:  # chosen/rejected files: the displayed order was drawn from the seed
        extra["chosen_rejected_order"] = {"seed": protocol.config.seed, "chosen_as_A": shown.count("A"),
                                          "chosen_as_B": shown.count("B")}
    if warnings:
        extra["warnings"] = warnings
    manifest = build_manifest(protocol, runner, input_path, digest, fingerprint, elapsed, extra)
    write_json(run_dir / "manifest.json", manifest)
    write_json(run_dir / "summary.json", summary)
    return RunResult(run_dir, judgments, summary, manifest, resumed=len(previous))


def build_manifest(
    protocol: Protocol, runner: Runner, input_path: Path | None, digest: str, fingerprint: str,
    elapsed: float, extra: dict[str, Any] | None,
) -> dict[str, Any]:
    """What produced a run: model, templates, decoding, seed, versions, timings."""
    cfg = protocol.config
    return {
        "judgekit_run": 1,
        "created_unix": int(time.time()),
        "input": {"path": str(input_path) if input_path else None, "sha256": digest},
        "protocol": protocol.name,
        "templates": {t: template_hash(t) for t in protocol.templates},
        "config": cfg.to_dict(),
        "decoding": protocol.decoding(),
        "seed": cfg.seed,
        "backend": runner.backend.info(),
        "backend_identity": runner.identity(),
        "model_id": runner.backend.model_id,
        "fingerprint": fingerprint,
        "versions": package_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "timings": {"elapsed_s": round(elapsed, 3)},
        **(extra or {}),
    }


def judgment_from_dict(d: dict[str, Any]) -> Judgment:
    """Rebuild a Judgment from its JSON form."""
    fields = dict(d)
    fields["trace"] = tuple(Turn(**t) for t in d.get("trace", ()))
    fields["per_order"] = tuple(d.get("per_order", ()))
    fields["scores"] = tuple(d["scores"]) if d.get("scores") is not None else None
    return Judgment(**fields)
