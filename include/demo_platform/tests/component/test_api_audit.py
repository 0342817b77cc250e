"""Every action leaves an audit record (actor, action, resource, outcome, UTC time), denials included."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from api_helpers import RECORD, Api, ManualClock
from serving.audit import AuditEntry, AuditLog
from serving.db import Database
from serving.tables import AuditRecord
from sqlalchemy import create_engine, event, select

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


def test_concurrent_requests_are_each_in_the_trail_before_their_response(api: Api) -> None:
    """The writer thread batches entries, but no response leaves before its own entry is in the database."""
    reader = api.client("reader")
    engine = create_engine(api.services.settings.db_url)
    stmt = select(AuditRecord.status_code)

    def predict_and_look_up(_: int) -> tuple[str, list[int]]:
        response = reader.post("/models/predict", json=RECORD)
        request_id = response.headers["x-request-id"]
        with engine.connect() as conn:
            return request_id, list(conn.scalars(stmt.where(AuditRecord.request_id == request_id)))

    try:
        with ThreadPoolExecutor(8) as pool:
            found = list(pool.map(predict_and_look_up, range(40)))
    finally:
        engine.dispose()
    assert [codes for _, codes in found] == [[200]] * 40
    assert len({request_id for request_id, _ in found}) == 40
    assert api.services.audit.pending == 0


def _entry(n: int) -> AuditEntry:
    return AuditEntry(datetime.now(UTC), f"actor-{n}", "model.read", f"/models/{n}", "success", 200, "GET", f"{n:032d}")


def test_entries_queued_in_an_outage_are_written_in_order_in_one_transaction(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'audit.db'}")
    db.create_schema()
    log = AuditLog(db)
    commits: list[int] = []
    event.listen(db.engine, "commit", lambda _conn: commits.append(log.pending))

    async def submit(entries: list[AuditEntry]) -> list[bool]:
        return [await log.submit(e) for e in entries]

    try:
        db.cut()
        assert asyncio.run(submit([_entry(1), _entry(2), _entry(3)])) == [False, False, False]
        assert log.pending == 3 and commits == []
        db.restore()
        assert asyncio.run(submit([_entry(4)])) == [True]
        assert log.pending == 0 and len(commits) == 1  # the queue and the new entry: one commit
        assert [e.actor for e in reversed(log.query(limit=10))] == ["actor-1", "actor-2", "actor-3", "actor-4"]
    finally:
        log.close()
        db.close()


def test_closing_the_log_stops_its_writer_thread_and_a_new_entry_starts_another(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'audit.db'}")
    db.create_schema()
    log = AuditLog(db)

    def submit_and_find_the_writer(entry: AuditEntry) -> threading.Thread:
        before = set(threading.enumerate())
        assert asyncio.run(_await(log.submit, entry)) is True
        [writer] = [t for t in threading.enumerate() if t not in before and t.name == "audit-writer"]
        return writer

    try:
        first = submit_and_find_the_writer(_entry(1))
        log.close()
        assert not first.is_alive()
        second = submit_and_find_the_writer(_entry(2))
        log.close()
        assert not second.is_alive()
        assert [e.actor for e in reversed(log.query(limit=10))] == ["actor-1", "actor-2"]
    finally:
        db.close()


async def _await(submit: Callable[[AuditEntry], Awaitable[bool]], entry: AuditEntry) -> bool:
    return await submit(entry)
