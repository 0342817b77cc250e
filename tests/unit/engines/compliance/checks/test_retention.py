"""retention.expired_records and retention.evidence_kept (SQLite and PostgreSQL)."""

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
