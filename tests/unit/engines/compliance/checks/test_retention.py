"""retention.expired_records, retention.evidence_kept and retention.test_data_snapshots (SQLite and PostgreSQL)."""

from __future__ import annotations

from support.compliance_checks import failed, statuses


def test_the_compliant_demo_passes(start_demo, demo_db_url):
    demo = start_demo(demo_db_url)
    expired = demo.run("retention.expired_records")
    assert statuses(expired) == {"PASS", "NOT_APPLICABLE"}
    assert {r.resource for r in expired if r.status.value == "NOT_APPLICABLE"} == {
        "store:consent_records",
        "store:prediction_cache",
    }
    assert statuses(demo.run("retention.evidence_kept")) == {"PASS"}


def test_an_expired_record_and_a_short_audit_retention_fail(start_demo, demo_db_url):
    demo = start_demo(demo_db_url, faults=("expired_record_kept", "short_audit_retention"))
    expired = failed(demo.run("retention.expired_records"))
    assert [r.resource for r in expired] == ["store:raw_customers"]
    assert "1 record(s) older than its 730-day retention" in expired[0].message and "CUST00000000" in expired[0].message
    assert expired[0].evidence[1].content["rows"][0]["customer_id"] == "CUST00000000"
    kept = failed(demo.run("retention.evidence_kept"))
    assert [(r.resource, r.message) for r in kept] == [
        ("retention_policy:audit_log", "audit_log is kept 365 days, less than the required 2555")
    ]


def test_assay_keeping_its_own_evidence_too_briefly_fails(start_demo):
    results = start_demo().run("retention.evidence_kept", evidence_days=365)
    assert [(r.resource, r.status.value) for r in results] == [
        ("assay:evidence", "FAIL"),
        ("retention_policy:audit_log", "PASS"),
    ]


def test_test_data_snapshots_pass_on_a_recent_retention_step_with_its_deletions_as_evidence(start_demo):
    (result,) = start_demo().run("retention.test_data_snapshots")
    assert (result.resource, result.status.value) == ("test_data:customers", "PASS")
    assert "deleted 1 expired snapshot(s)" in result.message
    assert result.evidence[1].content[0]["item"] == "sample/20261001T020000Z-abc123"


def test_test_data_snapshots_fail_when_retention_is_stale_missing_or_broken(start_demo):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import create_engine, update

    from assay.store.models import SuiteRun

    demo = start_demo()
    (stale,) = demo.run("retention.test_data_snapshots", now=datetime.now(UTC) + timedelta(days=10))
    assert stale.status.value == "FAIL" and "retention last ran 12.0 days ago" in stale.message
    (missing,) = demo.run("retention.test_data_snapshots", params={"datasets": ["transactions"]})
    assert missing.status.value == "FAIL" and "no retention step was ever recorded" in missing.message
    engine = create_engine(demo.metrics_url)
    with engine.begin() as conn:
        conn.execute(
            update(SuiteRun)
            .where(SuiteRun.name == "customers:retention")
            .values(status="ERROR", message="1 expired snapshot(s) could not be deleted")
        )
    engine.dispose()
    (broken,) = demo.run("retention.test_data_snapshots")
    assert broken.status.value == "FAIL" and "could not be deleted" in broken.message
    (none,) = demo.run("retention.test_data_snapshots", params={"datasets": []})
    assert none.status.value == "NOT_APPLICABLE"
