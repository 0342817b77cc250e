"""Demo compliance capabilities: the audit queue refuses rather than drops, the audit chain, erasure, export."""

from __future__ import annotations

import time

import pytest
from api_helpers import RECORD, Api
from serving.audit import CHAIN_FIELDS, GENESIS_HASH, chain_hash
from serving.tables import AuditRecord, CustomerRaw, PredictionLogRow
from sqlalchemy import create_engine, select

pytestmark = pytest.mark.component


def _records(api: Api) -> list[AuditRecord]:
    engine = create_engine(api.services.settings.db_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(AuditRecord).order_by(AuditRecord.seq)))
    finally:
        engine.dispose()


def test_a_full_audit_queue_refuses_requests_instead_of_dropping_entries(start_api, caplog) -> None:
    api: Api = start_api(audit_max_pending=2)
    admin, reader = api.client("admin"), api.client("reader")
    admin.post("/admin/faults", json={"db_down": True})  # its own entry waits in the queue
    assert reader.post("/models/predict", json=RECORD).status_code == 200  # queued: 2 entries
    refused = reader.post("/models/predict", json=RECORD)
    assert refused.status_code == 503 and "refused" in refused.json()["detail"]
    assert "audit queue full" in caplog.text
    assert api.services.audit.pending == 2
    api.services.db.restore()
    assert api.services.audit.flush() is True
    assert [r.action for r in _records(api)] == ["admin.faults.set", "model.predict"]  # nothing dropped


def test_records_are_numbered_and_hash_chained(api: Api) -> None:
    api.client("reader").get("/models")
    api.client().get("/models")
    rows = _records(api)
    assert [r.seq for r in rows] == [1, 2]
    prev = GENESIS_HASH
    for row in rows:
        assert row.prev_hash == prev
        prev = chain_hash(prev, [getattr(row, f) for f in CHAIN_FIELDS])
        assert row.row_hash == prev


def test_erasure_removes_the_subject_and_closes_the_request(start_api) -> None:
    api: Api = start_api(compliance_seed=True)
    admin = api.client("admin")
    assert api.client("reader").post("/customers/CUST00000001/score", json=RECORD).status_code == 200
    export = admin.get("/privacy/subjects/CUST00000001/export").json()
    assert set(export["profile"]) == {"name", "email", "phone", "address", "postcode", "city", "date_of_birth"}
    filed = admin.post("/privacy/erasure-requests", json={"subject_id": "CUST00000001"})
    assert filed.status_code == 202 and filed.json()["status"] == "open"
    for _ in range(50):
        state = admin.get(f"/privacy/erasure-requests/{filed.json()['request_id']}").json()
        if state["status"] == "closed":
            break
        time.sleep(0.05)
    assert state["status"] == "closed" and state["closed_at"] >= state["created_at"]
    assert {"customers_raw", "prediction_log", "training_snapshot", "prediction_cache"} <= set(state["stores"])
    assert admin.get("/admin/cache/subjects/CUST00000001").json()["rows"] == []
    with api.services.db.session() as session:
        assert session.get(CustomerRaw, "CUST00000001") is None
        assert (
            session.scalars(select(PredictionLogRow).where(PredictionLogRow.customer_id == "CUST00000001")).all() == []
        )
    assert not [r for r in _records(api) if "CUST00000001" in (r.resource or "") or r.subject_id == "CUST00000001"]
    assert admin.get("/privacy/subjects/CUST00000001/export").status_code == 404
