"""Endpoint availability, response format and error handling of the serving API."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from api_helpers import RECORD, Api
from serving.api.predict import INLINE_MAX_RECORDS, MAX_BATCH

pytestmark = pytest.mark.component

EXPECTED_ROUTES = {
    ("GET", "/health"),
    ("POST", "/models/predict"),
    ("POST", "/models/register"),
    ("POST", "/models"),
    ("GET", "/models"),
    ("GET", "/models/{model_id}"),
    ("GET", "/models/{model_id}/versions"),
    ("POST", "/models/{model_id}/retire"),
    ("GET", "/admin/timings"),
    ("GET", "/admin/faults"),
    ("POST", "/admin/faults"),
    ("DELETE", "/admin/faults"),
    ("GET", "/admin/audit"),
}


def test_every_documented_endpoint_is_published_in_openapi(api: Api) -> None:
    schema = api.client().get("/openapi.json").json()
    published = {(m.upper(), path) for path, ops in schema["paths"].items() for m in ops}
    assert EXPECTED_ROUTES <= published
    assert "/_pact/provider-states" not in schema["paths"]  # test hook is off outside test mode


def test_health_needs_no_token_and_reports_model_and_db(api: Api) -> None:
    response = api.client().get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body == {"status": "ok", "model_loaded": True, "db": "ok", "model_id": api.services.pipeline.model_id}


def test_health_without_a_model_and_predict_is_503(start_api) -> None:
    api = start_api(with_model=False)
    assert api.client().get("/health").json()["model_loaded"] is False
    response = api.client("reader").post("/models/predict", json=RECORD)
    assert response.status_code == 503
    assert "no model is loaded" in response.json()["detail"]


def test_predict_one_record_returns_probability_and_label(api: Api) -> None:
    response = api.client("reader").post("/models/predict", json=RECORD)
    assert response.status_code == 200
    body = response.json()
    assert body["model_id"] == api.services.pipeline.model_id
    assert body["count"] == 1
    [prediction] = body["predictions"]
    assert set(prediction) == {"fraud_probability", "label"}
    assert 0.0 <= prediction["fraud_probability"] <= 1.0
    assert prediction["label"] == int(prediction["fraud_probability"] > 0.5)


@pytest.mark.parametrize("size", [1, 50, INLINE_MAX_RECORDS + 1, MAX_BATCH])
def test_predictions_equal_the_pipeline_on_a_dataframe(api: Api, size: int) -> None:
    """The API scores raw values (no DataFrame): the same probabilities as the pandas path, to 1e-12."""
    import pandas as pd
    from fraud import FEATURE_COLUMNS, make_fraud_dataset

    frame = make_fraud_dataset(size, seed=7, fraud_rate=0.3)
    records = frame.loc[:, list(FEATURE_COLUMNS)].to_dict(orient="records")
    body = api.client("reader").post("/models/predict", json=records[0] if size == 1 else records).json()
    assert body["count"] == size
    expected = api.services.pipeline.predict_proba(pd.DataFrame(records))[:, 1]
    served = [p["fraud_probability"] for p in body["predictions"]]
    assert served == pytest.approx(expected.tolist(), rel=0, abs=1e-12)
    assert [p["label"] for p in body["predictions"]] == api.services.pipeline.predict(pd.DataFrame(records)).tolist()


def test_small_batches_are_scored_on_the_event_loop_and_big_ones_in_a_worker_thread(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = api.services.pipeline
    score = pipeline.predict_proba_values
    threads: list[str] = []

    def noting_the_thread(values: np.ndarray) -> np.ndarray:
        threads.append(threading.current_thread().name)
        return score(values)

    monkeypatch.setattr(pipeline, "predict_proba_values", noting_the_thread)
    reader = api.client("reader")
    for body in (RECORD, [RECORD] * INLINE_MAX_RECORDS, [RECORD] * (INLINE_MAX_RECORDS + 1)):
        assert reader.post("/models/predict", json=body).status_code == 200
    loop_thread = f"uvicorn {api.url}"  # serving.server_thread names the thread that runs the event loop
    assert threads[:2] == [loop_thread, loop_thread] and threads[2] != loop_thread and len(threads) == 3


def test_register_a_model_gives_201_with_a_model_id(api: Api) -> None:
    before = datetime.now(UTC)
    response = api.client("ml-engineer").post(
        "/models/register",
        json={"name": "fraud-mlp", "version": "1.0.0", "artifact_uri": "s3://models/fraud/1", "metrics": {"f1": 0.8}},
    )
    assert response.status_code == 201
    body = response.json()
    assert isinstance(body["model_id"], int) and body["model_id"] >= 1
    assert response.headers["location"] == f"/models/{body['model_id']}"
    assert body["status"] == "active" and body["created_by"] == "eddie.engineer"
    assert body["metrics"] == {"f1": 0.8} and body["artifact_uri"] == "s3://models/fraud/1"
    created = datetime.fromisoformat(body["created_at"])
    # made during the request, however long it took (1 s of slack for a wall-clock adjustment)
    assert created.tzinfo is not None and before - timedelta(seconds=1) <= created <= datetime.now(UTC)


def test_get_model_returns_the_contract_fields(api: Api, register) -> None:
    model_id = register(version="2.0.0")["model_id"]
    response = api.client("reader").get(f"/models/{model_id}")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("model_id", "name", "version", "status")} == {
        "model_id": model_id,
        "name": "fraud-mlp",
        "version": "2.0.0",
        "status": "active",
    }


def test_list_versions_of_a_model_gives_200_oldest_first(api: Api, register) -> None:
    first = register(version="1.0.0")["model_id"]
    register(name="other-model", version="1.0.0")
    second = register(version="1.1.0")["model_id"]
    response = api.client("reader").get(f"/models/{second}/versions")
    assert response.status_code == 200
    assert [(m["model_id"], m["version"]) for m in response.json()] == [(first, "1.0.0"), (second, "1.1.0")]


def test_list_models_filters_by_name_and_status(api: Api, register) -> None:
    register(version="1.0.0")
    keep = register(version="1.1.0")["model_id"]
    register(name="other-model")
    api.client("ml-engineer").post(f"/models/{keep}/retire")
    reader = api.client("reader")
    assert [m["version"] for m in reader.get("/models", params={"name": "fraud-mlp"}).json()] == ["1.0.0", "1.1.0"]
    assert [m["model_id"] for m in reader.get("/models", params={"status": "retired"}).json()] == [keep]
    assert len(reader.get("/models", params={"limit": 1}).json()) == 1


def test_retire_sets_status_and_a_second_retire_is_409(api: Api, register) -> None:
    model_id = register()["model_id"]
    engineer = api.client("ml-engineer")
    retired = engineer.post(f"/models/{model_id}/retire")
    assert retired.status_code == 200
    assert retired.json()["status"] == "retired" and retired.json()["retired_at"] is not None
    again = engineer.post(f"/models/{model_id}/retire")
    assert again.status_code == 409
    assert "already retired" in again.json()["detail"]


def test_registering_the_same_version_twice_is_409(api: Api, register) -> None:
    model_id = register(version="3.0.0")["model_id"]
    response = api.client("ml-engineer").post("/models", json={"name": "fraud-mlp", "version": "3.0.0"})
    assert response.status_code == 409
    assert f"model_id {model_id}" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/models/12345", "/models/12345/versions"])
def test_unknown_model_id_is_404_with_a_message(api: Api, path: str) -> None:
    response = api.client("reader").get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "no registered model has model_id 12345"}


def test_unknown_route_is_404_json(api: Api) -> None:
    response = api.client("reader").get("/no/such/route")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")


def test_every_response_carries_a_request_id(api: Api) -> None:
    ids = {api.client("reader").get("/models").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3 and all(len(i) == 32 for i in ids)
