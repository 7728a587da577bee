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
import time
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


IDLE_LOAD = 0.5  # CPUs kept busy by other work under which a <= 2-CPU machine counts as idle
BUSY_WINDOW_S = 0.25


def cpu_jiffies(proc_stat: str, cpus: set[int] | None = None) -> tuple[int, int] | None:
    """(busy, total) jiffies summed over the ``cpuN`` lines of ``/proc/stat`` (``cpus``: only those).

    Busy is everything but idle and iowait; guest time is already inside user time,
    so only the first eight fields count. None when no matching line is found.
    """
    busy = total = 0
    found = False
    for line in proc_stat.splitlines():
        name, _, rest = line.partition(" ")
        if not (name.startswith("cpu") and name[3:].isdigit()):
            continue
        if cpus is not None and int(name[3:]) not in cpus:
            continue
        fields = [int(v) for v in rest.split()[:8]]
        if len(fields) < 4:
            continue
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        busy += sum(fields) - idle
        total += sum(fields)
        found = True
    return (busy, total) if found else None


def busy_fraction(before: tuple[int, int], after: tuple[int, int], n_cpus: int) -> float:
    """CPUs kept busy between two :func:`cpu_jiffies` readings (0 .. ``n_cpus``)."""
    d_busy, d_total = after[0] - before[0], after[1] - before[1]
    return 0.0 if d_total <= 0 else n_cpus * max(0, d_busy) / d_total


def machine_load(window: float = BUSY_WINDOW_S) -> float | None:
    """CPUs of this process's affinity mask kept busy right now by other work.

    Measured from ``/proc/stat`` over ``window`` seconds while this process sleeps, so
    it sees the machine as it is at start (the 1-minute load average lags by a
    minute: right after a busy spell it still reads busy). Falls back to the 1-minute
    load average where ``/proc/stat`` is missing, and None where neither exists.
    """
    mask = set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    first = cpu_jiffies(_read(Path("/proc/stat")) or "", mask)
    if first is not None:
        time.sleep(window)
        second = cpu_jiffies(_read(Path("/proc/stat")) or "", mask)
        if second is not None:
            return busy_fraction(first, second, len(mask) if mask else os.cpu_count() or 1)
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def default_threads(threads: int | None = None, cpus: int | None = None, load: float | None = None) -> int | None:
    """Torch CPU threads: ``threads``, else ``$JUDGEKIT_THREADS``, else from the available CPUs and the load.

    With at most 2 CPUs available it adapts to the machine at start: all of them
    when other work keeps under :data:`IDLE_LOAD` CPUs busy (``load``; measured by
    :func:`machine_load` when not given), else 1. Measured with ``eval/bench_cpu.py`` (docs/engines.md):
    2 threads ran logit mode 1.7x faster than 1 on an idle 2-core machine, and 1.3x
    slower beside one other busy process (a second thread then waits for a core).
    With more CPUs: the available count when a container gets fewer than the host
    has; otherwise ``None`` (torch's own default, one thread per physical core).
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
        load = machine_load() if load is None else load
        return cpus if load is not None and load < IDLE_LOAD else 1
    # torch sizes its pool from the host's cores, not from a container's quota.
    return cpus if cpus < (os.cpu_count() or cpus) else None
