"""Records added by the security scan (finding fingerprint, state, first seen: revision 0004) and by test-data
retention (deletions: 0005): written with their suite run, replaced on a retry, and carried through the
outbox's JSON unchanged (a parked record must come back with its datetimes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from assay.store.records import DeletionRecord, FindingRecord, RunKey, SuiteRunRecord

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


def record(try_number: int = 1, *, deletions: int = 2) -> SuiteRunRecord:
    return SuiteRunRecord(
        key=RunKey("assay_test_data", "weekly", "retention", 0, try_number),
        kind="test_data",
        name="customers:retention",
        status="PASS",
        started_at=T0 + timedelta(days=31),
        finished_at=T0 + timedelta(days=31, seconds=2),
        dataset="customers",
        findings=(
            FindingRecord(
                "trivy", "CVE-2026-1", "HIGH", "urllib3 1.26", fingerprint="f" * 64, state="new", first_seen_at=T0
            ),
        ),
        deletions=tuple(
            DeletionRecord(
                dataset="customers",
                item=f"sample/20261101T020000Z-{i:06x}",
                path=f"/data/test-data/customers/sample/20261101T020000Z-{i:06x}",
                created_at=T0,
                deleted_at=T0 + timedelta(days=31),
                reason="older than retention_days=30",
                bytes=1_000 + i,
                rows=100,
                sha256="a" * 64,
            )
            for i in range(deletions)
        ),
    )


def test_the_outbox_json_round_trip_keeps_every_field():
    rec = record()
    back = SuiteRunRecord.from_dict(json.loads(json.dumps(rec.to_dict())))
    assert back == rec
    assert back.findings[0].first_seen_at == T0 and back.deletions[1].deleted_at == T0 + timedelta(days=31)


def test_deletions_and_lifecycle_columns_are_stored_and_a_retry_replaces_them(store):
    store.record_suite_run(record(1, deletions=3))
    store.record_suite_run(record(2, deletions=2))  # the retry of the same task: its own rows
    runs = store.latest_suite_runs("assay_test_data", "weekly")
    (run,) = runs
    assert run.try_number == 2 and len(run.deletions) == 2
    d = sorted(run.deletions, key=lambda x: x.item)[0]
    assert d.reason == "older than retention_days=30" and d.bytes == 1000 and d.rows == 100
    assert d.created_at.replace(tzinfo=d.created_at.tzinfo or UTC) == T0
    (f,) = run.findings
    assert (f.fingerprint, f.state) == ("f" * 64, "new")
    assert f.first_seen_at.replace(tzinfo=f.first_seen_at.tzinfo or UTC) == T0
