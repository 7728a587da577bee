"""Start a local llama.cpp server (``llama-cpp-python[server]``) on 127.0.0.1 for a GGUF file.

Used by the HTTP backend's integration tests and by ``eval/bench_engines.py``; users
who serve models themselves do not need it (``scripts/start_llamacpp.sh`` does the
same from a shell). The server speaks the OpenAI API at ``http://127.0.0.1:PORT/v1``.

A server that crashes (at start, or on its first inference: llama.cpp's AMX kernels
in a natively built ``libggml-cpu`` die on virtualized Sapphire / Granite Rapids
CPUs) is reported once, with the likely cause and the fix (:func:`crash_message`).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER_MODULES = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context", "pydantic_settings")
# A build that runs on every x86-64 CPU this project meets: no -march=native, AVX2 yes, AVX-512 and AMX no.
PORTABLE_CMAKE_ARGS = (
    "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON "
    "-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
)
CRASH_SIGNALS = frozenset({"SIGSEGV", "SIGILL", "SIGBUS", "SIGABRT", "SIGFPE"})


class ServerStartError(RuntimeError):
    """The server exited or did not answer in time; the message ends with its log."""


def missing_server_modules() -> list[str]:
    """Modules of ``llama-cpp-python[server]`` that are not importable (empty when installed)."""
    return [m for m in SERVER_MODULES if importlib.util.find_spec(m) is None]


def exit_signal(returncode: int) -> str | None:
    """Name of the signal that ended a process (``-11`` from Python, ``139`` from a shell), else None."""
    number = -returncode if returncode < 0 else returncode - 128 if 128 < returncode < 160 else 0
    try:
        return signal.Signals(number).name if number else None
    except ValueError:
        return f"signal {number}"


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str]:
    """The CPU feature flags of ``/proc/cpuinfo`` (empty where there is none)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return frozenset()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def llama_build_info(python: str = sys.executable) -> str | None:
    """``llama_print_system_info()`` of the installed llama-cpp-python (its CPU features), or None.

    Run in a subprocess: loading a crashing build must not take the caller down.
    """
    code = "import llama_cpp; print(llama_cpp.llama_print_system_info().decode().strip())"
    try:
        done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def crash_message(returncode: int, when: str, *, flags: frozenset[str], build_info: str | None) -> str:
    """One message for a llama.cpp server that died: what happened, the likely cause, the fix."""
    sig = exit_signal(returncode)
    head = f"llama.cpp server {when} and exited with {sig or 'status'} ({returncode})."
    has_amx = bool({"amx_tile", "amx_int8", "amx_bf16"} & flags)
    built_amx = build_info is not None and "AMX" in build_info
    if has_amx and (built_amx or build_info is None):
        cause = ("Likely cause: llama-cpp-python was built natively on this AMX CPU, and llama.cpp's AMX "
                 "kernels crash (general protection fault at ldtilecfg in libggml-cpu) on virtualized "
                 "Sapphire/Granite Rapids machines.")
    elif sig == "SIGILL":
        cause = ("Likely cause: the library uses CPU instructions this machine lacks (a build made natively "
                 "on another CPU, or a CPU without AVX2).")
    elif sig in CRASH_SIGNALS:
        cause = "The llama.cpp library crashed; a portable rebuild rules out CPU-specific kernels."
    else:
        cause = "See the server log below."
    fix = (f'Fix: rebuild it portably: CMAKE_ARGS="{PORTABLE_CMAKE_ARGS}" pip install --no-cache-dir '
           "--force-reinstall --no-deps llama-cpp-python (or scripts/build_llamacpp.sh); see docs/engines.md, "
           "'llama.cpp on AMX CPUs'.")
    build = f"\nInstalled build: {build_info}" if build_info else ""
    return f"{head}\n{cause}\n{fix}{build}" if sig else f"{head}\n{cause}{build}"


def explain_exit(returncode: int, when: str) -> str:
    """:func:`crash_message` for this machine's CPU and installed llama-cpp-python."""
    return crash_message(returncode, when, flags=cpu_flags(), build_info=llama_build_info())


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
    server_bin: str | Path | None = None,
    parallel: int = 1,
) -> Iterator[str]:
    """Serve ``model`` with ``python -m llama_cpp.server``; yield its ``/v1`` URL; stop it on exit.

    With ``server_bin`` (llama.cpp's C++ ``llama-server``, see ``scripts/build_llama_server.sh``)
    that binary serves instead, with ``parallel`` slots of ``n_ctx`` tokens each and
    continuous batching.

    One thread by default: llama.cpp's threads spin on barriers, which collapses
    throughput on a small shared machine, and a 135M model is fast on one core.
    Before yielding, one 1-token completion proves inference works: a server that
    dies then (or at start) raises :class:`ServerStartError` with :func:`crash_message`.
    """
    import httpx

    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="llamacpp_server_", suffix=".log", delete=False)  # noqa: SIM115
    if server_bin is not None:
        cmd = [
            str(server_bin), "--model", str(model), "--alias", alias, "--host", "127.0.0.1", "--port", str(port),
            "--ctx-size", str(n_ctx * parallel), "--parallel", str(parallel), "--threads", str(threads),
            "--threads-batch", str(threads), "--no-webui",
        ]
    else:
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
                raise ServerStartError(f"{explain_exit(proc.returncode, 'exited at start')}\nLog:\n{log_tail()}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ServerStartError(f"llama.cpp server not ready after {startup_timeout_s:.0f}s:\n{log_tail()}")
            time.sleep(0.5)
        _first_inference(proc, url, alias, startup_timeout_s, log_tail)
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


def _first_inference(
    proc: subprocess.Popen[bytes], url: str, alias: str, timeout_s: float, log_tail: Callable[[], str]
) -> None:
    """One greedy 1-token completion; a crash or failure raises :class:`ServerStartError`."""
    import httpx

    body = {"model": alias, "prompt": "Hello", "max_tokens": 1, "temperature": 0.0}
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            resp = httpx.post(f"{url}/completions", json=body, timeout=timeout_s)
            problem = None if resp.status_code == 200 else f"HTTP {resp.status_code}: {resp.text[:300]}"
        except httpx.HTTPError as exc:
            problem, resp = f"{type(exc).__name__}: {exc}", None
        if problem is None:
            return
        if resp is None or resp.status_code != 503 or time.monotonic() > deadline or proc.poll() is not None:
            break
        time.sleep(0.5)  # llama-server answers 503 while it loads the model
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        raise ServerStartError(f"llama.cpp server failed its first request ({problem}):\n{log_tail()}") from None
    message = explain_exit(proc.returncode, "died on its first request")
    raise ServerStartError(f"{message}\nLog:\n{log_tail()}")
