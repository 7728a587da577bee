"""The ``<python>`` tool: run a short program in a separate, limited process.

Layers, from the outside in (see ``docs/protocols.md`` for what they do *not* cover):

* a fresh process ``python -I -S`` (isolated mode: no environment variables, no user
  site, no site-packages) with a clean environment, stdin closed, its working
  directory a fresh temp dir that is deleted afterwards, in its own session so the
  wall-time kill reaches everything it started;
* a network namespace with no interfaces but a down loopback (``unshare --net``,
  or ``unshare --user --map-current-user --net`` without root) when the system allows
  it, probed once; otherwise nothing at the OS level (recorded as ``network: "audit-hook"``);
* inside the child (``_sandbox_child.py``): CPU, address-space, file-size, open-file
  limits, privilege drop to ``nobody`` when started as root, no new processes
  (``RLIMIT_NPROC`` = 0), and a Python audit hook (sockets, subprocesses, fork/exec,
  ctypes, reads outside the temp dir and the Python installation, writes outside the temp dir);
* a wall-clock timeout in the parent that kills the child's whole session.

stdout and stderr go to files under the size limit, so a program that prints forever
is stopped by the limit, not by this process's memory. Every failure comes back as a
:class:`~judgekit.tools.ToolResult` with ``ok=False`` and one clear line: the tool
never raises on what the program does.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CHILD = Path(__file__).with_name("_sandbox_child.py")
MAX_CODE = 4000
NOBODY = 65534


@dataclass(frozen=True)
class PythonLimits:
    """Per-run limits of the ``<python>`` tool."""

    cpu_seconds: int = 2
    wall_seconds: float = 5.0
    memory_mb: int = 256
    file_kb: int = 256
    output_chars: int = 400


@dataclass(frozen=True)
class RunOutcome:
    """What one program run produced: ``ok`` when it exited 0, else ``error`` says why."""

    ok: bool
    stdout: str
    error: str | None


@lru_cache(maxsize=1)
def network_isolation() -> tuple[str, ...]:
    """The command prefix that gives the child an empty network namespace, or ``()``.

    Probed once per process: ``unshare --net`` as root, ``unshare --user
    --map-current-user --net`` otherwise; ``()`` when neither works (no ``unshare``,
    user namespaces disabled, a seccomp profile that forbids them).
    """
    exe = shutil.which("unshare")
    if exe is None:
        return ()
    prefix = [exe, "--net"] if os.geteuid() == 0 else [exe, "--user", "--map-current-user", "--net"]
    try:
        probe = subprocess.run([*prefix, "--", sys.executable, "-I", "-S", "-c", "pass"],
                               capture_output=True, timeout=20, env={}, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return (*prefix, "--") if probe.returncode == 0 else ()


def sandbox_info() -> dict[str, str]:
    """How the runner isolates programs on this machine (recorded in each judgment)."""
    return {
        "network": "namespace" if network_isolation() else "audit-hook",
        "user": "nobody" if os.geteuid() == 0 else "self",
    }


_SIGNALS = {
    signal.SIGXCPU: "CPU time limit ({cpu} s) exceeded",
    signal.SIGXFSZ: "file or output size limit ({file_kb} KiB) exceeded",
    signal.SIGSEGV: "crashed (segmentation fault)",
}


def run_python(code: str, limits: PythonLimits | None = None) -> RunOutcome:
    """Run ``code`` under every limit; report stdout, or why it failed, in one line."""
    limits = limits or PythonLimits()
    if len(code) > MAX_CODE:
        return RunOutcome(False, "", f"program longer than {MAX_CODE} characters")
    base = Path(tempfile.mkdtemp(prefix="judgekit-py-"))
    try:
        work = base / "work"
        work.mkdir()
        code_file = base / "program.py"
        code_file.write_text(code, encoding="utf-8")
        if os.geteuid() == 0:
            os.chown(work, NOBODY, NOBODY)
        cmd = [*network_isolation(), sys.executable, "-I", "-S", str(CHILD), str(code_file),
               str(limits.cpu_seconds), str(limits.memory_mb << 20), str(limits.file_kb << 10)]
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(work), "PYTHONHASHSEED": "0"}
        with open(base / "stdout", "wb") as out, open(base / "stderr", "wb") as err:
            proc = subprocess.Popen(cmd, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True)
            timed_out = False
            try:
                proc.wait(timeout=limits.wall_seconds)
            except subprocess.TimeoutExpired:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        stdout = _head(base / "stdout", limits.output_chars)
        if timed_out:
            return RunOutcome(False, stdout, f"wall time limit ({limits.wall_seconds:g} s) exceeded")
        if proc.returncode == 0:
            return RunOutcome(True, stdout, None)
        return RunOutcome(False, stdout, _failure(proc.returncode, _head(base / "stderr", 4000), limits))
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _head(path: Path, chars: int) -> str:
    with open(path, "rb") as fh:
        data = fh.read(chars * 4 + 4)
    text = data.decode("utf-8", errors="replace")
    return text if len(text) <= chars else text[:chars] + " [...]"


def _failure(code: int, stderr: str, limits: PythonLimits) -> str:
    if code < 0:
        sig = signal.Signals(-code)
        template = _SIGNALS.get(sig, "killed by {name}")
        return template.format(cpu=limits.cpu_seconds, file_kb=limits.file_kb, name=sig.name)
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    return lines[-1].strip()[:300] if lines else f"exited with status {code}"
