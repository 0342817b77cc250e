"""The metrics store against real SQLite and PostgreSQL databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from support.records import T0, make_record

from assay.store import SuiteRunRecord
from assay.store.models import Check, Metric, SuiteRun, TestCase
from assay.store.repository import COVERAGE_METRIC


def count(store, model) -> int:
    with Session(store.engine) as s:
        return s.scalar(select(func.count()).select_from(model))


def test_record_and_read_back(store):
    rid = store.record_suite_run(make_record())
    (row,) = store.latest_suite_runs("assay_per_commit", "r1")
    assert row.id == rid and row.status == "FAIL" and row.summary["counts"]["failed"] == 1
    assert {(t.node_id, t.outcome, t.message) for t in row.test_cases} == {("t::ok", "passed", None), ("t::bad", "failed", "boom")}
    assert row.started_at.replace(tzinfo=UTC) == T0 or row.started_at == T0
    assert [m.name for m in row.metrics] == [COVERAGE_METRIC]


def test_same_key_written_twice_keeps_one_copy(store):
    store.record_suite_run(make_record())
    store.record_suite_run(replace(make_record(), status="PASS", message="rewritten"))
    assert count(store, SuiteRun) == 1 and count(store, TestCase) == 2
    assert count(store, Check) == 1 and count(store, Metric) == 1
    (row,) = store.latest_suite_runs("assay_per_commit", "r1")
    assert row.status == "PASS" and row.message == "rewritten"


def test_latest_suite_runs_keeps_the_newest_try(store):
    store.record_suite_run(make_record(try_number=1, status="ERROR"))
    store.record_suite_run(make_record(try_number=2, status="PASS"))
    store.record_suite_run(make_record(try_number=1, name="integration", status="PASS"))
    rows = store.latest_suite_runs("assay_per_commit", "r1")
    assert sorted((r.name, r.try_number, r.status) for r in rows) == [("integration", 1, "PASS"), ("unit", 2, "PASS")]
    assert count(store, SuiteRun) == 3  # the earlier try stays on record
    assert store.latest_suite_runs("assay_per_commit", "r1", kinds=["gate"]) == []


def test_previous_metric_is_the_newest_completed_run_on_the_branch(store):
    store.record_suite_run(make_record("r1", coverage=90.0, at=T0, sha="1" * 40))
    store.record_suite_run(make_record("r2", coverage=85.0, at=T0 + timedelta(hours=1), sha="2" * 40))
    store.record_suite_run(make_record("r3", coverage=10.0, at=T0 + timedelta(hours=2), status="ERROR"))
    store.record_suite_run(make_record("r4", coverage=99.0, at=T0 + timedelta(hours=3), branch="other"))
    prev = store.previous_metric(target="demo", branch="main", suite_name="unit", metric=COVERAGE_METRIC,
                                 exclude_run_id="now", before=T0 + timedelta(days=1))
    assert prev == (85.0, "2" * 40)
    assert store.previous_metric(target="demo", branch="main", suite_name="unit", metric=COVERAGE_METRIC,
                                 exclude_run_id="r2", before=T0 + timedelta(days=1)) == (90.0, "1" * 40)
    assert store.previous_metric(target="demo", branch="nope", suite_name="unit", metric=COVERAGE_METRIC,
                                 exclude_run_id="now", before=T0 + timedelta(days=1)) is None


def test_claim_commit_once(store):
    assert store.claim_commit(target="demo", branch="main", sha="a" * 40, run_id="x")
    assert not store.claim_commit(target="demo", branch="other", sha="a" * 40, run_id="y")
    assert store.watched_commits() == {("demo", "a" * 40)}
    store.release_commit(target="demo", sha="a" * 40)
    assert store.claim_commit(target="demo", branch="main", sha="a" * 40, run_id="z")


def test_record_json_round_trip():
    rec = make_record()
    assert SuiteRunRecord.from_dict(rec.to_dict()) == rec


def test_baselines_are_explicit_recorded_and_only_from_passing_runs(store):
    import pytest

    from assay.errors import AssayError

    store.record_suite_run(make_record("r1", status="PASS", coverage=91.0))
    store.record_suite_run(make_record("r2", status="FAIL", coverage=50.0))
    assert store.current_baseline(kind="model", subject="demo") is None
    with pytest.raises(AssayError, match="is FAIL; only a passing run can be a baseline"):
        store.accept_baseline(kind="model", subject="demo", run_id="r2", suite_name="unit", accepted_by="ana")
    with pytest.raises(AssayError, match="no suite run"):
        store.accept_baseline(kind="model", subject="demo", run_id="nope", suite_name="unit", accepted_by="ana")
    store.accept_baseline(kind="model", subject="demo", run_id="r1", suite_name="unit", accepted_by="ana", note="v1")
    baseline, run = store.current_baseline(kind="model", subject="demo")
    assert (baseline.accepted_by, baseline.note, run.run_id) == ("ana", "v1", "r1")
    assert [m.value for m in run.metrics if m.name == COVERAGE_METRIC] == [91.0]
    assert baseline.accepted_at is not None
