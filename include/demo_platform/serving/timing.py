"""Server-side request timing: a bounded ring buffer filled by a middleware, summarised on demand.

Timestamps are ``time.monotonic()`` of this host (the same clock in every worker process), so a
load tester can ask ``GET /admin/timings`` for ``now``, run its load, then ask again with
``since=<that now>`` and compare its own client-side percentiles with these.

Each timing also carries ``in_flight``: how many other requests this process was handling when the
request reached the middleware. Requests that arrive together queue behind each other; this count
lets a load tester tell a bunched arrival pattern or a saturated server from its own overhead.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED_ROUTE = "<unmatched>"


@dataclass(frozen=True)
class Timing:
    at: float  # monotonic time the response finished
    method: str
    route: str  # route template, e.g. /models/{model_id}
    status: int
    duration_ms: float
    in_flight: int = 0  # other requests in progress in this process when this one started

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": round(self.at, 6),
            "method": self.method,
            "route": self.route,
            "status": self.status,
            "duration_ms": round(self.duration_ms, 3),
            "in_flight": self.in_flight,
        }


def summarise(durations_ms: list[float]) -> dict[str, float | int | None]:
    """Count, mean, p50/p95/p99 and max of durations (None when there are none)."""
    if not durations_ms:
        return {"count": 0, "mean_ms": None, "p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    values = np.asarray(durations_ms, dtype=float)
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {
        "count": int(values.size),
        "mean_ms": round(float(values.mean()), 3),
        "p50_ms": round(float(p50), 3),
        "p95_ms": round(float(p95), 3),
        "p99_ms": round(float(p99), 3),
        "max_ms": round(float(values.max()), 3),
    }


class TimingBuffer:
    """Thread-safe ring buffer of the most recent ``capacity`` request timings."""

    def __init__(self, capacity: int) -> None:
        self._items: deque[Timing] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def add(self, timing: Timing) -> None:
        with self._lock:
            self._items.append(timing)

    def select(
        self, *, since: float | None = None, route: str | None = None, method: str | None = None
    ) -> list[Timing]:
        with self._lock:
            items = list(self._items)
        return [
            t
            for t in items
            if (since is None or t.at > since)
            and (route is None or t.route == route)
            and (method is None or t.method == method.upper())
        ]

    def report(self, timings: list[Timing], *, include_items: bool) -> dict[str, Any]:
        """Overall summary, one summary per (method, route), and optionally the raw items."""
        groups: dict[tuple[str, str], list[float]] = {}
        for t in timings:
            groups.setdefault((t.method, t.route), []).append(t.duration_ms)
        report: dict[str, Any] = {
            "now": time.monotonic(),
            "clock": "monotonic",
            "capacity": self._items.maxlen,
            "summary": summarise([t.duration_ms for t in timings]),
            "by_route": [{"method": m, "route": r, **summarise(d)} for (m, r), d in sorted(groups.items())],
            "errors": sum(1 for t in timings if t.status >= 500),
        }
        if include_items:
            report["items"] = [t.as_dict() for t in timings]
        return report


class TimingMiddleware:
    """Pure ASGI middleware (outermost): time from request start to the last body byte sent, and the
    number of requests already in progress when it started (one event loop: no lock needed)."""

    def __init__(self, app: ASGIApp, buffer: TimingBuffer) -> None:
        self.app = app
        self.buffer = buffer
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        in_flight = self.in_flight
        self.in_flight += 1
        status = 500

        async def send_and_capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_capture)
        finally:
            self.in_flight -= 1
            route = getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE
            duration_ms = (time.perf_counter() - start) * 1000.0
            self.buffer.add(Timing(time.monotonic(), scope["method"], route, status, duration_ms, in_flight))
