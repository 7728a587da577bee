"""A persistent, append-only cache of model calls (SQLite, WAL mode).

Every key is a hash of everything that determines a call's output: backend model id,
template hash, rendered prompt, decoding parameters (without ``n``), sample index and
seed. Each write is committed at once, so a run killed with ``kill -9`` loses at most
the batch in flight, and a re-run only computes what is missing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from judgekit.core.errors import ConfigError


def default_cache_dir() -> Path:
    """``$JUDGEKIT_CACHE`` or ``~/.cache/judgekit``."""
    env = os.environ.get("JUDGEKIT_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "judgekit"


def default_call_cache_path() -> Path:
    """``$JUDGEKIT_CALL_CACHE/calls.sqlite`` or ``<default_cache_dir>/calls.sqlite``."""
    env = os.environ.get("JUDGEKIT_CALL_CACHE")
    return (Path(env) if env else default_cache_dir()) / "calls.sqlite"


def make_key(parts: Mapping[str, Any]) -> str:
    """Hash a JSON-serialisable mapping into a cache key (order independent)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class CacheError(ConfigError):
    """The call cache cannot be read or written (full disk, corrupt or locked file): one clear line."""


@contextlib.contextmanager
def _sqlite_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise CacheError(f"{path}: call cache failed ({exc}); free disk space, pass --cache-dir elsewhere "
                         "or --no-cache") from None


class CallCache:
    """Key -> JSON value store. Thread-safe; one connection per cache.

    Every SQLite failure (``database or disk is full``, a corrupt file) is a
    :class:`CacheError` naming the file.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with _sqlite_errors(self.path):
            self._open()

    def _open(self) -> None:
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, value TEXT, created REAL)")
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(calls)")}
        if "created" not in columns:  # a cache written before entries were dated: their age is unknown
            self._conn.execute("ALTER TABLE calls ADD COLUMN created REAL")
        self._conn.commit()

    def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """Return the cached values for the keys that are present."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        with self._lock, _sqlite_errors(self.path):
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT key, value FROM calls WHERE key IN ({marks})", chunk
                ).fetchall()
                found.update((k, json.loads(v)) for k, v in rows)
        return found

    def put_many(self, items: Mapping[str, Any]) -> None:
        """Store values and commit immediately."""
        if not items:
            return
        now = time.time()
        rows = [(k, json.dumps(v, ensure_ascii=False), now) for k, v in items.items()]
        with self._lock, _sqlite_errors(self.path):
            self._conn.executemany("INSERT OR REPLACE INTO calls (key, value, created) VALUES (?, ?, ?)", rows)
            self._conn.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def prune(self, older_than_s: float | None = None) -> int:
        """Delete entries written more than ``older_than_s`` seconds ago (all when None); returns the count.

        Entries from before entries were dated have no age and count as old. The file
        is vacuumed afterwards, so the space really comes back.
        """
        with self._lock, _sqlite_errors(self.path):
            if older_than_s is None:
                cur = self._conn.execute("DELETE FROM calls")
            else:
                cutoff = time.time() - older_than_s
                cur = self._conn.execute("DELETE FROM calls WHERE created IS NULL OR created < ?", (cutoff,))
            self._conn.commit()
            self._conn.execute("VACUUM")
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return int(cur.rowcount)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


def disk_size(path: Path) -> int:
    """Bytes under ``path`` (a file, with its SQLite ``-wal``/``-shm`` companions, or a directory)."""
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.is_file())
