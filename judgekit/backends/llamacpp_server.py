"""Start a local llama.cpp server (``llama-cpp-python[server]``) on 127.0.0.1 for a GGUF file.

Used by the HTTP backend's integration tests and by ``eval/bench_engines.py``; users
who serve models themselves do not need it (``scripts/start_llamacpp.sh`` does the
same from a shell). The server speaks the OpenAI API at ``http://127.0.0.1:PORT/v1``.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")


class ServerStartError(RuntimeError):
    """The server exited or did not answer in time; the message ends with its log."""


def missing_server_modules() -> list[str]:
    """Modules of ``llama-cpp-python[server]`` that are not importable (empty when installed)."""
    return [m for m in SERVER_MODULES if importlib.util.find_spec(m) is None]


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_gguf(
    model: Path,
    *,
    alias: str = "smollm2",
    threads: int = 1,
    n_ctx: int = 2048,
    startup_timeout_s: float = 180.0,
) -> Iterator[str]:
    """Serve ``model`` with ``python -m llama_cpp.server``; yield its ``/v1`` URL; stop it on exit.

    One thread by default: llama.cpp's threads spin on barriers, which collapses
    throughput on a small shared machine, and a 135M model is fast on one core.
    """
    import httpx

    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="llamacpp_server_", suffix=".log", delete=False)  # noqa: SIM115
    cmd = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", alias,
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(threads),
        "--verbose", "False",
    ]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"

    def log_tail() -> str:
        return Path(log.name).read_text(errors="replace")[-3000:]

    try:
        deadline = time.monotonic() + startup_timeout_s
        while True:
            if proc.poll() is not None:
                raise ServerStartError(f"llama.cpp server exited with {proc.returncode}:\n{log_tail()}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ServerStartError(f"llama.cpp server not ready after {startup_timeout_s:.0f}s:\n{log_tail()}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()
        os.unlink(log.name)
