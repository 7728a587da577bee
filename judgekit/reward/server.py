"""A hardened JSON reward server with dynamic batching (standard library only).

Used by the OpenRLHF remote-RM adapters. A :class:`RewardService` turns one JSON
request into checked work (:meth:`~RewardService.parse`, in the connection's
thread; a :class:`ConfigError` there is a 400 with its reason) and answers a
*batch* of checked requests at once (:meth:`~RewardService.answer`, in the single
batching thread). The batcher waits up to ``batch_window_s`` after the first
queued request for more (up to ``max_batch_items`` items), so concurrent clients
share one judge call. ``batch_window_s=0`` and ``max_batch_requests=1`` turn
batching off (one request per judge call).

Limits (:class:`ServerLimits`): a body size cap, a read timeout per connection (a
stalled client is dropped, it cannot hold a thread), at most ``max_connections``
connections at once (more get 503 and are closed), a per-request deadline (504
when the answer is not ready in time), and a bearer token, required when the
bind address is not loopback. Every malformed request - no or bad
``Content-Length``, chunked body, invalid UTF-8 or JSON, a body nested deeper
than ``max_depth``, wrong types - gets a 400 with the reason, and the server
keeps serving.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import json
import queue
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from judgekit.core.errors import ConfigError


@dataclass(frozen=True)
class ServerLimits:
    """Bounds that keep one bad or slow client from hurting the others."""

    max_body: int = 16 * 1024 * 1024
    max_depth: int = 32
    read_timeout_s: float = 10.0
    max_connections: int = 64
    deadline_s: float = 300.0
    batch_window_s: float = 0.01
    max_batch_requests: int = 64
    max_batch_items: int = 1024
    token: str | None = None

    def check(self, host: str) -> None:
        """Raise :class:`ConfigError` for settings that cannot work or are unsafe."""
        if min(self.max_body, self.max_depth, self.max_connections, self.max_batch_requests,
               self.max_batch_items) < 1:
            raise ConfigError("server limits must be >= 1")
        if self.read_timeout_s <= 0 or self.deadline_s <= 0 or self.batch_window_s < 0:
            raise ConfigError("read timeout and deadline must be > 0, batch window >= 0")
        if not is_loopback(host) and not self.token:
            raise ConfigError(f"binding {host!r} (not loopback) needs a token (--token-env)")


class RewardService(Protocol):
    """What a server serves: check one request, answer a batch of checked requests."""

    def parse(self, payload: dict[str, Any]) -> Any:
        """Checked work for one request; raise ConfigError (-> 400) when malformed."""

    def size(self, work: Any) -> int:
        """How many items a checked request holds (for the batch item cap)."""

    def answer(self, batch: Sequence[Any]) -> list[dict[str, Any]]:
        """One JSON answer per checked request, in order."""

    def health(self) -> dict[str, Any]:
        """What ``GET /health`` reports."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` names a loopback interface."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def json_depth(value: Any, limit: int) -> int:
    """Nesting depth of decoded JSON, stopping early once it exceeds ``limit``."""
    depth, level = 0, [value]
    while level:
        depth += 1
        if depth > limit:
            return depth
        nxt: list[Any] = []
        for v in level:
            if isinstance(v, dict):
                nxt.extend(v.values())
            elif isinstance(v, list):
                nxt.extend(v)
        level = nxt
    return depth - 1 if depth else 0


def decode_body(raw: bytes, max_depth: int) -> dict[str, Any]:
    """A JSON object from a request body; :class:`ConfigError` says what is wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"body is not UTF-8 (byte {exc.start})") from exc
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"body is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise ConfigError(f"body must be a JSON object, got {type(payload).__name__}")
    if json_depth(payload, max_depth) > max_depth:
        raise ConfigError(f"JSON nested deeper than {max_depth} levels")
    return payload


@dataclass
class _Pending:
    work: Any
    size: int
    deadline: float
    done: threading.Event = field(default_factory=threading.Event)
    answer: dict[str, Any] | None = None
    error: str | None = None


class Batcher:
    """One thread that gathers queued requests into batches and answers them."""

    def __init__(self, service: RewardService, limits: ServerLimits) -> None:
        """Start the batching thread."""
        self.service, self.limits = service, limits
        self.queue: queue.Queue[_Pending | None] = queue.Queue()
        self.batches = 0
        self._thread = threading.Thread(target=self._loop, name="judgekit-batcher", daemon=True)
        self._thread.start()

    def submit(self, work: Any) -> _Pending:
        """Queue checked work; wait on the returned item's ``done`` until its deadline."""
        item = _Pending(work, self.service.size(work), time.monotonic() + self.limits.deadline_s)
        self.queue.put(item)
        return item

    def stop(self) -> None:
        """End the batching thread after the current batch."""
        self.queue.put(None)
        self._thread.join(timeout=5)

    def _gather(self, first: _Pending) -> tuple[list[_Pending], bool]:
        batch, items = [first], first.size
        until = time.monotonic() + self.limits.batch_window_s
        while len(batch) < self.limits.max_batch_requests and items < self.limits.max_batch_items:
            wait = until - time.monotonic()
            try:
                nxt = self.queue.get(timeout=wait) if wait > 0 else self.queue.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                return batch, True
            batch.append(nxt)
            items += nxt.size
        return batch, False

    def _loop(self) -> None:
        stop = False
        while not stop:
            first = self.queue.get()
            if first is None:
                return
            batch, stop = self._gather(first)
            live = [p for p in batch if time.monotonic() < p.deadline]
            for p in batch:
                if p not in live:
                    p.error = "deadline passed before the request was judged"
                    p.done.set()
            if not live:
                continue
            self.batches += 1
            try:
                answers = self.service.answer([p.work for p in live])
            except Exception as exc:  # noqa: BLE001 - a failed batch must not kill the server
                for p in live:
                    p.error = f"judge failed: {type(exc).__name__}: {exc}"
                    p.done.set()
                continue
            for p, a in zip(live, answers, strict=True):
                p.answer = a
                p.done.set()


class RewardHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with a connection cap, a batcher and daemon threads."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], service: RewardService, limits: ServerLimits) -> None:
        """Bind, and start the batcher."""
        limits.check(address[0])
        self.service, self.limits = service, limits
        self.slots = threading.BoundedSemaphore(limits.max_connections)
        self.batcher = Batcher(service, limits)
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Refuse (503) beyond ``max_connections`` instead of queueing unbounded threads."""
        if not self.slots.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.sendall(_raw_response(503, {"error": "too many connections; retry later"}))
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Handle one connection, then free its slot."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def server_close(self) -> None:
        """Stop the batcher too."""
        super().server_close()
        self.batcher.stop()


def _raw_response(status: int, body: Mapping[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    head = f"HTTP/1.1 {status} Error\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    return (head + "Connection: close\r\n\r\n").encode() + data


class _Handler(BaseHTTPRequestHandler):
    server: RewardHTTPServer
    server_version = "judgekit-reward/2"
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.limits.read_timeout_s)  # every read times out

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - library prints nothing
        return

    def _send(self, status: int, body: Mapping[str, Any], close: bool = False) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def _linger(self, budget: int = 1 << 20, wait_s: float = 0.2) -> None:
        """Read (and drop) what the client still sends, so closing does not reset the answer away."""
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(wait_s)
            while budget > 0:
                chunk = self.connection.recv(min(budget, 65536))
                if not chunk:
                    break
                budget -= len(chunk)

    def _authorised(self) -> bool:
        token = self.server.limits.token
        if not token:
            return True
        given = self.headers.get("Authorization") or ""
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        if not self._authorised():
            self._send(401, {"error": "missing or wrong bearer token"})
        elif self.path.rstrip("/") in ("/health", ""):
            self._send(200, {"ok": True, **self.server.service.health()})
        else:
            self._send(404, {"error": f"unknown path {self.path}; POST rewards to /get_reward"})

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            raise ConfigError("chunked bodies are not accepted; send Content-Length")
        raw_length = self.headers.get("Content-Length")
        if raw_length is None or not raw_length.strip().isdigit():
            raise ConfigError("Content-Length header missing or not a number")
        length, cap = int(raw_length), self.server.limits.max_body
        if length <= 0 or length > cap:
            raise ConfigError(f"request body must be 1 to {cap} bytes of JSON, got {length}")
        body = self.rfile.read(length)
        if len(body) != length:
            raise ConfigError(f"body ended after {len(body)} of {length} bytes")
        return body

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        if not self._authorised():
            self._send(401, {"error": "missing or wrong bearer token"}, close=True)
            self._linger()
            return
        try:
            payload = decode_body(self._read_body(), self.server.limits.max_depth)
            work = self.server.service.parse(payload)
        except TimeoutError:
            self.close_connection = True  # stalled client: drop it, free the thread
            return
        except (ConfigError, ValueError, TypeError, KeyError) as exc:
            self._send(400, {"error": str(exc) or type(exc).__name__}, close=True)
            self._linger()
            return
        pending = self.server.batcher.submit(work)
        if not pending.done.wait(max(0.0, pending.deadline - time.monotonic())):
            self._send(504, {"error": f"no reward within the {self.server.limits.deadline_s} s deadline"})
        elif pending.error is not None:
            status = 504 if pending.error.startswith("deadline") else 500
            self._send(status, {"error": pending.error})
        else:
            self._send(200, pending.answer or {})


def make_reward_server(
    service: RewardService, host: str = "127.0.0.1", port: int = 5000, limits: ServerLimits | None = None
) -> RewardHTTPServer:
    """A server answering ``POST /get_reward`` (any path) and ``GET /health``.

    ``port=0`` picks a free port (``server.server_address``). Run ``serve_forever()``;
    stop with ``shutdown()`` from another thread, then ``server_close()``.
    """
    return RewardHTTPServer((host, port), service, limits or ServerLimits())


def serve_until_interrupted(server: RewardHTTPServer) -> None:
    """Serve until Ctrl-C, then close the server (and its batcher)."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
