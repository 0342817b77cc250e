"""Server-side request timing: a bounded ring buffer filled by a middleware, summarised on demand.

Timestamps are ``time.monotonic()`` of this host (the same clock in every worker process), so a
load tester can ask ``GET /admin/timings`` for ``now``, run its load, then ask again with
``since=<that now>`` and compare its own client-side percentiles with these.

What a duration covers: from the moment this process read the request's first bytes off the
connection (uvicorn's ``data_received``, stamped by :class:`ReceiptStampingProtocol`) to the last byte
of the response handed to the connection. That is the earliest point the server can see: it contains
the parsing of the request and the wait in the event loop behind other requests before the app starts
on it (``app_ms`` is the app's part alone, ``duration_ms - app_ms`` that wait). It cannot contain the
time a request spent in the kernel before the event loop read it (the accept queue, or bytes waiting
while the loop ran another request's code): only the client sees that. Served by another ASGI server,
the timer starts when the app is called (then ``duration_ms == app_ms``).

The event loop's own lag is recorded too (:func:`probe_loop_lag`: how late a 10 ms sleep wakes up, the
same probe Assay's load generator runs on its side): while the loop runs one request's code, another
request's bytes wait in the kernel, unread and untimed; the lag's distribution is what such a wait was.

Each timing also carries ``in_flight``: how many other requests this process had received and not yet
answered when this one was received. Requests that arrive together queue behind each other; this count
lets a load tester tell a bunched arrival pattern or a saturated server from its own overhead.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.auto import AutoHTTPProtocol

UNMATCHED_ROUTE = "<unmatched>"
# ASGI scope extension set by ReceiptStampingProtocol: {"at": time.perf_counter() of the first bytes read}
RECEIVED_EXTENSION = "demo.received"
TIMER_START = "first request bytes read by the server (the app's start under other ASGI servers)"
LAG_PROBE_S = 0.010


@dataclass(frozen=True)
class Timing:
    at: float  # monotonic time the response finished
    method: str
    route: str  # route template, e.g. /models/{model_id}
    status: int
    duration_ms: float  # from the request's receipt (its first bytes read) to the response's last byte
    in_flight: int = 0  # other requests received and not yet answered by this process when this one was received
    app_ms: float | None = None  # the app's part of duration_ms (None: the same as duration_ms)

    @property
    def started(self) -> float:
        """Monotonic time the request was received."""
        return self.at - self.duration_ms / 1000.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": round(self.at, 6),
            "method": self.method,
            "route": self.route,
            "status": self.status,
            "duration_ms": round(self.duration_ms, 3),
            "app_ms": round(self.duration_ms if self.app_ms is None else self.app_ms, 3),
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
        self._lags: deque[tuple[float, float]] = deque(maxlen=capacity)  # (monotonic time, loop lag ms)
        self._lock = threading.Lock()

    def add_lag(self, at: float, lag_ms: float) -> None:
        with self._lock:
            self._lags.append((at, lag_ms))

    def loop_lags(self, since: float | None = None) -> list[float]:
        """The event loop's lag samples (ms) taken after ``since``."""
        with self._lock:
            lags = list(self._lags)
        return [lag for at, lag in lags if since is None or at > since]

    def add(self, timing: Timing) -> None:
        with self._lock:
            self._items.append(timing)

    def finished_after_containing(self, t: float) -> int:
        """How many recorded requests were received before ``t`` and finished after it (monotonic)."""
        count = 0
        with self._lock:
            for timing in reversed(self._items):  # newest first: in order of finishing
                if timing.at <= t:
                    break
                count += timing.started < t
        return count

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

    def report(self, timings: list[Timing], *, include_items: bool, since: float | None = None) -> dict[str, Any]:
        """Overall summary, one summary per (method, route), the event loop's lag since ``since``, and optionally
        the raw items and lag samples."""
        lags = self.loop_lags(since)
        groups: dict[tuple[str, str], list[float]] = {}
        for t in timings:
            groups.setdefault((t.method, t.route), []).append(t.duration_ms)
        report: dict[str, Any] = {
            "now": time.monotonic(),
            "clock": "monotonic",
            "capacity": self._items.maxlen,
            "timer_starts": TIMER_START,
            "summary": summarise([t.duration_ms for t in timings]),
            "by_route": [{"method": m, "route": r, **summarise(d)} for (m, r), d in sorted(groups.items())],
            "errors": sum(1 for t in timings if t.status >= 500),
            "loop_lag_probe_ms": LAG_PROBE_S * 1000.0,
            "loop_lag": summarise(lags),
        }
        if include_items:
            report["items"] = [t.as_dict() for t in timings]
            report["loop_lag_ms"] = [round(lag, 3) for lag in lags]
        return report


async def probe_loop_lag(buffer: TimingBuffer, interval_s: float = LAG_PROBE_S) -> None:
    """Until cancelled: sleep ``interval_s`` on the running loop and record how late it woke up."""
    while True:
        start = time.perf_counter()
        await asyncio.sleep(interval_s)
        lag_ms = max(0.0, time.perf_counter() - start - interval_s) * 1000.0
        buffer.add_lag(time.monotonic(), lag_ms)


class ReceiptStampingProtocol(AutoHTTPProtocol):
    """uvicorn's HTTP protocol (httptools or h11, whichever uvicorn picks) that stamps each request's scope
    with the time its first bytes were read off the connection (``scope["extensions"]["demo.received"]``),
    so :class:`TimingMiddleware` can time the request from there rather than from the app's start. Pass it
    as ``uvicorn.run(..., http=ReceiptStampingProtocol)``. With pipelined requests read in one chunk, only
    the last gets the stamp; the others are timed from the app's start."""

    def data_received(self, data: bytes) -> None:
        received = time.perf_counter()
        before = getattr(self, "scope", None)
        super().data_received(data)
        scope = getattr(self, "scope", None)
        if scope is not None and scope is not before:  # a request began in this chunk
            scope.setdefault("extensions", {})[RECEIVED_EXTENSION] = {"at": received}


def received_at(scope: Scope) -> float | None:
    """The ``time.perf_counter()`` at which the server read the request's first bytes, if it said."""
    stamp = (scope.get("extensions") or {}).get(RECEIVED_EXTENSION)
    at = stamp.get("at") if isinstance(stamp, dict) else None
    return float(at) if isinstance(at, int | float) else None


class TimingMiddleware:
    """Pure ASGI middleware (outermost): time from the request's receipt (see :class:`ReceiptStampingProtocol`;
    the app's start without it) to the last body byte sent, and count the requests this process had received
    and not yet answered when it was received (one event loop: no lock needed)."""

    def __init__(self, app: ASGIApp, buffer: TimingBuffer) -> None:
        self.app = app
        self.buffer = buffer
        self._numbers = itertools.count()
        self._active: dict[int, float] = {}  # requests in the app: number -> receipt (perf_counter)

    @property
    def in_flight(self) -> int:
        return len(self._active)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        app_start = time.perf_counter()
        received = received_at(scope)
        start = received if received is not None and received <= app_start else app_start
        number = next(self._numbers)
        self._active[number] = start
        status = 500

        async def send_and_capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_capture)
        finally:
            end = time.perf_counter()
            del self._active[number]
            at = time.monotonic()
            duration_ms = (end - start) * 1000.0
            # in flight at receipt: still in the app now, or finished since (received before, ended after)
            in_flight = sum(1 for s in self._active.values() if s < start)
            in_flight += self.buffer.finished_after_containing(at - duration_ms / 1000.0)
            route = getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE
            app_ms = (end - app_start) * 1000.0
            self.buffer.add(Timing(at, scope["method"], route, status, duration_ms, in_flight, app_ms))
