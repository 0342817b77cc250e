"""The registry on PostgreSQL (set ``DEMO_TEST_PG_URL`` to a database this test may fill and empty)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from api_helpers import Api
from serving.api.provider_states import PROVIDER_STATES_PATH
from serving.tables import Base
from sqlalchemy import create_engine

pytestmark = pytest.mark.component

PG_URL = os.environ.get("DEMO_TEST_PG_URL")


@pytest.fixture()
def pg_api(start_api) -> Iterator[Api]:
    if not PG_URL:
        pytest.skip("DEMO_TEST_PG_URL is not set; e.g. postgresql+psycopg2://user:pw@127.0.0.1:5432/registry_test")
    engine = create_engine(PG_URL)
    Base.metadata.drop_all(engine)
    try:
        yield start_api(db_url=PG_URL, test_mode=True)
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


def test_registry_audit_and_outage_on_postgres(pg_api: Api) -> None:
    engineer, admin = pg_api.client("ml-engineer"), pg_api.client("admin")
    name = f"pg-{uuid.uuid4().hex[:8]}"
    pg_api.client().post(PROVIDER_STATES_PATH, json={"state": "a model exists", "params": {"model_id": 50}})
    ids = [engineer.post("/models", json={"name": name, "version": v}).json()["model_id"] for v in ("1", "2")]
    assert ids == [51, 52]  # the id sequence was moved past the explicitly placed model
    assert [m["version"] for m in engineer.get(f"/models/{ids[0]}/versions").json()] == ["1", "2"]
    assert engineer.post(f"/models/{ids[0]}/retire").json()["status"] == "retired"
    assert engineer.get("/models/1;DROP TABLE registry_models").status_code == 400
    admin.post("/admin/faults", json={"db_down": True})
    assert engineer.get(f"/models/{ids[1]}").status_code == 503
    assert pg_api.client().get("/health").json()["db"] == "down"
    admin.delete("/admin/faults")
    records = admin.get("/admin/audit", params={"limit": 20}).json()["records"]
    assert [(r["action"], r["outcome"]) for r in records[:3]] == [
        ("admin.faults.reset", "success"),
        ("model.read", "unavailable"),
        ("admin.faults.set", "success"),
    ]
