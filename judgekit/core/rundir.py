"""Run directories: creation, the exclusive lock, link-safe writes and torn-row-safe resume.

Shared by ``judgekit judge`` (:mod:`judgekit.judge`) and ``judgekit reward``
(:mod:`judgekit.reward.policy`), so both follow one set of rules:

* one run at a time: an exclusive ``flock`` on ``run_dir/.lock`` (a second run into
  the same directory fails at once with :class:`RunDirError`);
* no symbolic link inside a run directory is ever followed: files judgekit reads
  or appends to are opened with ``O_NOFOLLOW`` (a planted link is an error naming
  it), and files it writes afresh (``*.tmp``, a new partial file) replace a link
  with a regular file instead of writing through it;
* a partial file starts with a header carrying the run's fingerprint; resume keeps
  its rows only when the fingerprint matches (:func:`resume_rows`);
* resume reads the partial file as bytes: a row torn by ``kill -9`` or a full disk -
  even one cut inside a multi-byte UTF-8 character - is dropped (the file is cut
  back to its last complete line), a complete line that is not valid UTF-8 JSON is
  skipped, and the run goes on.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from judgekit.core.errors import ConfigError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class RunDirError(ConfigError):
    """The run directory cannot be used: not a directory, not writable, in use, or holding a link."""


def check_out_arg(value: str | os.PathLike[str] | None, flag: str = "-o/--out") -> None:
    """Refuse an empty ``-o`` (it would silently mean the current directory)."""
    if value is not None and not str(value).strip():
        raise RunDirError(f"{flag} is empty: name a run directory")


def prepare_dir(run_dir: Path) -> None:
    """Create ``run_dir`` (with parents) and check it is a writable directory."""
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: exists and is not a directory (-o names a run directory)")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunDirError(f"{run_dir}: cannot create the run directory ({exc.strerror or exc})") from exc
    if not os.access(run_dir, os.W_OK | os.X_OK):
        raise RunDirError(f"{run_dir}: run directory is not writable")


def _open_fd(path: Path, flags: int) -> int:
    try:
        return os.open(path, flags | _NOFOLLOW, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP or path.is_symlink():
            raise RunDirError(f"{path}: is a symbolic link; judgekit never follows links in a run directory "
                              "(remove it)") from None
        raise


def open_append(path: Path, binary: bool = False) -> IO[Any]:
    """Open ``path`` for appending (created if missing); a symbolic link is a :class:`RunDirError`."""
    fd = _open_fd(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    return os.fdopen(fd, "ab") if binary else os.fdopen(fd, "a", encoding="utf-8", newline="\n")


def open_fresh(path: Path) -> IO[str]:
    """Open ``path`` for writing from scratch; a link there is replaced by a new file, never followed."""
    with contextlib.suppress(FileNotFoundError):
        if path.is_symlink():
            path.unlink()
    fd = _open_fd(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    return os.fdopen(fd, "w", encoding="utf-8", newline="\n")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through ``path.tmp`` and a rename (links replaced, never followed)."""
    tmp = path.with_name(path.name + ".tmp")
    with open_fresh(tmp) as fh:
        fh.write(text)
    os.replace(tmp, path)  # rename replaces a link at ``path`` itself


def write_json(path: Path, data: Any) -> None:
    """``data`` as indented JSON at ``path``, atomically."""
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


@contextlib.contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``run_dir/.lock`` (fail fast if another run holds it)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        yield
        return
    with open_append(run_dir / ".lock") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise RunDirError(f"{run_dir}: another judgekit run is writing to this directory") from exc
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def supersede_finals(run_dir: Path, finals: Sequence[str]) -> Path | None:
    """Move an earlier run's final files into ``run_dir/superseded/N/``; return that folder."""
    present = [run_dir / name for name in finals if os.path.lexists(run_dir / name)]
    if not present:
        return None
    n = 1
    while (run_dir / "superseded" / str(n)).exists():
        n += 1
    dest = run_dir / "superseded" / str(n)
    dest.mkdir(parents=True)
    for f in present:
        os.replace(f, dest / f.name)  # moves a link itself, never its target
    return dest


def read_resume_rows(path: Path) -> list[Any] | None:
    """The JSON rows of a partial file (``None`` where a complete line is unreadable); None if absent.

    Reads bytes, never following a link. A torn last line (no newline: the write was
    cut) is dropped and the file is cut back to its last complete line, so the next
    row appended starts on a line of its own.
    """
    try:
        fd = _open_fd(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    rows: list[Any] = []
    with os.fdopen(fd, "r+b") as fh:
        complete = 0
        for line in fh:  # binary lines: split at b"\n" only
            if not line.endswith(b"\n"):
                break  # the torn tail
            complete += len(line)
            try:
                rows.append(json.loads(line.decode("utf-8")))
            except (UnicodeDecodeError, ValueError, RecursionError):
                rows.append(None)
        if fh.seek(0, os.SEEK_END) > complete:
            fh.truncate(complete)
    return rows


def resume_rows(path: Path, fingerprint: str, key: str) -> dict[str, dict[str, Any]]:
    """Finished rows of an interrupted run with the same ``fingerprint``, by their ``key`` field.

    The first line must be the header carrying ``fingerprint``: a file whose header is
    torn, missing or different is discarded whole (its rows may come from another
    input). Later torn or unreadable lines are skipped (:func:`read_resume_rows`), and
    so are rows without a text ``key``.
    """
    rows = read_resume_rows(path)
    if not rows:
        return {}
    header = rows[0]
    if not isinstance(header, dict) or header.get("fingerprint") != fingerprint:
        return {}
    return {row[key]: row for row in rows[1:] if isinstance(row, dict) and isinstance(row.get(key), str)}


def open_partial(path: Path, fingerprint: str, resuming: bool) -> IO[str]:
    """The partial file to append rows to: kept when ``resuming``, else new with the fingerprint header."""
    if resuming:
        return open_append(path)
    fh = open_fresh(path)
    fh.write(json.dumps({"fingerprint": fingerprint}) + "\n")
    fh.flush()
    return fh


def write_jsonl(path: Path, rows: Iterable[Any]) -> None:
    """``rows`` as JSON lines at ``path``, atomically."""
    write_atomic(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
