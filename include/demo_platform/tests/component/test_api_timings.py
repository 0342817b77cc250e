"""Server-side request timings (``GET /admin/timings``): route templates, ``since``, percentiles."""

from __future__ import annotations

import asyncio
import socket
import time
from urllib.parse import urlsplit

import numpy as np
import pytest
from api_helpers import RECORD, TOKENS, Api
from serving.timing import RECEIVED_EXTENSION, Timing, TimingBuffer, TimingMiddleware, summarise

pytestmark = pytest.mark.component


def test_timings_since_a_mark_summarise_exactly_the_requests_made(api: Api) -> None:
    admin, reader = api.client("admin"), api.client("reader")
    mark = admin.get("/admin/timings").json()["now"]
    for _ in range(20):
        reader.post("/models/predict", json=RECORD)
    for model_id in (1, 2, 3):
        reader.get(f"/models/{model_id}")  # 404s still count
    body = admin.get("/admin/timings", params={"since": mark, "include_items": True}).json()
    routes = {(g["method"], g["route"]): g["count"] for g in body["by_route"]}
    # the marking request itself finishes just after the `now` it reports, so it is included too
    assert routes == {("POST", "/models/predict"): 20, ("GET", "/models/{model_id}"): 3, ("GET", "/admin/timings"): 1}
    durations = [i["duration_ms"] for i in body["items"]]
    assert body["summary"]["count"] == 24
    for q in (50, 95, 99):
        assert body["summary"][f"p{q}_ms"] == pytest.approx(np.percentile(durations, q), abs=1e-2)
    assert all(i["at"] > mark for i in body["items"]) and body["now"] >= max(i["at"] for i in body["items"])
    assert body["errors"] == 0 and body["clock"] == "monotonic"


def test_route_filter_and_items_are_optional(api: Api) -> None:
    admin, reader = api.client("admin"), api.client("reader")
    reader.post("/models/predict", json=RECORD)
    body = admin.get("/admin/timings", params={"route": "/models/predict", "method": "post"}).json()
    assert body["summary"]["count"] == 1 and "items" not in body
    assert body["summary"]["p95_ms"] > 0


def test_injected_latency_shows_in_server_side_timings(api: Api) -> None:
    admin, reader = api.client("admin"), api.client("reader")
    mark = admin.get("/admin/timings").json()["now"]
    admin.post("/admin/faults", json={"latency_ms": 120})
    for _ in range(3):
        reader.post("/models/predict", json=RECORD)
    summary = admin.get("/admin/timings", params={"since": mark, "route": "/models/predict"}).json()["summary"]
    assert summary["count"] == 3 and summary["p50_ms"] >= 120


def test_ring_buffer_keeps_only_the_newest() -> None:
    buffer = TimingBuffer(capacity=3)
    for i in range(5):
        buffer.add(Timing(float(i), "GET", "/x", 200 if i else 500, float(i)))
    kept = buffer.select()
    assert [t.at for t in kept] == [2.0, 3.0, 4.0]
    assert buffer.report(kept, include_items=False)["errors"] == 0
    assert summarise([]) == {
        "count": 0,
        "mean_ms": None,
        "p50_ms": None,
        "p95_ms": None,
        "p99_ms": None,
        "max_ms": None,
    }


def _scope(received: float | None = None, path: str = "/x") -> dict:
    scope = {"type": "http", "method": "GET", "path": path, "headers": []}
    if received is not None:
        scope["extensions"] = {RECEIVED_EXTENSION: {"at": received}}
    return scope


async def _answer(_scope, _receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def _receive() -> dict:
    return {"type": "http.request", "body": b""}


async def _send(_message) -> None:
    return None


def test_a_request_is_timed_from_its_receipt_and_counts_what_was_in_flight_then() -> None:
    """The server's stamp of a request's first bytes starts its timer (the app's own part is kept apart); a
    request counts as in flight for another when it was received before it and answered after its receipt,
    whether it is still in the app or already finished."""
    buffer = TimingBuffer(capacity=10)
    middleware = TimingMiddleware(_answer, buffer)
    now = time.perf_counter()
    # received 50 ms ago, then waited (say behind other requests' code) before the app started on it
    asyncio.run(middleware(_scope(now - 0.050), _receive, _send))
    (first,) = buffer.select()
    assert first.duration_ms >= 50.0 and first.app_ms < first.duration_ms - 49.0
    assert first.as_dict()["app_ms"] == round(first.app_ms, 3) and first.in_flight == 0
    # received 20 ms ago: the first request was still in flight then (it was answered after that)
    asyncio.run(middleware(_scope(now - 0.020), _receive, _send))
    assert buffer.select()[-1].in_flight == 1
    # received after both were answered, with no stamp (another ASGI server): timed from the app's start
    asyncio.run(middleware(_scope(), _receive, _send))
    last = buffer.select()[-1]
    assert last.in_flight == 0 and last.app_ms == last.duration_ms


def test_requests_in_the_app_when_another_is_received_are_in_flight_for_it() -> None:
    buffer = TimingBuffer(capacity=10)
    release = asyncio.Event()

    async def app(scope, receive, send) -> None:
        if scope["path"] == "/slow":
            await release.wait()
        await _answer(scope, receive, send)

    middleware = TimingMiddleware(app, buffer)

    async def main() -> None:
        slow = asyncio.create_task(middleware(_scope(time.perf_counter(), "/slow"), _receive, _send))
        await asyncio.sleep(0)
        assert middleware.in_flight == 1
        await middleware(_scope(time.perf_counter()), _receive, _send)  # answered while /slow waits
        release.set()
        await slow

    asyncio.run(main())
    fast, slow = buffer.select()
    assert fast.in_flight == 1 and slow.in_flight == 0  # /slow was received first, the other after it


def test_the_real_server_times_a_request_from_its_first_bytes(api: Api) -> None:
    """Half a request, then the rest 0.5 s later: the app starts only once the headers are complete, but the
    server read the first bytes half a second earlier, and its timer starts there."""
    admin = api.client("admin")
    mark = admin.get("/admin/timings").json()["now"]
    url = urlsplit(api.url)
    request = (
        f"GET /health HTTP/1.1\r\nHost: {url.hostname}\r\nAuthorization: Bearer {TOKENS['reader']}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request[:20])
        time.sleep(0.5)
        sock.sendall(request[20:])
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    body = admin.get("/admin/timings", params={"since": mark, "route": "/health", "include_items": True}).json()
    (item,) = body["items"]
    # the server read the first 20 bytes within 0.25 s of their sending, however busy the machine
    assert item["duration_ms"] - item["app_ms"] >= 250, item
    assert body["timer_starts"].startswith("first request bytes read")


def test_the_event_loops_lag_is_reported_with_the_timings(api: Api) -> None:
    admin = api.client("admin")
    mark = admin.get("/admin/timings").json()["now"]
    deadline = time.monotonic() + 10
    while True:  # the probe wakes every 10 ms: a few samples arrive however slow the machine
        body = admin.get("/admin/timings", params={"since": mark, "include_items": True}).json()
        if len(body["loop_lag_ms"]) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(body["loop_lag_ms"]) >= 3 and min(body["loop_lag_ms"]) >= 0
    assert body["loop_lag"]["count"] == len(body["loop_lag_ms"]) and body["loop_lag_probe_ms"] == 10.0
