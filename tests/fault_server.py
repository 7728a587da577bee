"""A small misbehaving OpenAI-compatible HTTP server for fault tests (127.0.0.1 only).

The last user message of each request selects the behaviour with a directive
``FAULT:<kind>:<count>[:<arg>]``; the server counts attempts per message, so a
fault can last for the first ``count`` attempts and then heal:

``slow:K:S``     first K attempts sleep S seconds before answering (client timeout)
``500:K``        first K attempts answer HTTP 500
``429:K:S``      first K attempts answer 429 with ``Retry-After: S``
``badjson:K``    first K attempts answer 200 with a truncated JSON body
``400:K``        first K attempts answer 400 (not retryable)
``drip:K:S``     first K attempts send a valid answer one byte every S seconds
``toolong:K``    first K attempts answer 400 "maximum context length" (vLLM's wording)
``leak:K``       first K attempts answer 500 with a body quoting credentials
``index:K:V``    first K attempts answer with ``"index": V`` (JSON) on every choice

K = ``inf`` makes the fault permanent; ``FaultServer(faults=False)`` ignores all
directives (a healed server). Constraints: with ``constraints="honour"`` (default)
a request whose constraint field (``structured_outputs``, ``guided_regex``,
``regex``, ``grammar``) is a literal (a regex matching itself, or a GBNF
``root ::= "text"``) is answered with that literal, as an enforcing server would;
``"ignore"`` answers unconstrained like a server that drops unknown fields;
``"refuse"`` answers 400 to any constrained request. Anything else answers normally with
``"echo: <message>"`` (``n`` choices, logprobs when asked). The server runs in a
daemon thread, shuts itself down after ``max_lifetime`` seconds at the latest and
on leaving its ``with`` block.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _count(text: str) -> float:
    return float("inf") if text == "inf" else float(text)


CONSTRAINT_KEYS = ("structured_outputs", "guided_regex", "regex", "grammar")
_GBNF_LITERAL = re.compile(r'root\s*::=\s*"([^"\\]*)"\s*')


def constraint_literal(body: dict[str, Any]) -> str | None:
    """The text an enforcing server must answer when the request's constraint is a literal."""
    for key in CONSTRAINT_KEYS:
        value = body.get(key)
        if isinstance(value, dict):
            value = value.get("regex")
        if not isinstance(value, str):
            continue
        gbnf = _GBNF_LITERAL.fullmatch(value)
        if gbnf:
            return gbnf.group(1)
        with contextlib.suppress(re.error):
            if re.fullmatch(value, value):
                return value
    return None


class FaultServer:
    """Context manager serving scripted faults on ``127.0.0.1:<free port>``."""

    def __init__(
        self,
        owned_by: str = "vllm",
        version: str = "0.11.0",
        top_logprobs: dict[str, float] | None = None,
        max_lifetime: float = 60.0,
        faults: bool = True,
        constraints: str = "honour",
    ) -> None:
        self.faults = faults
        self.constraints = constraints
        self.owned_by = owned_by
        self.version = version
        self.top_logprobs = top_logprobs or {"A": -0.2, "B": -1.8, "tie": -3.0}
        self.max_lifetime = max_lifetime
        self.attempts: dict[str, list[float]] = defaultdict(list)
        self.bodies: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._timer = threading.Timer(max_lifetime, self.stop)
        self._timer.daemon = True

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FaultServer:
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        self._timer.cancel()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def _record(self, key: str, body: dict[str, Any]) -> int:
        with self._lock:
            self.attempts[key].append(time.monotonic())
            self.bodies.append(body)
            return len(self.attempts[key])

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr
                pass

            def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(payload)

            def _drip(self, payload: bytes, every: float) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    for i in range(len(payload)):
                        self.wfile.write(payload[i : i + 1])
                        self.wfile.flush()
                        time.sleep(every)

            def do_GET(self) -> None:  # noqa: N802 - http.server API
                if self.path.endswith("/models"):
                    data = {"object": "list", "data": [{"id": "fault-model", "owned_by": server.owned_by}]}
                    self._send(200, json.dumps(data).encode())
                elif self.path == "/version":
                    self._send(200, json.dumps({"version": server.version}).encode())
                else:
                    self._send(404, b'{"error": "not found"}')

            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if "messages" in body:
                    user = [m for m in body["messages"] if m["role"] == "user"]
                    key = user[-1]["content"] if user else ""
                else:
                    key = body.get("prompt", "")
                attempt = server._record(key, body)
                with server._lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    self._answer(body, key, attempt)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _answer(self, body: dict[str, Any], key: str, attempt: int) -> None:
                if server.faults and "FAULT:" in key:
                    parts = key.split("FAULT:", 1)[1].split()[0].split(":")
                    kind, until = parts[0], _count(parts[1])
                    if attempt <= until:
                        if kind == "slow":
                            time.sleep(min(float(parts[2]), 5.0))
                        elif kind == "500":
                            return self._send(500, b'{"error": "internal error"}')
                        elif kind == "429":
                            return self._send(429, b'{"error": "rate limited"}', {"Retry-After": parts[2]})
                        elif kind == "badjson":
                            return self._send(200, b'{"choices": [{"message": {"content": "trunc')
                        elif kind == "400":
                            return self._send(400, b'{"error": "bad request"}')
                        elif kind == "toolong":
                            msg = ("This model's maximum context length is 8192 tokens. However, you requested "
                                   "9000 tokens (8904 in the messages, 96 in the completion).")
                            return self._send(400, json.dumps({"error": {"message": msg}}).encode())
                        elif kind == "leak":
                            leak = {"error": "upstream refused Authorization: Bearer sk-live-0123456789abcdef",
                                    "config": {"api_key": "hunter2-secret-value"}}
                            return self._send(500, json.dumps(leak).encode())
                        elif kind == "drip":
                            return self._drip(json.dumps(server.completion(body, key)).encode(), float(parts[2]))
                        elif kind == "index":
                            answer = server.completion(body, key)
                            for ch in answer["choices"]:
                                ch["index"] = json.loads(parts[2])
                            return self._send(200, json.dumps(answer).encode())
                constrained = any(k in body for k in CONSTRAINT_KEYS)
                if constrained and server.constraints == "refuse":
                    return self._send(400, b'{"error": "unknown field"}')
                self._send(200, json.dumps(server.completion(body, key)).encode())

        return Handler

    def completion(self, body: dict[str, Any], key: str) -> dict[str, Any]:
        """A well-formed answer echoing the request's last message."""
        n = int(body.get("n") or 1)
        chat = "messages" in body
        literal = constraint_literal(body) if self.constraints == "honour" else None
        choices = []
        for i in range(n):
            text = literal if literal is not None else f"echo: {key}" + (f" #{i}" if n > 1 else "")
            choice: dict[str, Any] = {"index": i, "finish_reason": "stop"}
            if chat:
                choice["message"] = {"role": "assistant", "content": text}
                if body.get("logprobs"):
                    tops = [{"token": t, "logprob": lp} for t, lp in self.top_logprobs.items()]
                    first = tops[0]
                    choice["logprobs"] = {"content": [{**first, "top_logprobs": tops}]}
            else:
                choice["text"] = text
                if body.get("logprobs"):
                    choice["logprobs"] = {"top_logprobs": [dict(self.top_logprobs)]}
            choices.append(choice)
        usage = {"prompt_tokens": 5, "completion_tokens": 3 * n, "total_tokens": 5 + 3 * n}
        kind = "chat.completion" if chat else "text_completion"
        return {"id": "x", "object": kind, "choices": choices, "usage": usage}
