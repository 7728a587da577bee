"""The ``<python>`` tool: run a short program in an operating-system sandbox, with limits.

The security boundary is the kernel, not the interpreter. Each program runs in a fresh
``python -I -S`` process started by bubblewrap (:mod:`judgekit.tools.sandbox`): its own
user, mount, PID and network namespaces as ``nobody`` without capabilities, a read-only
root holding only the system and Python directories, a private ``/work`` tmpfs of fixed
size, and a seccomp filter that refuses fork, clone, sockets and the escape system calls.
Inside, the child script (``_sandbox_child.py``) sets CPU, address-space, file-size,
open-file and process limits and installs an audit hook as a second layer. The parent
kills the whole sandbox after a wall-clock limit.

Where the sandbox cannot run (no ``bwrap``, user namespaces disabled, not x86-64) the tool
is refused (:func:`require_sandbox`); a program is never run unisolated.

stdout and stderr go to files the parent opened, under the file-size limit, so a program
that prints forever is stopped by the limit, not by this process's memory. Every failure
comes back as a :class:`RunOutcome` with ``ok=False`` and one clear line: the tool never
raises on what the program does.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from judgekit.tools.sandbox import SANDBOX_DIR, bwrap_version, python_paths, sandbox_problem, sandboxed_popen

CHILD = Path(__file__).with_name("_sandbox_child.py")
MAX_CODE = 4000


@dataclass(frozen=True)
class PythonLimits:
    """Per-run limits of the ``<python>`` tool."""

    cpu_seconds: int = 2
    wall_seconds: float = 5.0
    memory_mb: int = 256
    file_kb: int = 256
    disk_kb: int = 4096
    output_chars: int = 400


@dataclass(frozen=True)
class RunOutcome:
    """What one program run produced: ``ok`` when it exited 0, else ``error`` says why."""

    ok: bool
    stdout: str
    error: str | None


class SandboxUnavailable(RuntimeError):
    """The OS sandbox cannot run on this machine (the message says why and what to install)."""


def require_sandbox() -> None:
    """Raise :class:`SandboxUnavailable` unless programs can run in the sandbox here."""
    problem = sandbox_problem()
    if problem is not None:
        raise SandboxUnavailable(problem)


def sandbox_info() -> dict[str, str]:
    """How the runner isolates programs on this machine (recorded in each judgment)."""
    return {"isolation": "bubblewrap+seccomp", "bwrap": bwrap_version(), "network": "namespace",
            "user": "nobody (user namespace)"}


_SIGNALS = {
    signal.SIGXCPU: "CPU time limit ({cpu} s) exceeded",
    signal.SIGXFSZ: "file or output size limit ({file_kb} KiB) exceeded",
    signal.SIGSEGV: "crashed (segmentation fault)",
}


def run_python(code: str, limits: PythonLimits | None = None) -> RunOutcome:
    """Run ``code`` in the sandbox under every limit; report stdout, or why it failed, in one line."""
    limits = limits or PythonLimits()
    if len(code) > MAX_CODE:
        return RunOutcome(False, "", f"program longer than {MAX_CODE} characters")
    problem = sandbox_problem()
    if problem is not None:
        return RunOutcome(False, "", f"refused: {problem}")
    base = Path(tempfile.mkdtemp(prefix="judgekit-py-"))
    try:
        code_file = base / "program.py"
        code_file.write_text(code, encoding="utf-8")
        argv = [python_paths()[0], "-I", "-S", f"{SANDBOX_DIR}/child.py", f"{SANDBOX_DIR}/program.py",
                str(limits.cpu_seconds), str(limits.memory_mb << 20), str(limits.file_kb << 10)]
        binds = {str(CHILD): f"{SANDBOX_DIR}/child.py", str(code_file): f"{SANDBOX_DIR}/program.py"}
        with open(base / "stdout", "wb") as out, open(base / "stderr", "wb") as err:
            proc = sandboxed_popen(argv, limits.disk_kb << 10, binds, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=err, start_new_session=True, env={"PATH": "/usr/bin:/bin"})
            timed_out = False
            try:
                proc.wait(timeout=limits.wall_seconds)
            except subprocess.TimeoutExpired:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)  # bwrap dies; --die-with-parent and the PID namespace end the rest
                proc.wait()
        stdout = _head(base / "stdout", limits.output_chars)
        if timed_out:
            return RunOutcome(False, stdout, f"wall time limit ({limits.wall_seconds:g} s) exceeded")
        if proc.returncode == 0:
            return RunOutcome(True, stdout, None)
        return RunOutcome(False, stdout, _failure(proc.returncode, _head(base / "stderr", 4000), limits))
    finally:
        shutil.rmtree(base, ignore_errors=True)


_SIGNAL_NUMBERS = {int(s) for s in signal.Signals}


def _head(path: Path, chars: int) -> str:
    with open(path, "rb") as fh:
        data = fh.read(chars * 4 + 4)
    text = data.decode("utf-8", errors="replace")
    return text if len(text) <= chars else text[:chars] + " [...]"


def _failure(code: int, stderr: str, limits: PythonLimits) -> str:
    if code > 128 and code - 128 in _SIGNAL_NUMBERS:  # bwrap reports a signal death as 128 + signal
        code = 128 - code
    if code < 0:
        sig = signal.Signals(-code)
        template = _SIGNALS.get(sig, "killed by {name}")
        return template.format(cpu=limits.cpu_seconds, file_kb=limits.file_kb, name=sig.name)
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    return lines[-1].strip()[:300] if lines else f"exited with status {code}"
