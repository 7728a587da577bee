"""The fair batcher behind :mod:`judgekit.reward.server` (see that module's doc).

Every judge call (a *round*) takes at most ``max_batch_items`` items, shared out
between at most ``max_batch_requests`` waiting requests; a request with items left
goes to the back of the line, so a small request waits for one round at most. A
failed round is retried request by request, so a poisoned request fails alone.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class BatchLimits(Protocol):
    """The limits the batcher reads (``ServerLimits`` has them)."""

    @property
    def deadline_s(self) -> float: ...  # noqa: D102
    @property
    def batch_window_s(self) -> float: ...  # noqa: D102
    @property
    def max_batch_requests(self) -> int: ...  # noqa: D102
    @property
    def max_batch_items(self) -> int: ...  # noqa: D102


class RewardService(Protocol):
    """What a server serves: check one request, score items, answer one request."""

    def parse(self, payload: dict[str, Any]) -> Sequence[Any]:
        """One request's checked items; raise ConfigError (-> 400) when malformed."""

    def score(self, items: Sequence[Any]) -> list[Any]:
        """One result per item (items of several requests, in one judge call)."""

    def respond(self, results: Sequence[Any]) -> dict[str, Any]:
        """One request's JSON answer from its items' results, in order."""

    def health(self) -> dict[str, Any]:
        """What ``GET /health`` reports."""



@dataclass(eq=False)
class _Pending:
    items: Sequence[Any]
    deadline: float
    done: threading.Event = field(default_factory=threading.Event)
    results: list[Any] = field(default_factory=list)
    answer: dict[str, Any] | None = None
    error: str | None = None

    def fail(self, reason: str) -> None:
        self.error = reason
        self.done.set()


class Batcher:
    """One thread that shares judge calls fairly between queued requests (see the module doc)."""

    def __init__(self, service: RewardService, limits: BatchLimits) -> None:
        """Start the batching thread."""
        self.service, self.limits = service, limits
        self.queue: queue.Queue[_Pending | None] = queue.Queue()
        self.batches = 0
        self._active: list[_Pending] = []
        self._thread = threading.Thread(target=self._loop, name="judgekit-batcher", daemon=True)
        self._thread.start()

    def submit(self, items: Sequence[Any]) -> _Pending:
        """Queue checked items; wait on the returned item's ``done`` until its deadline."""
        item = _Pending(items, time.monotonic() + self.limits.deadline_s)
        if not items:
            item.answer = self.service.respond([])
            item.done.set()
            return item
        self.queue.put(item)
        return item

    def stop(self) -> None:
        """End the batching thread after the current round."""
        self.queue.put(None)
        self._thread.join(timeout=5)

    def _take(self, block: bool) -> bool:
        """Move queued requests to the active list; False once told to stop."""
        if block:  # idle: wait for one request, then the batch window for more
            first = self.queue.get()
            if first is None:
                return False
            self._active.append(first)
            until = time.monotonic() + self.limits.batch_window_s
            while len(self._active) < self.limits.max_batch_requests and \
                    sum(len(p.items) for p in self._active) < self.limits.max_batch_items:
                wait = until - time.monotonic()
                try:
                    nxt = self.queue.get(timeout=wait) if wait > 0 else self.queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    return False
                self._active.append(nxt)
            return True
        while True:
            try:
                nxt = self.queue.get_nowait()
            except queue.Empty:
                return True
            if nxt is None:
                return False
            self._active.append(nxt)

    def _round(self) -> list[tuple[_Pending, int, int]]:
        """Slices of the next round: (request, start, end), at most max_batch_items items in all."""
        now = time.monotonic()
        for p in [p for p in self._active if now >= p.deadline]:
            self._active.remove(p)
            p.fail("deadline passed before the request was judged")
        chosen = self._active[: self.limits.max_batch_requests]
        if not chosen:
            return []
        share = max(1, self.limits.max_batch_items // len(chosen))
        slices: list[tuple[_Pending, int, int]] = []
        budget = self.limits.max_batch_items
        atomic = bool(getattr(self.service, "atomic", False))  # e.g. group rewards: a request is never split
        for p in chosen:
            start = len(p.results)
            n = min(len(p.items) - start, share, budget)
            if atomic:
                n = len(p.items) - start
                if slices and n > budget:
                    break
            if n <= 0:
                break
            slices.append((p, start, start + n))
            budget -= n
        return slices

    def _score(self, slices: list[tuple[_Pending, int, int]]) -> None:
        flat = [item for p, start, end in slices for item in p.items[start:end]]
        try:
            results = self.service.score(flat)
            if len(results) != len(flat):
                raise RuntimeError(f"{len(results)} results for {len(flat)} items")
        except Exception as exc:  # noqa: BLE001 - a failed round must not kill the server or its neighbours
            if len(slices) == 1:
                slices[0][0].fail(f"judge failed ({type(exc).__name__}); the server keeps serving")
                return
            for one in slices:  # retry each request alone: only the poisoned one fails
                self._score([one])
            return
        pos = 0
        for p, start, end in slices:
            p.results.extend(results[pos : pos + end - start])
            pos += end - start

    def _finish(self, slices: list[tuple[_Pending, int, int]]) -> None:
        for p, _, _ in slices:
            if p.error is not None:
                self._active.remove(p)
            elif len(p.results) == len(p.items):
                self._active.remove(p)
                try:
                    p.answer = self.service.respond(p.results)
                except Exception as exc:  # noqa: BLE001 - one bad answer fails one request
                    p.fail(f"answer failed ({type(exc).__name__})")
                else:
                    p.done.set()
            else:  # items left: to the back of the line, so the others are served first
                self._active.remove(p)
                self._active.append(p)

    def _loop(self) -> None:
        while self._take(block=not self._active):
            slices = self._round()
            if not slices:
                continue
            self.batches += 1
            self._score(slices)
            self._finish(slices)
        for p in self._active:
            p.fail("the server is shutting down")


