"""Every action leaves an audit record (actor, action, resource, outcome, UTC time), denials included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from api_helpers import RECORD, Api, ManualClock
from serving.tables import AuditRecord
from sqlalchemy import create_engine, select

pytestmark = pytest.mark.component


def _rows(api: Api) -> list[AuditRecord]:
    """Read the audit table straight from the database file, not through the API."""
    engine = create_engine(api.services.settings.db_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(AuditRecord).order_by(AuditRecord.id)))
    finally:
        engine.dispose()


def test_each_action_and_its_outcome_is_recorded(start_api) -> None:
    api: Api = start_api(rate_limit_per_s=0.5, rate_limit_burst=4, clock=ManualClock())  # no refill mid-test
    started = datetime.now(UTC)
    engineer, reader = api.client("ml-engineer"), api.client("reader")
    engineer.post("/models/register", json={"name": "fraud-mlp", "version": "1.0.0"})  # success
    reader.post("/models/1/retire")  # denied: role too low
    api.client().get("/models/1")  # denied: no token
    api.client(token="stolen-token-9").get("/models/1")  # denied: unknown token
    reader.get("/models/1;DROP TABLE audit_log")  # rejected: bad id
    reader.post("/models/predict", json=RECORD)  # success
    reader.get("/models/1")  # success
    reader.get("/models/1")  # throttled: reader's 5th request with burst 4
    got = [(r.actor, r.action, r.resource, r.outcome, r.status_code, r.method) for r in _rows(api)]
    assert got == [
        ("eddie.engineer", "model.register", "/models/register", "success", 201, "POST"),
        ("rita.reader", "model.retire", "/models/1/retire", "denied", 403, "POST"),
        ("anonymous", "model.read", "/models/1", "denied", 401, "GET"),
        (got[3][0], "model.read", "/models/1", "denied", 403, "GET"),
        ("rita.reader", "model.read", "/models/1;DROP TABLE audit_log", "rejected", 400, "GET"),
        ("rita.reader", "model.predict", "/models/predict", "success", 200, "POST"),
        ("rita.reader", "model.read", "/models/1", "success", 200, "GET"),
        ("rita.reader", "model.read", "/models/1", "throttled", 429, "GET"),
    ]
    assert got[3][0].startswith("unknown-token:") and "stolen" not in got[3][0]
    for row in _rows(api):
        stamp = row.occurred_at if row.occurred_at.tzinfo else row.occurred_at.replace(tzinfo=UTC)
        assert started - timedelta(seconds=1) <= stamp <= datetime.now(UTC)
        assert len(row.request_id) == 32


def test_health_probes_are_not_audited_but_unknown_routes_are(api: Api) -> None:
    api.client().get("/health")
    api.client("reader").get("/nowhere")
    assert [(r.action, r.outcome, r.status_code) for r in _rows(api)] == [("unknown-route", "rejected", 404)]


def test_audit_trail_endpoint_filters_and_matches_the_table(api: Api, register) -> None:
    register()
    api.client("reader").post("/models/register", json={"name": "x", "version": "1"})
    admin = api.client("admin")
    body = admin.get("/admin/audit", params={"outcome": "denied"}).json()
    assert body["pending"] == 0
    assert [(r["actor"], r["action"]) for r in body["records"]] == [("rita.reader", "model.register")]
    by_actor = admin.get("/admin/audit", params={"actor": "eddie.engineer", "action": "model.register"}).json()
    assert [r["outcome"] for r in by_actor["records"]] == ["success"]
    newest = admin.get("/admin/audit", params={"limit": 1}).json()["records"][0]
    assert newest["action"] == "admin.audit" and datetime.fromisoformat(newest["occurred_at"]).utcoffset() == timedelta(
        0
    )


def test_actions_during_a_database_outage_are_written_after_it(api: Api, register) -> None:
    register()
    admin, reader = api.client("admin"), api.client("reader")
    admin.post("/admin/faults", json={"db_down": True})
    reader.get("/models/1")  # 503, audit queued
    reader.post("/models/predict", json=RECORD)  # 200, audit queued
    assert api.services.audit.pending == 3  # the fault switch itself, the read, the prediction
    admin.delete("/admin/faults")
    assert api.services.audit.pending == 0
    tail = [(r.action, r.outcome, r.status_code) for r in _rows(api)][-4:]
    assert tail == [
        ("admin.faults.set", "success", 200),
        ("model.read", "unavailable", 503),
        ("model.predict", "success", 200),
        ("admin.faults.reset", "success", 200),
    ]
