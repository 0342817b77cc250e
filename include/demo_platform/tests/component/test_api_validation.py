"""Request validation: malformed bodies → 422, malformed or hostile ids in the path → 400."""

from __future__ import annotations

import pytest
from api_helpers import RECORD, Api
from sqlalchemy import inspect

pytestmark = pytest.mark.component

INJECTIONS = [
    "1;DROP TABLE registry_models",
    "' OR 1=1 --",
    "1 OR 1=1",
    "1' UNION SELECT * FROM audit_log --",
    "<script>alert(1)</script>",
    "0",
    "-1",
    "1.5",
    "1e3",
    "0x10",
    "9" * 19,  # larger than any id the registry hands out
]


ID_ROUTES = [("GET", "/models/{}"), ("GET", "/models/{}/versions"), ("POST", "/models/{}/retire")]


@pytest.mark.parametrize("raw_id", INJECTIONS)
@pytest.mark.parametrize(("method", "template"), ID_ROUTES)
def test_hostile_or_malformed_model_id_is_400(shared_api: Api, raw_id: str, method: str, template: str) -> None:
    response = shared_api.client("admin").request(method, template.format(raw_id))
    assert response.status_code == 400, response.text
    assert "must be a positive integer" in response.json()["detail"]


@pytest.mark.parametrize(
    "path", ["/models/1%2F..%2F..%2Fadmin%2Faudit", "/models/1%2F..%2F2", "/models/1/versions/extra"]
)
def test_ids_with_path_separators_are_400(shared_api: Api, path: str) -> None:
    assert shared_api.client("admin").get(path).status_code == 400


def test_injection_attempts_leave_the_database_intact(shared_api: Api) -> None:
    admin = shared_api.client("admin")
    for raw_id in INJECTIONS:
        admin.get(f"/models/{raw_id}")
    assert set(inspect(shared_api.services.db.engine).get_table_names()) >= {"registry_models", "audit_log"}
    assert admin.get("/models/1").json()["status"] == "active"
    assert [m["model_id"] for m in admin.get("/models").json()] == [1]


BAD_RECORDS = [
    ({k: v for k, v in RECORD.items() if k != "amount"}, "amount"),  # missing feature
    ({**RECORD, "hour": 24}, "hour"),  # out of range
    ({**RECORD, "merchant_risk": 1.5}, "merchant_risk"),
    ({**RECORD, "amount": -3}, "amount"),
    ({**RECORD, "amount": "lots"}, "amount"),  # wrong type
    ({**RECORD, "customer_id": "C1"}, "customer_id"),  # unknown field (personal data is refused)
    ({**RECORD, "amount": 1.3e307}, "amount"),  # beyond what the model scores to a finite probability
    ({**RECORD, "distance_km": 9.5e307}, "distance_km"),
    ({**RECORD, "n_tx_24h": 2230513565127710491696693248}, "n_tx_24h"),
    ({**RECORD, "account_age_days": 10**400}, "account_age_days"),
]


def test_the_largest_accepted_features_still_score_to_a_finite_probability(shared_api: Api) -> None:
    """Found by Assay's API fuzzing: huge features gave a NaN probability (null here, a 500 when stored)."""
    from serving.schemas import MAX_ACCOUNT_AGE_DAYS, MAX_AMOUNT, MAX_DISTANCE_KM, MAX_TX_24H

    record = {**RECORD, "amount": MAX_AMOUNT, "distance_km": MAX_DISTANCE_KM}
    record |= {"account_age_days": MAX_ACCOUNT_AGE_DAYS, "n_tx_24h": MAX_TX_24H}
    reader = shared_api.client("reader")
    response = reader.post("/models/predict", json=record)
    assert response.status_code == 200, response.text
    assert 0.0 <= response.json()["predictions"][0]["fraud_probability"] <= 1.0
    assert reader.post("/customers/C-1/score", json=record).status_code == 200


@pytest.mark.parametrize(("record", "field"), BAD_RECORDS)
def test_invalid_predict_record_is_422_naming_the_field(shared_api: Api, record: dict, field: str) -> None:
    response = shared_api.client("reader").post("/models/predict", json=record)
    assert response.status_code == 422
    locations = [err["loc"] for err in response.json()["detail"]]
    assert any(field in loc for loc in locations), locations


@pytest.mark.parametrize("body", [[], [RECORD] * 1001, "not-json-object", None])
def test_predict_rejects_empty_oversized_and_non_record_bodies(shared_api: Api, body: object) -> None:
    response = shared_api.client("reader").post("/models/predict", json=body)
    assert response.status_code == 422


def test_predict_rejects_a_body_that_is_not_json(shared_api: Api) -> None:
    response = shared_api.client("reader").post(
        "/models/predict", content=b"{amount: 1", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


@pytest.mark.parametrize(
    "body",
    [
        {"version": "1.0.0"},  # no name
        {"name": "fraud mlp", "version": "1.0.0"},  # space in name
        {"name": "fraud-mlp", "version": "1.0.0; DROP TABLE x"},
        {"name": "fraud-mlp", "version": "1.0.0", "metrics": {"f1": "high"}},
        {"name": "fraud-mlp", "version": "1.0.0", "owner": "me"},  # unknown field
        {"name": "x" * 65, "version": "1.0.0"},
    ],
)
def test_invalid_registration_is_422(shared_api: Api, body: dict) -> None:
    response = shared_api.client("ml-engineer").post("/models/register", json=body)
    assert response.status_code == 422
    assert response.json()["detail"], "a 422 must say what is wrong"


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 5000}, {"status": "deleted"}])
def test_invalid_list_query_is_422(shared_api: Api, query: dict) -> None:
    assert shared_api.client("reader").get("/models", params=query).status_code == 422
