"""The ``<python>`` runner: the OS sandbox holds after the audit hook is switched off from inside,
and every limit stops its program with a clear error, in bounded time.

Each attack runs twice: with judgekit as root and as an ordinary user (``nobody``, through
``setpriv``; when the suite itself runs unprivileged, in-process). Every attack program first
switches the audit hook off (the gc-closure or the writable-globals trick that worked on the
hook-only sandbox), so what stops it is the kernel. The network attempt only ever targets a
listener this test opens on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from judgekit.cli import app
from judgekit.tools import ToolError, get_tools
from judgekit.tools import sandbox as sandbox_mod
from judgekit.tools.pyrunner import PythonLimits, RunOutcome, run_python, sandbox_info

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534
SECRET = "TOP-SECRET-29"
# a generous wall limit: on a loaded machine one CPU second can take several wall seconds
FAST = PythonLimits(cpu_seconds=1, wall_seconds=60.0, memory_mb=128)

# switches the audit hook off through its closure, reachable with gc (the hook-only sandbox's hole)
GC_BYPASS = """
import gc
for obj in gc.get_objects():
    if callable(obj) and getattr(obj, "__name__", "") == "hook" and getattr(obj, "__closure__", None):
        for cell in obj.__closure__:
            if type(cell.cell_contents) is list:
                cell.cell_contents.append(1)
"""
# the same through writable globals: the hook's realpath and its deny-lists in sys.modules['__main__']
GLOBALS_BYPASS = """
import os, sys
os.path.realpath = lambda path, *args, **kwargs: os.getcwd()
main = sys.modules["__main__"]
for name in ("BLOCKED_PREFIXES", "BLOCKED_EVENTS", "BLOCKED_IMPORTS", "PATH_EVENTS"):
    setattr(main, name, type(getattr(main, name, ()))())
"""
NONROOT_RUNNER = """
import json, sys, tempfile
sys.path.insert(0, sys.argv[1])
tempfile.tempdir = sys.argv[2]
from judgekit.tools.pyrunner import PythonLimits, run_python
request = json.loads(sys.stdin.read())
out = run_python(request["code"], PythonLimits(**request["limits"]))
print(json.dumps({"ok": out.ok, "stdout": out.stdout, "error": out.error}))
"""

NONROOT_PROBE = """
import os, sys
sys.path.insert(0, {root!r})
from judgekit.tools.sandbox import python_paths
exe, dirs = python_paths()
assert os.access(exe, os.X_OK) and all(os.access(d, os.R_OK | os.X_OK) for d in dirs)
"""

Runner = Callable[..., RunOutcome]


def _nonroot_python() -> str | None:
    """An interpreter ``nobody`` can start (the suite's own may live under root's home)."""
    for exe in dict.fromkeys((sys.executable, os.path.realpath(sys.executable), "/usr/bin/python3")):
        probe = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", exe, "-I",
                                "-c", NONROOT_PROBE.format(root=str(ROOT))],
                               capture_output=True, check=False, timeout=120)
        if probe.returncode == 0:
            return exe
    return None


@pytest.fixture(params=["root", "non-root"])
def as_user(request: pytest.FixtureRequest, python_sandbox: None,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Runner, Path, Path]]:
    """``(run, home, tmp)``: a runner as that user, a 0700 home dir of that user holding a 0600
    secret, and the private temp dir the runner uses (checked empty afterwards)."""
    root = os.geteuid() == 0
    if request.param == "root" and not root:
        pytest.skip("the suite is not running as root")
    via_setpriv = request.param == "non-root" and root
    if via_setpriv and shutil.which("setpriv") is None:
        if os.environ.get("CI"):
            pytest.fail("setpriv (util-linux) is needed to run the sandbox tests as a non-root user")
        pytest.skip("no setpriv to run the sandbox tests as a non-root user")
    nonroot_exe = _nonroot_python() if via_setpriv else None
    if via_setpriv and nonroot_exe is None:
        pytest.fail("no Python interpreter that user nobody can run (needed for the non-root sandbox test)")
    base = Path(tempfile.mkdtemp(prefix="judgekit-test-"))
    home, tmp = base / "home", base / "tmp"
    home.mkdir(mode=0o700)
    tmp.mkdir(mode=0o700)
    (home / "secret.txt").write_text(SECRET)
    (home / "secret.txt").chmod(0o600)
    if via_setpriv:
        base.chmod(0o755)
        for p in (home, tmp, home / "secret.txt"):
            os.chown(p, NOBODY, NOBODY)

    def run(code: str, limits: PythonLimits = FAST) -> RunOutcome:
        if not via_setpriv:
            with monkeypatch.context() as m:
                m.setattr(tempfile, "tempdir", str(tmp))
                return run_python(code, limits)
        request = json.dumps({"code": code, "limits": vars(limits)})
        proc = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                               str(nonroot_exe), "-I", "-c", NONROOT_RUNNER, str(ROOT), str(tmp)],
                              input=request, capture_output=True, text=True, check=False, timeout=600)
        assert proc.returncode == 0, proc.stderr
        return RunOutcome(**json.loads(proc.stdout))

    yield run, home, tmp
    left = sorted(p.name for p in tmp.iterdir())
    shutil.rmtree(base)
    assert left == [], f"left behind in the temp dir: {left}"


def test_gc_closure_bypass_reads_no_system_file(as_user) -> None:  # type: ignore[no-untyped-def]
    run, _, _ = as_user
    out = run(GC_BYPASS + "print(open('/etc/passwd').read())")
    assert not out.ok and "root:" not in out.stdout and "No such file" in (out.error or ""), out


def test_writable_globals_bypass_reads_no_user_file(as_user) -> None:  # type: ignore[no-untyped-def]
    run, home, _ = as_user
    out = run(GLOBALS_BYPASS + f"print(open({str(home / 'secret.txt')!r}).read())")
    assert not out.ok and SECRET not in out.stdout, out


def test_a_0600_file_of_the_invoking_user_is_out_of_reach(as_user) -> None:  # type: ignore[no-untyped-def]
    run, home, _ = as_user
    code = GC_BYPASS + f"import os\nprint(os.listdir({str(home)!r}))\nprint(open({str(home / 'secret.txt')!r}).read())"
    out = run(code)
    assert not out.ok and SECRET not in out.stdout and "secret.txt" not in out.stdout, out
    assert "No such file" in (out.error or ""), out


def test_nothing_is_written_outside_the_work_dir(as_user) -> None:  # type: ignore[no-untyped-def]
    run, home, tmp = as_user
    shared = Path("/tmp") / f"judgekit-escaped-{uuid.uuid4().hex}.txt"
    try:
        for target in (home / "escaped.txt", tmp / "escaped.txt", shared):
            out = run(GC_BYPASS + f"open({str(target)!r}, 'w').write('x')")
            assert not out.ok and not target.exists(), out
    finally:
        shared.unlink(missing_ok=True)
    out = run(GC_BYPASS + f"import os\nos.mkdir({str(home / 'd')!r})")
    assert not out.ok and not (home / "d").exists(), out


def test_no_connection_even_to_localhost(as_user) -> None:  # type: ignore[no-untyped-def]
    run, _, _ = as_user
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    try:
        out = run(GC_BYPASS + GLOBALS_BYPASS +
                  f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=5)\nprint('connected')")
        assert not out.ok and "connected" not in out.stdout, out
        with pytest.raises(OSError):  # nothing ever connected
            server.accept()
    finally:
        server.close()


def test_no_new_process(as_user) -> None:  # type: ignore[no-untyped-def]
    run, _, _ = as_user
    code = GC_BYPASS + GLOBALS_BYPASS + "import os\nfor _ in range(50):\n    if os.fork() == 0:\n        print('child')"
    out = run(code)
    assert not out.ok and "child" not in out.stdout and "Operation not permitted" in (out.error or ""), out


def test_total_bytes_written_are_bounded(as_user) -> None:  # type: ignore[no-untyped-def]
    run, _, _ = as_user
    code = "chunk = b'x' * (200 << 10)\nfor i in range(5000):  # 1 GB in files under the per-file limit\n" \
           "    with open(f'f{i}', 'wb') as fh:\n        fh.write(chunk)\nprint('wrote 1 GB')"
    out = run(code, PythonLimits(cpu_seconds=20, wall_seconds=120.0, memory_mb=128))
    assert not out.ok and "wrote" not in out.stdout and "No space left on device" in (out.error or ""), out


def test_a_chmod_0_dir_leaves_nothing_behind(as_user) -> None:  # type: ignore[no-untyped-def]
    run, _, _ = as_user  # the fixture checks that the temp dir is empty afterwards
    code = GC_BYPASS + "import os\nos.makedirs('d/e')\nopen('d/e/f', 'w').write('x' * 1000)\n" \
                       "os.chmod('d/e', 0)\nos.chmod('d', 0)\nos.chmod('.', 0)\nprint('locked')"
    out = run(code)
    assert out.ok and out.stdout.strip() == "locked", out


def test_the_tool_is_refused_without_the_sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on PATH
    sandbox_mod.sandbox_problem.cache_clear()
    try:
        with pytest.raises(ToolError) as info:
            get_tools(["calc", "python"])
        assert "needs bubblewrap" in str(info.value) and "\n" not in str(info.value)
        out = run_python("print('ran')", FAST)
        assert not out.ok and out.stdout == "" and (out.error or "").startswith("refused: ")
        assert [t.name for t in get_tools(["calc"])] == ["calc"]  # the calculator needs no sandbox
        result = CliRunner().invoke(app, ["judge", str(ROOT / "examples" / "verify.jsonl"), "--backend", "fake",
                                          "-p", "tool-verify", "--option", "tools=calc,python",
                                          "-o", str(tmp_path / "run")])
        assert result.exit_code == 2 and "python refused" in result.output, result.output
        assert not (tmp_path / "run" / "results.jsonl").exists()
    finally:
        sandbox_mod.sandbox_problem.cache_clear()


@pytest.mark.usefixtures("python_sandbox")
def test_a_program_runs_and_prints() -> None:
    out = run_python("import math\nprint(sum(range(10)), math.isqrt(49))", FAST)
    assert out.ok and out.stdout.strip() == "45 7" and out.error is None
    assert sandbox_info()["isolation"] == "bubblewrap+seccomp"


@pytest.mark.usefixtures("python_sandbox")
def test_files_inside_its_own_work_dir_are_allowed() -> None:
    out = run_python("open('a.txt', 'w').write('hi')\nprint(open('a.txt').read())", FAST)
    assert out.ok and out.stdout.strip() == "hi"


@pytest.mark.usefixtures("python_sandbox")
@pytest.mark.parametrize(("code", "error"), [
    ("while True:\n    pass", "CPU time limit (1 s) exceeded"),
    ("x = bytearray(10**10)", "MemoryError"),
    ("chunks = []\nwhile True:\n    chunks.append(' ' * 10**6)", "MemoryError"),
    ("import os\nwhile True:\n    os.fork()", "os.fork is not allowed"),
    ("import os\nos.system('true')", "os.system is not allowed"),
    ("import subprocess", "import subprocess is not allowed"),
    ("import ctypes", "import ctypes is not allowed"),
    ("import _thread\n_thread.start_new_thread(print, ('x',))", "can't start new thread"),
    ("print(open('/etc/hostname').read())", "reading '/etc/hostname' is not allowed"),
    ("while True:\n    print('x' * 1000)", "File too large"),
    ("print(", "SyntaxError"),
    ("raise SystemExit(3)", "exited with status 3"),
])
def test_limits_stop_the_program_with_a_clear_error(code: str, error: str) -> None:
    out = run_python(code, FAST)
    assert not out.ok and out.error is not None and error in out.error, out


@pytest.mark.usefixtures("python_sandbox")
def test_wall_time_limit_stops_a_sleeping_program() -> None:
    out = run_python("import time\ntime.sleep(600)", PythonLimits(wall_seconds=2.0))
    assert not out.ok and out.error == "wall time limit (2 s) exceeded"


@pytest.mark.usefixtures("python_sandbox")
def test_the_tool_reports_errors_as_results() -> None:
    (py,) = get_tools(["python"], FAST)
    assert py.run("print(6*7)").output == "42"
    assert py.run("x = 1").output == "(no output; use print)"
    bad = py.run("1/0")
    assert not bad.ok and bad.output == "error: ZeroDivisionError: division by zero"
    with pytest.raises(ToolError, match="unknown tool"):
        get_tools(["shell"])
