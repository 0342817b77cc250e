"""Server-side request timings (``GET /admin/timings``): route templates, ``since``, percentiles."""

from __future__ import annotations

import numpy as np
import pytest
from api_helpers import RECORD, Api
from serving.timing import Timing, TimingBuffer, summarise

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
