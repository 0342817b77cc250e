"""Fault hooks for chaos and performance tests: latency, seeded 500s, database loss, reset."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from api_helpers import RECORD, Api, RecordingSleep
from serving.faults import FaultConfig

pytestmark = pytest.mark.component


def test_injected_latency_delays_predict_only(start_api) -> None:
    sleeps = RecordingSleep()
    api: Api = start_api(sleep=sleeps)
    admin, reader = api.client("admin"), api.client("reader")
    body = admin.post("/admin/faults", json={"latency_ms": 200}).json()
    assert body == {"latency_ms": 200, "error_rate": 0.0, "db_down": False, "seed": 0, "active": True}
    start = time.perf_counter()
    assert reader.post("/models/predict", json=RECORD).status_code == 200
    assert time.perf_counter() - start >= 0.2  # a lower bound: the delay really waited
    assert sleeps.delays == [0.2]
    assert reader.get("/models").status_code == 200
    assert reader.get("/health").status_code == 200
    assert sleeps.delays == [0.2]  # the registry and health were not delayed
    admin.delete("/admin/faults")
    assert reader.post("/models/predict", json=RECORD).status_code == 200
    assert sleeps.delays == [0.2]  # reset: no more delay


def test_error_rate_one_fails_every_prediction(api: Api) -> None:
    api.client("admin").post("/admin/faults", json={"error_rate": 1.0})
    responses = [api.client("reader").post("/models/predict", json=RECORD) for _ in range(3)]
    assert [r.status_code for r in responses] == [500] * 3
    assert responses[0].json() == {"detail": "injected fault: error_rate=1"}


def test_error_rate_is_seeded_and_reproducible(api: Api) -> None:
    admin, reader = api.client("admin"), api.client("reader")

    def run() -> list[int]:
        admin.post("/admin/faults", json={"error_rate": 0.3, "seed": 11})
        return [reader.post("/models/predict", json=RECORD).status_code for _ in range(40)]

    first, second = run(), run()
    assert first == second
    assert 4 <= first.count(500) <= 20 and set(first) == {200, 500}


def test_db_down_gives_503_on_the_registry_and_health_reports_it(api: Api, register) -> None:
    register()
    admin, reader = api.client("admin"), api.client("reader")
    admin.post("/admin/faults", json={"db_down": True})
    assert api.client().get("/health").json() == {
        "status": "ok",
        "model_loaded": True,
        "db": "down",
        "model_id": api.services.pipeline.model_id,
    }
    for response in (
        reader.get("/models/1"),
        reader.get("/models/1/versions"),
        api.client("ml-engineer").post("/models/register", json={"name": "m", "version": "2"}),
    ):
        assert response.status_code == 503
        assert "database is unavailable" in response.json()["detail"] and response.headers["retry-after"] == "5"
    assert reader.post("/models/predict", json=RECORD).status_code == 200  # inference does not need the DB
    with pytest.raises(Exception, match="connections are refused"):
        api.services.db.engine.connect()  # the pool refuses new connections, not just the routes
    assert admin.get("/admin/faults").json()["db_down"] is True
    assert admin.delete("/admin/faults").json()["active"] is False
    assert api.client().get("/health").json()["db"] == "ok"
    assert reader.get("/models/1").json()["model_id"] == 1


def test_a_real_database_outage_is_also_503(api: Api, register) -> None:
    register()
    path = Path(api.services.settings.db_url.removeprefix("sqlite:///"))
    api.services.db.engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.mkdir()  # the database file is gone and a directory is in its way: SQLite cannot open it
    response = api.client("reader").get("/models/1")
    assert response.status_code == 503
    assert "database is unavailable" in response.json()["detail"]
    assert "unable to open database file" in response.json()["detail"]
    assert api.client().get("/health").json()["db"] == "down"
    assert api.services.audit.pending >= 1  # the trail waits in memory for the database


@pytest.mark.parametrize(
    "body", [{"latency_ms": -1}, {"error_rate": 1.5}, {"db_down": "maybe"}, {"latency_ms": 10, "bogus": 1}]
)
def test_bad_fault_requests_are_422(api: Api, body: dict) -> None:
    assert api.client("admin").post("/admin/faults", json=body).status_code == 422


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"latency_ms": 60_001}, "latency_ms"), ({"error_rate": -0.1}, "error_rate")]
)
def test_fault_config_validates_itself(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaultConfig(**kwargs)
