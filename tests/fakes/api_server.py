"""A small threaded HTTP server base for the fake platform APIs (no internet in tests).

A fake subclasses `FakeApi` and implements `route(req) -> Reply`. Tests script failures on top with
`fail(...)` (an error reply for the next N matching requests) and read `requests` to see what was asked.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    path_part: str
    reply: Reply
    times: int = 1
    skip: int = 0  # let this many matching requests through first


class FakeApi:
    """Start with `with FakeX() as api:`; `api.base_url` is where the connector points."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- scripting ------------------------------------------------------------------------------
    def fail(
        self,
        path_part: str,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        skip: int = 0,
    ) -> None:
        """After `skip` matching requests, the next `times` whose path contains `path_part` get this reply."""
        self.faults.append(Fault(path_part, Reply(status, body, headers or {}), times, skip))

    def malform(self, path_part: str, body: Any = b"<html>upstream error</html>", skip: int = 0) -> None:
        """A matching request answers 200 with a body not in the documented shape."""
        self.fail(path_part, 200, body, skip=skip)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    # -- serving --------------------------------------------------------------------------------
    def route(self, req: Request) -> Reply:  # pragma: no cover - each fake implements it
        raise NotImplementedError

    def _answer(self, req: Request) -> Reply:
        with self._lock:
            self.requests.append(req)
            for f in self.faults:
                if f.times > 0 and f.path_part in req.path:
                    if f.skip > 0:
                        f.skip -= 1
                        continue
                    f.times -= 1
                    return f.reply
        try:
            return self.route(req)
        except Exception as exc:  # a bug in a fake shows as a 599 with its message, not a hang
            return Reply(599, {"fake_error": repr(exc)})

    def __enter__(self) -> FakeApi:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _do(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                reply = api._answer(req)
                raw = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                ctype = (
                    "application/json; charset=utf-8" if not isinstance(reply.body, bytes) else "text/html"
                )
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(raw)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _do

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"


def paginate(items: list[Any], token: str | None, size: int) -> tuple[list[Any], str | None]:
    """Offset pagination behind an opaque-looking token: ('p<offset>')."""
    start = int(token[1:]) if token else 0
    chunk = items[start : start + size]
    nxt = f"p{start + size}" if start + size < len(items) else None
    return chunk, nxt
