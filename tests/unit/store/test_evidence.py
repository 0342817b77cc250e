"""Compliance evidence in the metrics DB (revision 0003): written with its suite run in one transaction,
linked to the finding it supports, replaced (never duplicated) when the same task try writes again, and
round-tripped through the outbox's JSON. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.store import EvidenceRecord, FindingRecord, MetricsStore, RunKey, SuiteRunRecord
from assay.store.models import Evidence, Finding, SuiteRun
from assay.store.records import evidence_sha256
from assay.store.repository import RecordRejected

T0 = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
KEEP = T0 + timedelta(days=2557)


def evidence(resource, content, finding_index=None, **kw):
    base = dict(
        check_id="gdpr.erasure",
        control_id="gdpr-art17-erasure",
        resource=resource,
        name=f"rows of the canary in {resource}",
        method="sql",
        source="SELECT count(*) FROM t WHERE subject_id = :subject",
        collected_at=T0,
        expires_at=KEEP,
        content=content,
        finding_index=finding_index,
    )
    return EvidenceRecord(**(base | kw))


def audit_record(run_id="w1", try_number=1, findings=None, ev=None) -> SuiteRunRecord:
    findings = (
        findings
        if findings is not None
        else (
            FindingRecord(
                "compliance", "gdpr-art17-erasure", "critical", "store:raw", "Erasure", {"message": "2 rows"}
            ),
            FindingRecord(
                "compliance", "gdpr-art17-erasure", "critical", "store:cache", "Erasure", {"message": "1 row"}
            ),
        )
    )
    ev = (
        ev
        if ev is not None
        else (
            evidence("store:raw", {"rows": 2}, 0),
            evidence("store:features", {"rows": 0}),  # a passing store: evidence without a finding
            evidence("store:cache", {"rows": 1, "ids": ["c-1"]}, 1),
        )
    )
    return SuiteRunRecord(
        key=RunKey("assay_weekly_compliance", run_id, "audit", 0, try_number),
        kind="compliance",
        name="gdpr_compliance",
        status="FAIL",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=3),
        findings=findings,
        evidence=ev,
    )


def rows(store: MetricsStore):
    with Session(store.engine) as s:
        q = (
            select(Evidence.resource, Evidence.sha256, Evidence.content, Finding.resource, Evidence.expires_at)
            .outerjoin(Finding, Evidence.finding_id == Finding.id)
            .order_by(Evidence.id)
        )
        return [tuple(r) for r in s.execute(q)]


def test_evidence_is_written_and_linked_to_its_finding(store):
    run_id = store.record_suite_run(audit_record())
    got = rows(store)
    assert [(r[0], r[3]) for r in got] == [
        ("store:raw", "store:raw"),
        ("store:features", None),
        ("store:cache", "store:cache"),
    ]
    assert got[2][2] == {"rows": 1, "ids": ["c-1"]} and got[2][1] == evidence_sha256({"ids": ["c-1"], "rows": 1})
    assert got[0][4].astimezone(UTC) == KEEP
    with Session(store.engine) as s:
        run = s.get(SuiteRun, run_id)
        assert len(run.evidence) == 3 and {e.method for e in run.evidence} == {"sql"}
        cache = s.scalars(select(Finding).where(Finding.resource == "store:cache")).one()
        assert [e.sha256 for e in cache.evidence_rows] == [evidence_sha256({"rows": 1, "ids": ["c-1"]})]


def test_writing_the_same_try_again_replaces_evidence_and_findings(store):
    first = store.record_suite_run(audit_record())
    again = audit_record(
        findings=(FindingRecord("compliance", "gdpr-art17-erasure", "critical", "store:cache", "Erasure"),),
        ev=(evidence("store:cache", {"rows": 5}, 0), evidence("store:raw", {"rows": 0})),
    )
    assert store.record_suite_run(again) == first
    assert [(r[0], r[2], r[3]) for r in rows(store)] == [
        ("store:cache", {"rows": 5}, "store:cache"),
        ("store:raw", {"rows": 0}, None),
    ]
    store.record_suite_run(audit_record(findings=(), ev=()))  # the run now has nothing: nothing stays behind
    with Session(store.engine) as s:
        assert s.scalar(select(func.count()).select_from(Evidence)) == 0
        assert s.scalar(select(func.count()).select_from(Finding)) == 0
    store.record_suite_run(audit_record(try_number=2))  # a retry (new try) is a new suite run of its own
    store.record_suite_run(audit_record(try_number=3))
    with Session(store.engine) as s:
        assert s.scalar(select(func.count()).select_from(Evidence)) == 6
        assert s.scalar(select(func.count()).select_from(SuiteRun)) == 3


def test_deleting_a_suite_run_cascades_to_its_evidence(store):
    run_id = store.record_suite_run(audit_record())
    with Session(store.engine) as s, s.begin():
        s.delete(s.get(SuiteRun, run_id))
    with Session(store.engine) as s:
        assert s.scalar(select(func.count()).select_from(Evidence)) == 0


def test_a_value_too_long_for_its_column_is_rejected_on_every_database(store):
    bad = audit_record(ev=(evidence("store:raw", {}, method="m" * 41),), findings=())
    with pytest.raises(RecordRejected, match=r"assay_evidence\.method holds at most 40"):
        store.record_suite_run(bad)
    assert rows(store) == []


def test_evidence_survives_the_outbox_json_and_hashes_what_is_stored():
    rec = audit_record()
    back = SuiteRunRecord.from_dict(json.loads(json.dumps(rec.to_dict())))
    assert back == rec and back.evidence[2].finding_index == 1
    secret = evidence("store:raw", {"url": "postgresql://app:hunter2@db/x"})
    assert "hunter2" not in json.dumps(secret.content) and secret.sha256 == evidence_sha256(secret.content)
    with pytest.raises(ValueError, match="refers to finding 5, but the run has 2 findings"):
        replace(rec, evidence=(evidence("store:raw", {}, 5),))
