"""A llama.cpp server that crashes is reported once, with the likely cause and the fix.

A fake ``llama_cpp.server`` (put first on ``PYTHONPATH``) answers ``/v1/models`` and then
kills itself with SIGSEGV on its first inference, as a native llama.cpp build does on
an AMX CPU, or dies with SIGILL at start; ``serve_gguf`` and ``scripts/start_llamacpp.sh``
must say so in one message instead of leaving clients to retry a dead port.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from judgekit.backends.llamacpp_server import (
    PORTABLE_CMAKE_ARGS,
    ServerStartError,
    cpu_flags,
    crash_message,
    exit_signal,
    free_port,
    serve_gguf,
)

ROOT = Path(__file__).resolve().parents[2]
FAKE_SERVER = '''
import json, os, signal, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

if os.environ["FAKE_LLAMACPP"] == "sigill-at-start":
    os.kill(os.getpid(), signal.SIGILL)
port = int(sys.argv[sys.argv.index("--port") + 1])

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"data": [{"id": "smollm2", "owned_by": "me"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # the first inference: a general protection fault in libggml-cpu
        os.kill(os.getpid(), signal.SIGSEGV)

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", port), Handler).serve_forever()
'''


@pytest.fixture
def fake_llamacpp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``llama_cpp`` package whose server crashes; first on ``PYTHONPATH`` for subprocesses."""
    server = tmp_path / "fake" / "llama_cpp" / "server"
    server.mkdir(parents=True)
    (server.parent / "__init__.py").write_text("")
    (server / "__init__.py").write_text("")
    (server / "__main__.py").write_text(FAKE_SERVER)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "fake"))
    return tmp_path / "model.gguf"


def test_exit_signal_reads_python_and_shell_statuses() -> None:
    assert exit_signal(-11) == "SIGSEGV" and exit_signal(139) == "SIGSEGV" and exit_signal(132) == "SIGILL"
    assert exit_signal(0) is None and exit_signal(1) is None


def test_crash_message_names_amx_and_the_fix() -> None:
    amx = frozenset({"avx512f", "amx_tile", "amx_int8", "amx_bf16"})
    native = "CPU : AVX = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | OPENMP = 1 |"
    msg = crash_message(-11, "died on its first request", flags=amx, build_info=native)
    assert msg.startswith("llama.cpp server died on its first request and exited with SIGSEGV (-11).")
    assert "AMX" in msg.splitlines()[1] and PORTABLE_CMAKE_ARGS in msg and "--no-cache-dir" in msg
    assert "llama.cpp on AMX CPUs" in msg and native in msg
    portable = "CPU : AVX = 1 | AVX2 = 1 | FMA = 1 |"
    no_amx = crash_message(-4, "exited at start", flags=frozenset({"avx2"}), build_info=portable)
    assert "instructions this machine lacks" in no_amx and "AMX kernels" not in no_amx
    clean_exit = crash_message(1, "exited at start", flags=amx, build_info=None)
    assert "status (1)" in clean_exit and "Fix:" not in clean_exit  # not a crash: the log says why


def test_cpu_flags_from_cpuinfo() -> None:
    text = "processor\t: 0\nflags\t\t: fpu avx2 amx_tile\nbugs\t\t:\n"
    assert cpu_flags(text) == frozenset({"fpu", "avx2", "amx_tile"})
    assert cpu_flags("no flags here") == frozenset()


def test_serve_gguf_reports_a_crash_on_the_first_request(fake_llamacpp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_LLAMACPP", "segv-on-first-request")
    t0 = time.monotonic()
    with pytest.raises(ServerStartError) as err, serve_gguf(fake_llamacpp, startup_timeout_s=60):
        pytest.fail("serve_gguf yielded a server that cannot run inference")
    message = str(err.value)
    assert message.startswith("llama.cpp server died on its first request and exited with SIGSEGV (-11).")
    assert PORTABLE_CMAKE_ARGS in message
    assert time.monotonic() - t0 < 60  # one report, no retry storm


def test_serve_gguf_reports_a_crash_at_start(fake_llamacpp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_LLAMACPP", "sigill-at-start")
    with pytest.raises(ServerStartError, match=r"exited at start and exited with SIGILL \(-4\)"), serve_gguf(
        fake_llamacpp, startup_timeout_s=60
    ):
        pytest.fail("serve_gguf yielded a dead server")


def test_start_script_explains_a_crash(fake_llamacpp: Path) -> None:
    env = {**os.environ, "FAKE_LLAMACPP": "sigill-at-start", "MODEL": str(fake_llamacpp), "N_THREADS": "1"}
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "start_llamacpp.sh"), str(free_port())],
        capture_output=True, text=True, timeout=120, env=env, cwd=ROOT, check=False,
    )
    assert done.returncode == 128 + 4
    assert "llama.cpp server crashed and exited with SIGILL (132)." in done.stderr
    assert PORTABLE_CMAKE_ARGS in done.stderr
