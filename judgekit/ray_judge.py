"""Judge a file on a Ray cluster: blocks of items go to worker actors, the run directory is the same.

``judgekit judge FILE --ray ADDRESS`` (``local`` starts a cluster on this machine) splits
the items still to judge into blocks of ``block_size`` and sends them to ``workers``
actors. Each actor builds the protocol and its own runner (backend + call cache) once,
from the same :class:`~judgekit.options.JudgeOptions` as a local run, and judges whole
blocks with :func:`judgekit.judge.judge_samples`, the local code path. The driver writes
each finished block to ``results.partial.jsonl`` through :func:`judgekit.judge.run_judge`,
so ``results.jsonl``, ``manifest.json`` and ``summary.json`` are written exactly as for a
local run, and an interrupted run resumes where it stopped (written blocks are skipped).

Faults: an actor whose process dies (killed, out of memory, a lost node) is restarted by
Ray and its block is sent again (``max_restarts`` / ``max_task_retries``); a block is
written once, when its result arrives, so nothing is lost or written twice.

Cache: every actor opens the call cache at the path the options name (``--cache-dir`` or
``$JUDGEKIT_CACHE``) on its own node. On one machine the actors share that SQLite file; on
a multi-node cluster each node keeps its own unless the path is on a shared filesystem.
The run directory (on the driver) is what makes a re-run resume; the cache only saves
model calls. Ray itself is imported only here, and only when a Ray run starts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from judgekit.core.errors import ConfigError
from judgekit.core.runner import Runner, RunnerStats
from judgekit.core.types import Judgment, Sample
from judgekit.judge import OnChunk, Progress, RunResult, judge_samples, judgment_from_dict, run_judge
from judgekit.options import JudgeOptions, build_protocol, build_runner

RunnerFactory = Callable[[JudgeOptions], Runner]


@dataclasses.dataclass(frozen=True)
class RayPlan:
    """Where and how to spread a run: cluster address, actors, block size, resources per actor."""

    address: str = "local"
    workers: int = 2
    block_size: int = 1024
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0
    max_retries: int = 3

    def check(self, chunk_size: int) -> None:
        """Refuse a plan that cannot run (ConfigError)."""
        if self.workers < 1 or self.block_size < 1 or self.max_retries < 0:
            raise ConfigError("--ray-workers and --ray-block-size must be >= 1")
        if self.cpus_per_worker < 0 or self.gpus_per_worker < 0:
            raise ConfigError("Ray resources per worker must be >= 0")
        if self.block_size % chunk_size:
            raise ConfigError(f"--ray-block-size {self.block_size}: must be a multiple of the chunk size "
                              f"{chunk_size} (so the batches are those of a local run)")


def blocks(samples: Sequence[Sample], size: int) -> list[list[Sample]]:
    """``samples`` cut into consecutive blocks of ``size`` (the last may be shorter)."""
    return [list(samples[i : i + size]) for i in range(0, len(samples), size)]


def add_stats(total: RunnerStats, delta: dict[str, int]) -> None:
    """Add one block's runner counters to the run's."""
    for key, value in delta.items():
        setattr(total, key, getattr(total, key) + value)


class BlockJudge:
    """One Ray actor's work: a protocol and a runner, built once, judging whole blocks."""

    def __init__(self, opts: JudgeOptions, make_runner: RunnerFactory | None, chunk_size: int) -> None:
        self.protocol = build_protocol(opts)
        self.runner = (make_runner or build_runner)(opts)
        self.chunk_size = chunk_size

    def describe(self) -> dict[str, Any]:
        """What the driver's manifest and fingerprint need from the backend."""
        backend = self.runner.backend
        return {"identity": self.runner.identity(), "info": backend.info(), "model_id": backend.model_id}

    def judge(self, index: int, block: list[Sample]) -> tuple[int, list[dict[str, Any]], dict[str, int]]:
        """``(block index, judgments as dicts, runner counters spent on the block)``."""
        before = dataclasses.asdict(self.runner.stats)
        judgments = judge_samples(block, self.protocol, self.runner, self.chunk_size)
        after = dataclasses.asdict(self.runner.stats)
        return index, [j.to_dict() for j in judgments], {k: after[k] - before[k] for k in after}


@dataclasses.dataclass
class _RemoteBackend:
    """The driver's stand-in for the workers' backend (manifest entries only)."""

    model_id: str
    described: dict[str, Any]

    def info(self) -> dict[str, Any]:
        """The workers' backend manifest entry."""
        return self.described


@dataclasses.dataclass
class RemoteRunner:
    """What :func:`judgekit.judge.run_judge` reads from a runner, answered by a worker."""

    backend: _RemoteBackend
    identity_value: dict[str, Any]
    stats: RunnerStats = dataclasses.field(default_factory=RunnerStats)

    def identity(self) -> dict[str, Any]:
        """The workers' backend identity (part of the run fingerprint)."""
        return self.identity_value


def _init_ray(address: str) -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ConfigError("--ray needs Ray: pip install 'judgekit[ray]'") from exc
    if not ray.is_initialized():
        if address == "local":
            ray.init(include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    return ray


def run_judge_ray(
    samples: Sequence[Sample],
    opts: JudgeOptions,
    run_dir: Path,
    plan: RayPlan,
    *,
    input_path: Path | None = None,
    progress: Progress | None = None,
    chunk_size: int = 32,
    extra_manifest: dict[str, Any] | None = None,
    make_runner: RunnerFactory | None = None,
) -> RunResult:
    """Judge ``samples`` into ``run_dir`` on Ray workers (see the module docstring).

    ``make_runner(opts)`` builds each worker's runner (default: :func:`judgekit.options.build_runner`).
    """
    plan.check(chunk_size)
    protocol = build_protocol(opts)
    ray = _init_ray(plan.address)
    actor_cls = ray.remote(BlockJudge).options(
        num_cpus=plan.cpus_per_worker, num_gpus=plan.gpus_per_worker,
        max_restarts=plan.max_retries, max_task_retries=plan.max_retries,
    )
    actors = [actor_cls.remote(opts, make_runner, chunk_size) for _ in range(plan.workers)]
    described = ray.get(actors[0].describe.remote())
    runner = RemoteRunner(_RemoteBackend(described["model_id"], described["info"]), described["identity"])

    def judge_on_ray(todo: Sequence[Sample], on_chunk: OnChunk) -> list[Judgment]:
        pending = list(enumerate(blocks(todo, plan.block_size)))
        idle = list(actors)
        running: dict[Any, Any] = {}
        done: dict[int, list[Judgment]] = {}
        while pending or running:
            while pending and idle:
                index, block = pending.pop(0)
                actor = idle.pop()
                running[actor.judge.remote(index, block)] = actor
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                idle.append(running.pop(ref))
                index, rows, delta = ray.get(ref)
                judgments = [judgment_from_dict(r) for r in rows]
                add_stats(runner.stats, delta)
                done[index] = judgments
                on_chunk(judgments)
        return [j for i in sorted(done) for j in done[i]]

    extra = {**(extra_manifest or {}), "ray": {**dataclasses.asdict(plan), "address": plan.address}}
    return run_judge(samples, protocol, runner, run_dir, input_path=input_path,  # type: ignore[arg-type]
                     progress=progress, resume=opts.resume, chunk_size=chunk_size, extra_manifest=extra,
                     judge_fn=judge_on_ray)
