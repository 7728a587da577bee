"""The operating-system sandbox of the ``<python>`` tool: bubblewrap plus a seccomp filter.

Model-written code never runs in judgekit's own process, file system view or network.
Each program runs under ``bwrap`` (bubblewrap, the sandbox Flatpak uses) with:

* new user, mount, PID, network, IPC, UTS and cgroup namespaces; inside, user and group
  ``nobody`` (65534) with every capability dropped, ``no_new_privs`` set, no further user
  namespaces (``--disable-userns``), its own session, killed when judgekit's side dies;
* a fresh root that is an empty read-only tmpfs holding only read-only binds of ``/usr``
  (with the ``/bin``, ``/lib``… links of a merged-``/usr`` system), ``/etc/ld.so.cache``,
  the Python installation, the child script and the program, plus a minimal ``/dev``:
  no ``/home``, ``/root``, ``/tmp``, ``/proc`` or ``/etc/passwd``, so no file of any user;
* a private working directory ``/work`` on a tmpfs of fixed size (the bound on the total
  bytes a program can write; it vanishes with the namespace, so no ``chmod`` can leave
  anything behind);
* no network: an empty network namespace (a down loopback only), and the ``socket``
  system call refused anyway;
* a seccomp filter (x86-64) that refuses, with ``EPERM``, every way to create a process or
  thread (``fork``, ``vfork``, ``clone``, ``clone3``) and the calls a sandbox escape needs
  (``mount``, ``ptrace``, ``unshare``, ``setns``, ``bpf``, ``io_uring``, keyrings, …).

Resource limits (CPU, memory, file size, open files, processes) are set by the child
script (``_sandbox_child.py``) before the program runs. Where bubblewrap is missing, user
namespaces are disabled, or the machine is not x86-64, :func:`sandbox_problem` says why
and the tool is refused: a program is never run without the sandbox.
"""

from __future__ import annotations

import os
import platform
import shutil
import struct
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

SANDBOX_UID = 65534
WORK = "/work"
SANDBOX_DIR = "/sandbox"  # the child script and the program, read-only
ROOT_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")

# x86-64 system call numbers refused with EPERM (see ``arch/x86/entry/syscalls/syscall_64.tbl``)
DENIED_X86_64 = {
    "clone": 56, "fork": 57, "vfork": 58, "clone3": 435,  # no new process or thread
    "socket": 41, "socketpair": 53,  # no sockets of any family
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
    "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308,
    "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "move_mount": 429, "open_tree": 428,
    "mount_setattr": 442, "open_by_handle_at": 304, "name_to_handle_at": 303,
    "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321, "perf_event_open": 298,
    "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "kexec_load": 246, "kexec_file_load": 320, "init_module": 175, "finit_module": 313,
    "delete_module": 176, "personality": 135, "acct": 163, "swapon": 167, "swapoff": 168,
    "reboot": 169, "iopl": 172, "ioperm": 173, "quotactl": 179, "syslog": 103,
}
AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
EPERM = 1

_LD_W_ABS, _JEQ_K, _JGE_K, _RET_K = 0x20, 0x15, 0x35, 0x06
_RET_ALLOW, _RET_ERRNO, _RET_KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000


def seccomp_filter() -> bytes:
    """The classic-BPF program bubblewrap loads (``--seccomp FD``): deny-list, x86-64 only.

    Layout: load ``seccomp_data.arch`` (offset 4), kill on any other architecture; load
    ``nr`` (offset 0), refuse the x32 ABI and each denied number with ``EPERM``; else allow.
    """
    def op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
        return struct.pack("<HBBI", code, jt, jf, k)

    denied = sorted(set(DENIED_X86_64.values()))
    prog = [op(_LD_W_ABS, 4), op(_JEQ_K, AUDIT_ARCH_X86_64, jt=1), op(_RET_K, _RET_KILL_PROCESS),
            op(_LD_W_ABS, 0), op(_JGE_K, X32_SYSCALL_BIT, jt=len(denied) + 1),
            *(op(_JEQ_K, nr, jt=len(denied) - i) for i, nr in enumerate(denied)),
            op(_RET_K, _RET_ALLOW), op(_RET_K, _RET_ERRNO | EPERM)]
    # the x32 jump and each match land on the final "errno" instruction
    return b"".join(prog)


def python_paths() -> tuple[str, tuple[str, ...]]:
    """The real interpreter (not a virtualenv's link) and the directories it needs, read-only."""
    exe = os.path.realpath(sys.executable)
    dirs = {os.path.realpath(p) for p in (sys.base_prefix, sys.base_exec_prefix)}
    if not any(exe.startswith(d.rstrip("/") + "/") for d in dirs):
        dirs.add(os.path.dirname(exe))
    return exe, tuple(sorted(d for d in dirs if not (d == "/usr" or d.startswith("/usr/"))))


def bwrap_command(bwrap: str, seccomp_fd: int, work_bytes: int, binds: dict[str, str]) -> list[str]:
    """The ``bwrap`` arguments (up to the command): namespaces, the read-only root, ``/work``.

    ``binds`` maps host files to paths under :data:`SANDBOX_DIR` (bound read-only).
    """
    cmd = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--uid", str(SANDBOX_UID),
           "--gid", str(SANDBOX_UID), "--cap-drop", "ALL", "--die-with-parent", "--new-session",
           "--hostname", "sandbox", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin",
           "--setenv", "LANG", "C.UTF-8", "--setenv", "HOME", WORK, "--setenv", "TMPDIR", WORK,
           "--setenv", "PYTHONHASHSEED", "0", "--ro-bind", "/usr", "/usr"]
    for d in ROOT_DIRS:
        if os.path.islink(d):
            cmd += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            cmd += ["--ro-bind", d, d]
    if os.path.exists("/etc/ld.so.cache"):
        cmd += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    for d in python_paths()[1]:
        cmd += ["--ro-bind", d, d]
    for host, inside in binds.items():
        cmd += ["--ro-bind", host, inside]
    cmd += ["--dev", "/dev", "--remount-ro", "/dev",
            "--size", str(work_bytes), "--perms", "0700", "--tmpfs", WORK, "--chdir", WORK,
            "--remount-ro", "/", "--seccomp", str(seccomp_fd), "--"]
    return cmd


def sandboxed_popen(argv: list[str], work_bytes: int, binds: dict[str, str],
                    **popen: object) -> subprocess.Popen[bytes]:
    """Start ``argv`` inside the sandbox (``bwrap`` must be available: see :func:`sandbox_problem`)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise FileNotFoundError("bwrap")
    read, write = os.pipe()
    try:
        os.write(write, seccomp_filter())  # a few hundred bytes: well under a pipe's buffer
        os.close(write)
        write = -1
        cmd = bwrap_command(bwrap, read, work_bytes, binds) + argv
        return subprocess.Popen(cmd, pass_fds=(read,), **popen)  # type: ignore[call-overload,no-any-return]
    finally:
        os.close(read)
        if write >= 0:
            os.close(write)


@lru_cache(maxsize=1)
def sandbox_problem() -> str | None:
    """Why programs cannot be sandboxed here (``None`` when they can). Probed once per process.

    The probe starts the real sandbox on a one-line program and checks that it runs as
    ``nobody`` inside with no network interface but loopback.
    """
    if sys.platform != "linux":
        return f"the python tool's sandbox needs Linux (this is {sys.platform})"
    if platform.machine() not in ("x86_64", "AMD64"):
        return f"the python tool's seccomp filter covers x86-64 only (this machine is {platform.machine()})"
    if shutil.which("bwrap") is None:
        return "the python tool needs bubblewrap (bwrap) on PATH: run scripts/install_sandbox.sh"
    exe, _ = python_paths()
    with tempfile.TemporaryDirectory(prefix="judgekit-probe-") as tmp:
        probe = Path(tmp) / "probe.py"
        probe.write_text("import os\nprint(os.getuid(), sorted(os.listdir('/')))\n", encoding="utf-8")
        try:
            proc = sandboxed_popen([exe, "-I", "-S", f"{SANDBOX_DIR}/probe.py"], 1 << 20,
                                   {str(probe): f"{SANDBOX_DIR}/probe.py"},
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            out, err = proc.communicate(timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap could not start the sandbox: {exc}"
    if proc.returncode != 0:
        detail = err.decode(errors="replace").strip().splitlines()
        return ("bubblewrap could not start the sandbox (user namespaces disabled?): "
                + (detail[-1] if detail else f"exit status {proc.returncode}"))
    if not out.decode().startswith(f"{SANDBOX_UID} "):
        return f"the sandbox probe ran with an unexpected identity: {out.decode()[:80]!r}"
    return None


@lru_cache(maxsize=1)
def bwrap_version() -> str:
    """``bubblewrap 0.8.0`` (recorded with each judgment), or ``unknown``."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "missing"
    try:
        out = subprocess.run([bwrap, "--version"], capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.decode(errors="replace").strip() or "unknown"
