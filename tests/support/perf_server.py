"""A small real HTTP server on loopback to load-test: configurable latency and error rate, and its own
server-side timing of every request, served like the demo API's ``GET /admin/timings``.

Endpoints: ``GET /health``, ``POST /models/predict`` (bearer token when ``token`` is set; a JSON record
or a list of records → ``{"model_id", "count", "predictions"}``), ``POST /models/predict-slow`` (the
same plus ``extra_latency_ms``), ``GET /admin/timings?since=&route=&include_items=`` (monotonic clock,
and each item's ``in_flight``: other timed requests in progress when it started, like the demo API).

``serial_ms`` models a server with one worker: every request holds one lock for that long *before* the
server's timer starts (like work waiting in an event loop or accept queue), so requests that arrive
together queue for it and only the client sees that wait.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class ServerTiming:
    at: float  # time.monotonic() when the response was written
    method: str
    route: str
    status: int
    duration_ms: float
    in_flight: int = 0
    arrived: float = 0.0  # time.monotonic() when the handler got the request (before any serial wait)


class PerfServer:
    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        error_rate: float = 0.0,
        token: str | None = None,
        seed: int = 0,
        extra_latency_ms: float = 0.0,
        serial_ms: float = 0.0,
    ) -> None:
        self.latency_ms, self.error_rate, self.token = latency_ms, error_rate, token
        self.extra_latency_ms, self.serial_ms = extra_latency_ms, serial_ms
        self.timings: list[ServerTiming] = []
        self.bodies: list[object] = []  # every parsed prediction body, in arrival order
        self.in_flight = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._serial = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like a production server

            def setup(self):
                super().setup()
                # Headers and body go out in two writes; without TCP_NODELAY, Nagle's algorithm holds the
                # body until the client's delayed ACK (~40 ms on Linux), a delay the server's timer never
                # sees. Production servers (uvicorn, gunicorn) set it too.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _reply(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _timed(self, route: str, handle) -> None:
                arrived = time.monotonic()
                if server.serial_ms:
                    with server._serial:  # one worker: queued before the server's timer starts
                        time.sleep(server.serial_ms / 1000.0)
                with server._lock:
                    in_flight = server.in_flight
                    server.in_flight += 1
                start = time.perf_counter()
                try:
                    status = handle()
                finally:
                    duration = (time.perf_counter() - start) * 1000.0
                    with server._lock:
                        server.in_flight -= 1
                        server.timings.append(
                            ServerTiming(time.monotonic(), self.command, route, status, duration, in_flight, arrived)
                        )

            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                if parts.path == "/health":
                    self._timed("/health", lambda: server._work(self, {"status": "ok"}))
                elif parts.path == "/admin/timings":
                    self._reply(200, server.timings_report(parse_qs(parts.query)))
                else:
                    self._reply(404, {"detail": "not found"})

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                path = urlsplit(self.path).path
                if path == "/models/predict":
                    self._timed(path, lambda: server._predict(self, body))
                elif path == "/models/predict-slow":
                    self._timed(path, lambda: server._predict(self, body, server.extra_latency_ms))
                else:
                    self._reply(404, {"detail": "not found"})

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _fail_now(self) -> bool:
        with self._lock:
            return self._rng.random() < self.error_rate

    def _work(self, handler, body: object, extra_ms: float = 0.0) -> int:
        if self.latency_ms or extra_ms:
            time.sleep((self.latency_ms + extra_ms) / 1000.0)
        if self._fail_now():
            handler._reply(500, {"detail": "injected fault"})
            return 500
        handler._reply(200, body)
        return 200

    def _predict(self, handler, raw: bytes, extra_ms: float = 0.0) -> int:
        if self.token and handler.headers.get("Authorization") != f"Bearer {self.token}":
            handler._reply(401, {"detail": "missing or bad bearer token"})
            return 401
        try:
            payload = json.loads(raw)
        except ValueError:
            handler._reply(422, {"detail": "body is not JSON"})
            return 422
        self.bodies.append(payload)
        records = payload if isinstance(payload, list) else [payload]
        preds = [{"fraud_probability": 0.1, "label": 0} for _ in records]
        return self._work(handler, {"model_id": "perf-server", "count": len(preds), "predictions": preds}, extra_ms)

    def timings_report(self, query: dict[str, list[str]]) -> dict:
        since = float(query["since"][0]) if "since" in query else None
        route = query.get("route", [None])[0]
        method = query.get("method", [None])[0]
        with self._lock:
            items = [
                t
                for t in self.timings
                if (since is None or t.at > since)
                and (route is None or t.route == route)
                and (method is None or t.method == method.upper())
            ]
        report = {"now": time.monotonic(), "clock": "monotonic", "summary": {"count": len(items)}}
        if query.get("include_items", ["false"])[0].lower() == "true":
            report["items"] = [
                {
                    "at": t.at,
                    "method": t.method,
                    "route": t.route,
                    "status": t.status,
                    "duration_ms": t.duration_ms,
                    "in_flight": t.in_flight,
                }
                for t in items
            ]
        return report

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
