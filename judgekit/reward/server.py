"""A hardened JSON reward server with fair dynamic batching (standard library only).

Used by the OpenRLHF remote-RM adapters. A :class:`RewardService` turns one JSON
request into a list of checked items (:meth:`~RewardService.parse`, in the
connection's thread; a :class:`ConfigError` there is a 400 with its reason), scores
a list of items in one judge call (:meth:`~RewardService.score`, in the single
batching thread) and builds one request's answer from its items' results
(:meth:`~RewardService.respond`).

Batching is fair: every judge call (a *round*) takes at most ``max_batch_items``
items, shared out between at most ``max_batch_requests`` waiting requests, and a
request that still has items left goes to the back of the line. So a 1-item request
waits for at most one round, never behind the whole of a 4,096-item request.
After an idle spell the batcher waits ``batch_window_s`` for more requests;
``batch_window_s=0`` and ``max_batch_requests=1`` turn batching off. When a round
fails, each request in it is retried alone, so one poisoned request fails alone
(500 with the exception's type, never its text) and its neighbours are answered.

Limits (:class:`ServerLimits`): a body size cap; a shape check on the raw bytes
before decoding and caps on JSON values, string length and items per request
(:mod:`judgekit.reward.request_body`); a time bound on the *whole* request
(request line, headers and body: a client dripping one byte at a time is dropped
when it runs out) on top of a per-read timeout; the bearer token checked as soon as
the headers are in, before any body is read; at most ``max_connections``
connections at once and ``max_per_client`` from one client address (more get 503
and are closed); a per-request deadline (504 when the answer is not ready in time);
a token is required when the bind address is not loopback. Every malformed request -
no, repeated or bad ``Content-Length``, chunked body, invalid UTF-8 or JSON, a lone
surrogate, too deep, too many values or items, a field too long, wrong types - gets a
400 with the reason, and the server keeps serving.
"""

from __future__ import annotations

import contextlib
import hmac
import io
import ipaddress
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from judgekit.core.errors import ConfigError
from judgekit.reward.batcher import Batcher, RewardService
from judgekit.reward.request_body import BodyLimits, decode_body, json_depth

__all__ = ["RewardHTTPServer", "RewardService", "ServerLimits", "decode_body", "is_loopback", "json_depth",
           "make_reward_server", "serve_until_interrupted"]


@dataclass(frozen=True)
class ServerLimits:
    """Bounds that keep one bad or slow client from hurting the others."""

    max_body: int = 16 * 1024 * 1024
    max_depth: int = 32
    max_values: int = 65536
    max_field: int = 1 << 20
    max_request_items: int = 4096
    read_timeout_s: float = 10.0
    request_timeout_s: float = 30.0
    max_connections: int = 64
    max_per_client: int = 16
    deadline_s: float = 300.0
    batch_window_s: float = 0.01
    max_batch_requests: int = 64
    max_batch_items: int = 1024
    token: str | None = None

    def check(self, host: str) -> None:
        """Raise :class:`ConfigError` for settings that cannot work or are unsafe."""
        if min(self.max_body, self.max_depth, self.max_values, self.max_field, self.max_request_items,
               self.max_connections, self.max_per_client, self.max_batch_requests, self.max_batch_items) < 1:
            raise ConfigError("server limits must be >= 1")
        if min(self.read_timeout_s, self.request_timeout_s, self.deadline_s) <= 0 or self.batch_window_s < 0:
            raise ConfigError("read/request timeouts and deadline must be > 0, batch window >= 0")
        if not is_loopback(host) and not self.token:
            raise ConfigError(f"binding {host!r} (not loopback) needs a token (--token-env)")

    @property
    def body(self) -> BodyLimits:
        """The limits on one decoded body."""
        return BodyLimits(max_values=self.max_values, max_depth=self.max_depth, max_field=self.max_field)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names a loopback interface."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RewardHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with connection caps (in all, per client), a batcher and daemon threads."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], service: RewardService, limits: ServerLimits) -> None:
        """Bind, and start the batcher."""
        limits.check(address[0])
        self.service, self.limits = service, limits
        self.slots = threading.BoundedSemaphore(limits.max_connections)
        self.per_client: Counter[str] = Counter()
        self._clients_lock = threading.Lock()
        self.batcher = Batcher(service, limits)
        super().__init__(address, _Handler)

    def _admit(self, client: str) -> bool:
        with self._clients_lock:
            if self.per_client[client] >= self.limits.max_per_client:
                return False
            if not self.slots.acquire(blocking=False):
                return False
            self.per_client[client] += 1
            return True

    def _leave(self, client: str) -> None:
        with self._clients_lock:
            self.per_client[client] -= 1
            if self.per_client[client] <= 0:
                del self.per_client[client]
            self.slots.release()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Refuse (503) beyond the caps instead of queueing unbounded threads."""
        if not self._admit(str(client_address[0])):
            with contextlib.suppress(OSError):
                request.sendall(_raw_response(503, {"error": "too many connections; retry later"}))
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Handle one connection, then free its slots."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._leave(str(client_address[0]))

    def server_close(self) -> None:
        """Stop the batcher too."""
        super().server_close()
        self.batcher.stop()


def _raw_response(status: int, body: Mapping[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    head = f"HTTP/1.1 {status} Error\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    return (head + "Connection: close\r\n\r\n").encode() + data


class _DeadlineReader(io.RawIOBase):
    """A socket's reads, each bounded by the per-read timeout *and* the whole request's deadline."""

    def __init__(self, sock: socket.socket, per_read_s: float, whole_s: float) -> None:
        self.sock, self.per_read_s, self.whole_s = sock, per_read_s, whole_s
        self.restart()

    def restart(self) -> None:
        """A new request: its clock starts now."""
        self.deadline = time.monotonic() + self.whole_s

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"request not complete within {self.whole_s} s")
        self.sock.settimeout(min(left, self.per_read_s))
        return self.sock.recv_into(buffer)


class _Handler(BaseHTTPRequestHandler):
    server: RewardHTTPServer
    server_version = "judgekit-reward/3"
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        limits = self.server.limits
        self.connection.settimeout(limits.read_timeout_s)
        self._reader = _DeadlineReader(self.connection, limits.read_timeout_s, limits.request_timeout_s)
        self.rfile = io.BufferedReader(self._reader, 65536)

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
        self._reader.restart()  # a kept-alive connection's next request gets a fresh clock

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

    def _refuse(self, status: int, reason: str) -> None:
        self._send(status, {"error": reason}, close=True)
        self._linger()

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
            self._send(404, {"error": f"unknown path {self.path[:200]}; POST rewards to /get_reward"})

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            raise ConfigError("chunked bodies are not accepted; send Content-Length")
        lengths = self.headers.get_all("Content-Length") or []
        if len(lengths) > 1:
            raise ConfigError(f"{len(lengths)} Content-Length headers; send exactly one")
        raw_length = lengths[0] if lengths else None
        if raw_length is None or not raw_length.strip().isdigit():
            raise ConfigError("Content-Length header missing or not a number")
        length, cap = int(raw_length), self.server.limits.max_body
        if length <= 0 or length > cap:
            raise ConfigError(f"request body must be 1 to {cap} bytes of JSON, got {length}")
        body = self.rfile.read(length)
        if len(body) != length:
            raise ConfigError(f"body ended after {len(body)} of {length} bytes")
        return body

    def _checked_items(self) -> Sequence[Any]:
        limits = self.server.limits
        payload = decode_body(self._read_body(), limits.body)
        try:
            items = self.server.service.parse(payload)
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - a malformed request is the client's error; no raw text back
            raise ConfigError(f"request does not have the expected shape ({type(exc).__name__})") from None
        if len(items) > limits.max_request_items:
            raise ConfigError(f"{len(items)} items in one request (at most {limits.max_request_items}); "
                              "split it")
        return items

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        if not self._authorised():  # headers are in; nothing of the body is read without the token
            self._refuse(401, "missing or wrong bearer token")
            return
        try:
            items = self._checked_items()
        except TimeoutError:
            self.close_connection = True  # stalled or dripping client: drop it, free the thread
            return
        except ConfigError as exc:
            self._refuse(400, str(exc) or "malformed request")
            return
        pending = self.server.batcher.submit(items)
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
