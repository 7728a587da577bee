"""Start-up cost of the ``<python>`` tool's OS sandbox: milliseconds per call, median of N.

Run (the table in docs/security.md)::

    python eval/bench_sandbox.py                 # as the current user, 20 calls per row
    python eval/bench_sandbox.py --as-nobody     # also as user nobody (needs root and setpriv)

Rows, each timed from the parent's side (wall clock, ``time.perf_counter``):

* ``python -I -S -c pass``: a bare interpreter start, no sandbox (the floor);
* ``bwrap ... python -I -S -c pass``: the same inside the sandbox (namespaces, read-only
  root, ``/work`` tmpfs, seccomp filter), without the child's limits and audit hook;
* ``run_python("print(1)")``: one whole tool call as judgekit makes it (temp files, sandbox,
  child script with limits and audit hook, output read back).

Nothing here is a test: the numbers are read, not asserted. ``--as-nobody`` re-runs this
script under ``setpriv --reuid=65534`` with an interpreter ``nobody`` can start.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from judgekit.tools.pyrunner import run_python  # noqa: E402
from judgekit.tools.sandbox import bwrap_version, python_paths, sandbox_problem, sandboxed_popen  # noqa: E402


def _median_ms(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm the page cache
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def rows(n: int) -> list[tuple[str, float]]:
    """``(row name, median ms)`` for the three rows of the module docstring."""
    exe = python_paths()[0]

    def bare() -> None:
        subprocess.run([exe, "-I", "-S", "-c", "pass"], check=True)

    def sandboxed() -> None:
        proc = sandboxed_popen([exe, "-I", "-S", "-c", "pass"], 1 << 20, {}, stdin=subprocess.DEVNULL)
        if proc.wait() != 0:
            raise SystemExit("the sandboxed interpreter failed")

    def tool_call() -> None:
        out = run_python("print(1)")
        if not out.ok:
            raise SystemExit(f"run_python failed: {out.error}")

    return [("`python -I -S -c pass` (no sandbox)", _median_ms(bare, n)),
            ("`bwrap … python -I -S -c pass`", _median_ms(sandboxed, n)),
            ("`run_python(\"print(1)\")` (whole tool call)", _median_ms(tool_call, n))]


def main() -> None:
    """Print one markdown table row per measurement (and, with ``--as-nobody``, those as nobody)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--as-nobody", action="store_true")
    ap.add_argument("--header", action=argparse.BooleanOptionalAction, default=True)
    args = ap.parse_args()
    problem = sandbox_problem()
    if problem is not None:
        raise SystemExit(problem)
    user = "root" if os.geteuid() == 0 else f"uid {os.geteuid()}"
    if args.header:
        print(f"{bwrap_version()}, Python {platform.python_version()}, {platform.machine()}, "
              f"{os.cpu_count()} CPUs, median of {args.calls} calls\n")
        print("| user | what | ms per call |\n|---|---|---:|")
    for name, ms in rows(args.calls):
        print(f"| {user} | {name} | {ms:.1f} |", flush=True)
    if args.as_nobody:
        exe = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", exe, str(Path(__file__).resolve()),
               "--calls", str(args.calls), "--no-header"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd="/")
        print(out.stdout.replace("| uid 65534 |", "| nobody |"), end="")
        if out.returncode != 0:
            raise SystemExit(f"as nobody: {out.stderr.strip()}")


if __name__ == "__main__":
    main()
