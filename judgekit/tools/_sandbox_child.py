"""Child side of the ``<python>`` tool: set limits, add the audit hook, then run the code.

Started by :mod:`judgekit.tools.pyrunner` inside the bubblewrap sandbox of
:mod:`judgekit.tools.sandbox` (already ``nobody`` in its own namespaces, no capabilities,
read-only root, seccomp filter) as ``python -I -S /sandbox/child.py CODE_FILE CPU AS FSIZE``,
with ``/work`` (a private tmpfs) as its working directory. Standalone: it imports nothing
from judgekit (``-I -S`` puts neither the project nor site-packages on ``sys.path``).

1. resource limits: CPU seconds, address space, file size, 32 open files, no core dumps,
   and ``RLIMIT_NPROC`` = 0 (no new process or thread, on top of the seccomp filter);
2. an audit hook refuses, at the Python level, sockets, subprocesses, ``fork``/``exec``,
   ``ctypes``, signals to other processes, reads outside ``/work`` and the Python
   installation, and any write or file-system change outside ``/work``. It is a second
   layer only: code in the same interpreter can reach it (CPython documents audit hooks
   as unsuitable for sandboxing); the kernel enforces everything that matters.
"""

import os
import resource
import sys

BLOCKED_PREFIXES = ("socket.", "ctypes.", "subprocess.", "os.exec", "os.spawn", "os.posix_spawn", "pty.")
BLOCKED_EVENTS = {"os.system", "os.fork", "os.forkpty", "os.kill", "os.killpg", "_posixsubprocess.fork_exec"}
BLOCKED_IMPORTS = {"socket", "_socket", "ctypes", "_ctypes", "subprocess", "_posixsubprocess", "multiprocessing",
                   "_multiprocessing", "ssl", "_ssl", "pty", "signal", "_signal"}
PATH_EVENTS = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.symlink", "os.link",
               "os.truncate", "os.utime", "os.chflags", "os.lchflags", "os.mkfifo", "os.mknod", "shutil.rmtree"}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def main() -> None:
    """Apply every limit, then execute the code file as ``__main__``."""
    code_file, cpu, mem, fsize = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU at the soft limit, SIGKILL a second later
    for limit, value in ((resource.RLIMIT_AS, mem), (resource.RLIMIT_FSIZE, fsize),
                         (resource.RLIMIT_NOFILE, 32), (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(limit, (value, value))
    with open(code_file, encoding="utf-8") as fh:
        source = fh.read()
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    work = os.path.realpath(os.getcwd())
    readable = tuple({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
    sys.addaudithook(make_hook(work, readable))
    code = compile(source, "<python>", "exec")
    exec(code, {"__name__": "__main__", "__builtins__": __builtins__})  # noqa: S102 - this is the sandboxed tool


def make_hook(work: str, readable: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """The audit hook (see the module docstring); it raises ``PermissionError`` to refuse."""
    busy: list[int] = []

    def inside(path: object, roots: tuple[str, ...]) -> bool:
        if isinstance(path, int):
            return True  # an already-open descriptor
        full = os.path.realpath(os.fsdecode(path))  # type: ignore[arg-type]
        return any(full == r or full.startswith(r.rstrip(os.sep) + os.sep) for r in roots)

    def hook(event: str, args: tuple) -> None:  # type: ignore[type-arg]
        if busy:
            return
        busy.append(1)
        try:
            check(event, args)
        finally:
            busy.pop()

    def check(event: str, args: tuple) -> None:  # type: ignore[type-arg]
        if event in BLOCKED_EVENTS or event.startswith(BLOCKED_PREFIXES):
            raise PermissionError(f"sandbox: {event} is not allowed")
        if event == "import" and args[0].partition(".")[0] in BLOCKED_IMPORTS:
            raise PermissionError(f"sandbox: import {args[0]} is not allowed")
        if event == "open" and args[0] is not None:
            path, mode, flags = args
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool((flags or 0) & WRITE_FLAGS)
            if not inside(path, (work,) if writes else (work, *readable)):
                raise PermissionError(f"sandbox: {'writing' if writes else 'reading'} {path!r} is not allowed")
        if event in PATH_EVENTS:
            paths = [a for a in args[:2] if isinstance(a, (str, bytes, os.PathLike))]
            if not all(inside(p, (work,)) for p in paths):
                raise PermissionError(f"sandbox: {event} outside the working directory is not allowed")

    return hook


if __name__ == "__main__":
    main()
