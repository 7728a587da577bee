"""The ``<python>`` runner: every limit stops its program with a clear error, in bounded time.

The network attempt only ever targets a listener this test opens on 127.0.0.1.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from judgekit.tools import ToolError, get_tools
from judgekit.tools.pyrunner import PythonLimits, run_python, sandbox_info

# a generous wall limit: on a loaded machine one CPU second can take several wall seconds
FAST = PythonLimits(cpu_seconds=1, wall_seconds=60.0, memory_mb=128)


def test_a_program_runs_and_prints() -> None:
    out = run_python("import math\nprint(sum(range(10)), math.isqrt(49))", FAST)
    assert out.ok and out.stdout.strip() == "45 7" and out.error is None


def test_files_inside_its_own_temp_dir_are_allowed() -> None:
    out = run_python("open('a.txt', 'w').write('hi')\nprint(open('a.txt').read())", FAST)
    assert out.ok and out.stdout.strip() == "hi"


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


def test_wall_time_limit_stops_a_sleeping_program() -> None:
    out = run_python("import time\ntime.sleep(600)", PythonLimits(wall_seconds=2.0))
    assert not out.ok and out.error == "wall time limit (2 s) exceeded"


def test_no_file_write_outside_the_temp_dir(tmp_path: Path) -> None:
    target = tmp_path / "escaped.txt"
    out = run_python(f"open({str(target)!r}, 'w').write('x')", FAST)
    assert not out.ok and "not allowed" in (out.error or "")
    assert not target.exists()
    out = run_python(f"import os\nos.mkdir({str(tmp_path / 'd')!r})", FAST)
    assert not out.ok and not (tmp_path / "d").exists()


def test_no_network_even_to_localhost() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    try:
        out = run_python(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)", FAST)
        assert not out.ok and "not allowed" in (out.error or "")
        with pytest.raises(OSError):  # nothing ever connected
            server.accept()
    finally:
        server.close()
    assert sandbox_info()["network"] in ("namespace", "audit-hook")


def test_the_tool_reports_errors_as_results() -> None:
    (py,) = get_tools(["python"], FAST)
    assert py.run("print(6*7)").output == "42"
    assert py.run("x = 1").output == "(no output; use print)"
    bad = py.run("1/0")
    assert not bad.ok and bad.output == "error: ZeroDivisionError: division by zero"
    with pytest.raises(ToolError, match="unknown tool"):
        get_tools(["shell"])
