"""CPU quota detection (cgroup v1/v2, affinity) and prompt prefix grouping: pure functions."""

from __future__ import annotations

from pathlib import Path

import pytest

from judgekit.backends.prefix import common_prefix, prefill_savings, prefix_groups
from judgekit.core.cpus import (
    available_cpus,
    busy_fraction,
    cgroup_cpu_limit,
    cpu_jiffies,
    default_threads,
    machine_load,
    parse_cfs,
    parse_cpu_max,
)


def test_parse_quota_files() -> None:
    assert parse_cpu_max("max 100000\n") is None
    assert parse_cpu_max("150000 100000\n") == 1.5
    assert parse_cpu_max("garbage") is None
    assert parse_cfs("-1\n", "100000\n") is None
    assert parse_cfs("200000", "100000") == 2.0


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_own_directory_then_root(tmp_path: Path) -> None:
    _write(tmp_path / "job" / "cpu.max", "50000 100000\n")
    _write(tmp_path / "cpu.max", "max 100000\n")
    assert cgroup_cpu_limit(tmp_path, "0::/job\n") == 0.5
    assert cgroup_cpu_limit(tmp_path, "0::/\n") is None  # the root says "max"
    assert available_cpus(tmp_path, "0::/job\n") == 1


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    _write(tmp_path / "cpu" / "cpu.cfs_quota_us", "300000\n")
    _write(tmp_path / "cpu" / "cpu.cfs_period_us", "100000\n")
    proc = "4:memory:/x\n1:cpu:/\n0::/\n"
    assert cgroup_cpu_limit(tmp_path, proc) == 3.0
    assert available_cpus(tmp_path, proc) <= 3
    assert cgroup_cpu_limit(tmp_path / "absent", proc) is None


def test_default_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUDGEKIT_THREADS", raising=False)
    assert default_threads(4, cpus=1) == 4
    assert default_threads(cpus=2, load=1.4) == 1  # busy: a second thread would wait for a core
    assert default_threads(cpus=2, load=0.1) == 2  # idle: both cores
    assert default_threads(cpus=1, load=0.0) == 1
    monkeypatch.setattr("judgekit.core.cpus.machine_load", lambda: 1.0)
    assert default_threads(cpus=2) == 1
    monkeypatch.setattr("judgekit.core.cpus.machine_load", lambda: 0.2)
    assert default_threads(cpus=2) == 2
    monkeypatch.setattr("os.cpu_count", lambda: 64)
    assert default_threads(cpus=8) == 8  # a container's quota, not the host's 64 cores
    assert default_threads(cpus=64) is None  # the whole machine: torch's default
    monkeypatch.setenv("JUDGEKIT_THREADS", "2")
    assert default_threads(cpus=1) == 2
    monkeypatch.setenv("JUDGEKIT_THREADS", "two")
    with pytest.raises(ValueError, match="JUDGEKIT_THREADS"):
        default_threads(cpus=1)


def test_prefix_groups_pair_the_orders_not_the_whole_batch() -> None:
    system = list(range(100, 120))  # shared by every prompt (20 tokens)
    q1, q2 = [1] * 30, [2] * 30
    a, b = [7, 7, 7], [8, 8, 8, 8]
    prompts = [system + q1 + a + b, system + q2 + b + a, system + q1 + b + a, system + q2 + a + b, [5, 6]]
    groups = prefix_groups(prompts, min_shared=16)
    by_members = {tuple(sorted(g.members)): g.shared for g in groups}
    assert by_members == {(0, 2): 50, (1, 3): 50, (4,): 1}
    total, run = prefill_savings(prompts, groups)
    assert total == sum(map(len, prompts)) and run == total - 100
    assert common_prefix([1, 2, 3], [1, 2]) == 2


def test_prefix_groups_keep_one_own_token_and_take_identical_prompts() -> None:
    same = [3] * 20
    groups = prefix_groups([same, same, same + [4]], min_shared=4)
    assert len(groups) == 1 and sorted(groups[0].members) == [0, 1, 2] and groups[0].shared == 19
    apart = prefix_groups([[1] * 20, [2] * 20], min_shared=4)
    assert [(g.members, g.shared) for g in apart] == [((0,), 19), ((1,), 19)]


PROC_STAT = """cpu  300 0 100 1000 50 0 0 0 0 0
cpu0 100 0 50 500 25 0 0 0 0 0
cpu1 200 0 50 500 25 0 0 0 0 0
intr 12345
"""


def test_cpu_jiffies_and_busy_fraction() -> None:
    assert cpu_jiffies(PROC_STAT) == (400, 1450)  # per-CPU lines only, idle + iowait excluded
    assert cpu_jiffies(PROC_STAT, {1}) == (250, 775)
    assert cpu_jiffies(PROC_STAT, {7}) is None and cpu_jiffies("") is None
    later = PROC_STAT.replace("cpu1 200 0 50 500", "cpu1 300 0 50 500")  # cpu1 busy for 100 jiffies
    assert busy_fraction(cpu_jiffies(PROC_STAT), cpu_jiffies(later), 2) == pytest.approx(2.0)
    assert busy_fraction((5, 10), (5, 10), 2) == 0.0  # no time passed: idle, not a division by zero


def test_machine_load_reads_proc_stat_over_a_window(monkeypatch: pytest.MonkeyPatch) -> None:
    readings = iter([PROC_STAT, PROC_STAT.replace("cpu0 100 0 50 500", "cpu0 100 0 50 600")])
    monkeypatch.setattr("judgekit.core.cpus._read", lambda path: next(readings))
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    assert machine_load(window=0.0) == 0.0  # only idle time passed
    monkeypatch.setattr("judgekit.core.cpus._read", lambda path: None)
    monkeypatch.setattr("os.getloadavg", lambda: (1.5, 1.0, 1.0))
    assert machine_load(window=0.0) == 1.5  # no /proc/stat: the 1-minute load average
