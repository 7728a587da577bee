"""How many CPUs this process may really use, and how many torch threads to give it.

``os.cpu_count()`` counts the host's cores. A container usually gets fewer: an
affinity mask (``os.sched_getaffinity``, e.g. ``docker --cpuset-cpus``) and/or a
CFS quota (``docker --cpus``: cgroup v2 ``cpu.max``, cgroup v1
``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``). Threads beyond the quota are
throttled, and spin-waiting torch threads then slow every matmul down.

No torch here: the parsing is pure and unit-tested; the transformers backend calls
:func:`default_threads`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def parse_cpu_max(text: str) -> float | None:
    """CPUs allowed by a cgroup v2 ``cpu.max`` line (``"max 100000"`` -> ``None``)."""
    parts = text.split()
    if len(parts) != 2 or parts[0] == "max":
        return None
    try:
        quota, period = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def parse_cfs(quota_text: str, period_text: str) -> float | None:
    """CPUs allowed by cgroup v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (quota -1 -> ``None``)."""
    try:
        quota, period = int(quota_text.strip()), int(period_text.strip())
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return None


def _own_cgroups(proc_cgroup: str) -> dict[str, str]:
    """``{controller: path}`` from ``/proc/self/cgroup`` (``""`` is the v2 unified hierarchy)."""
    out: dict[str, str] = {}
    for line in proc_cgroup.splitlines():
        _, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        for c in controllers.split(",") if controllers else [""]:
            out[c] = path
    return out


def cgroup_cpu_limit(root: Path = CGROUP_ROOT, proc_cgroup: str | None = None) -> float | None:
    """The tightest CPU quota of this process's cgroup (v2, then v1), or ``None`` without one.

    The process's own cgroup directory is tried first, then the mount root (what a
    container with a private cgroup namespace sees).
    """
    if proc_cgroup is None:
        proc_cgroup = _read(Path("/proc/self/cgroup")) or ""
    own = _own_cgroups(proc_cgroup)
    limits: list[float] = []
    v2_dirs = [root / own[""].lstrip("/")] if "" in own else []
    for d in [*v2_dirs, root]:
        text = _read(d / "cpu.max")
        value = parse_cpu_max(text) if text else None
        if value:
            limits.append(value)
            break
    v1_path = own.get("cpu", own.get("cpu,cpuacct", "/")).lstrip("/")
    for base in (root / "cpu", root / "cpu,cpuacct"):
        for d in (base / v1_path, base):
            quota, period = _read(d / "cpu.cfs_quota_us"), _read(d / "cpu.cfs_period_us")
            value = parse_cfs(quota, period) if quota and period else None
            if value:
                limits.append(value)
                break
    return min(limits) if limits else None


def available_cpus(root: Path = CGROUP_ROOT, proc_cgroup: str | None = None) -> int:
    """CPUs this process may use: its affinity mask, capped by the cgroup quota (rounded up, >= 1)."""
    # sched_getaffinity is missing on macOS and Windows
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = cgroup_cpu_limit(root, proc_cgroup)
    if quota is not None:
        n = min(n, math.ceil(quota))
    return max(n, 1)


def default_threads(threads: int | None = None, cpus: int | None = None) -> int | None:
    """Torch CPU threads: ``threads``, else ``$JUDGEKIT_THREADS``, else from the available CPUs.

    1 when at most 2 CPUs are available; the available count when a container
    gets fewer than the host has; otherwise ``None`` (torch's own default, one
    thread per physical core). The one-thread default
    on small machines comes from ``eval/bench_threads.py`` (docs/engines.md): with two
    CPUs shared with anything else, a second thread spin-waits and loses.
    A malformed ``$JUDGEKIT_THREADS`` is an error, not a silent default.
    """
    if threads:
        return threads
    env = os.environ.get("JUDGEKIT_THREADS", "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise ValueError(f"JUDGEKIT_THREADS must be a positive integer, not {env!r}")
        return int(env)
    if cpus is None:
        cpus = available_cpus()
    if cpus <= 2:
        return 1
    # torch sizes its pool from the host's cores, not from a container's quota.
    return cpus if cpus < (os.cpu_count() or cpus) else None
