"""The metrics store against real SQLite and PostgreSQL databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from support.records import T0, make_record

from assay.errors import ConfigError
from assay.store import MetricRecord, RunKey, SuiteRunRecord
from assay.store.models import Baseline, Check, Metric, SuiteRun, TestCase
from assay.store.repository import COVERAGE_METRIC


def count(store, model) -> int:
    with Session(store.engine) as s:
        return s.scalar(select(func.count()).select_from(model))


def test_record_and_read_back(store):
    rid = store.record_suite_run(make_record())
    (row,) = store.latest_suite_runs("assay_per_commit", "r1")
    assert row.id == rid and row.status == "FAIL" and row.summary["counts"]["failed"] == 1
    assert {(t.node_id, t.outcome, t.message) for t in row.test_cases} == {
        ("t::ok", "passed", None),
        ("t::bad", "failed", "boom"),
    }
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
    prev = store.previous_metric(
        target="demo",
        branch="main",
        suite_name="unit",
        metric=COVERAGE_METRIC,
        exclude_run_id="now",
        before=T0 + timedelta(days=1),
    )
    assert prev == (85.0, "2" * 40)
    assert store.previous_metric(
        target="demo",
        branch="main",
        suite_name="unit",
        metric=COVERAGE_METRIC,
        exclude_run_id="r2",
        before=T0 + timedelta(days=1),
    ) == (90.0, "1" * 40)
    assert (
        store.previous_metric(
            target="demo",
            branch="nope",
            suite_name="unit",
            metric=COVERAGE_METRIC,
            exclude_run_id="now",
            before=T0 + timedelta(days=1),
        )
        is None
    )


def test_claim_commit_once(store):
    assert store.claim_commit(target="demo", branch="main", sha="a" * 40, run_id="x")
    assert not store.claim_commit(target="demo", branch="other", sha="a" * 40, run_id="y")
    assert store.watched_commits() == {("demo", "a" * 40)}
    store.release_commit(target="demo", sha="a" * 40)
    assert store.claim_commit(target="demo", branch="main", sha="a" * 40, run_id="z")


def test_record_json_round_trip():
    rec = make_record()
    assert SuiteRunRecord.from_dict(rec.to_dict()) == rec


def validation(
    run_id,
    model,
    status="PASS",
    version="v1",
    try_number=1,
    task_id=None,
    kind="model_validation",
    name="model_validation",
    accuracy=0.9,
):
    return SuiteRunRecord(
        key=RunKey("assay_model_validation", run_id, task_id or f"validate__{model}", -1, try_number),
        kind=kind,
        name=name,
        status=status,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=3),
        target=model,
        model_version=version,
        message=f"{model} {status}",
        metrics=(MetricRecord("quality.accuracy", accuracy),),
    )


def test_baselines_are_explicit_recorded_and_only_from_passing_runs(store):
    store.record_suite_run(validation("r1", "demo", status="PASS", accuracy=0.91))
    store.record_suite_run(validation("r2", "demo", status="FAIL", accuracy=0.5))
    assert store.current_baseline(kind="model", subject="demo") is None
    with pytest.raises(ConfigError, match="is FAIL; only a passing run"):
        store.accept_baseline(kind="model", subject="demo", run_id="r2", accepted_by="ana")
    with pytest.raises(ConfigError, match="no suite run is recorded for run 'nope'"):
        store.accept_baseline(kind="model", subject="demo", run_id="nope", accepted_by="ana")
    store.accept_baseline(
        kind="model", subject="demo", run_id="r1", suite_name="model_validation", accepted_by="ana", note="v1"
    )
    baseline, run = store.current_baseline(kind="model", subject="demo")
    assert (baseline.accepted_by, baseline.note, run.run_id) == ("ana", "v1", "r1")
    assert [m.value for m in run.metrics] == [0.91]
    assert baseline.accepted_at is not None


def test_two_models_in_one_run_each_baseline_picks_its_own_model(store):
    # B's task ran later and on a second try: the old lookup (run id + suite name, newest try) took B's run
    store.record_suite_run(validation("both", "model-a", version="a7", accuracy=0.81))
    store.record_suite_run(validation("both", "model-b", version="b3", try_number=2, accuracy=0.97))
    store.accept_baseline(kind="model", subject="model-a", run_id="both", accepted_by="ana")
    store.accept_baseline(kind="model", subject="model-b", run_id="both", accepted_by="ana")
    (_, a), (_, b) = (
        store.current_baseline(kind="model", subject="model-a"),
        store.current_baseline(kind="model", subject="model-b"),
    )
    assert (a.target, a.model_version, [m.value for m in a.metrics]) == ("model-a", "a7", [0.81])
    assert (b.target, b.model_version, [m.value for m in b.metrics]) == ("model-b", "b3", [0.97])


def test_a_baseline_must_be_the_kind_and_subject_it_is_accepted_for(store):
    store.record_suite_run(make_record("per-commit", status="PASS"))  # the per-commit 'unit' pytest suite
    store.record_suite_run(validation("mv", "fraud-detector"))
    with pytest.raises(ConfigError) as err:
        store.accept_baseline(kind="model", subject="fraud-detector", run_id="per-commit", accepted_by="x")
    assert "recorded unit of 'demo' (pytest, PASS)" in str(err.value)
    assert "a model baseline of 'fraud-detector' is a 'model_validation' run" in str(err.value)
    with pytest.raises(ConfigError, match="recorded model_validation of 'fraud-detector'"):
        store.accept_baseline(kind="model", subject="other-model", run_id="mv", accepted_by="x")
    with pytest.raises(ConfigError, match="'load_test' run .* whose target is 'fraud-detector'"):
        store.accept_baseline(kind="performance", subject="fraud-detector", run_id="mv", accepted_by="x")
    with pytest.raises(ConfigError, match="a model baseline is a 'model_validation' suite run, not 'unit'"):
        store.accept_baseline(kind="model", subject="demo", run_id="per-commit", suite_name="unit", accepted_by="x")
    with pytest.raises(ConfigError, match="baseline kind 'coverage' is not one of"):
        store.accept_baseline(kind="coverage", subject="demo", run_id="per-commit", accepted_by="x")
    assert count(store, Baseline) == 0


def test_a_baseline_accepted_before_the_checks_from_another_suite_is_passed_over(store):
    store.record_suite_run(make_record("per-commit", status="PASS"))
    (unit,) = store.latest_suite_runs("assay_per_commit", "per-commit")
    with Session(store.engine) as s, s.begin():  # as the unchecked acceptance once wrote it
        s.add(
            Baseline(
                kind="model",
                subject="fraud-detector",
                suite_run_id=unit.id,
                accepted_by="api",
                accepted_at=datetime.now(UTC),
            )
        )
    assert store.current_baseline(kind="model", subject="fraud-detector") is None


def test_previous_suite_run_can_pass_over_runs_with_a_given_check(store):
    """The load test's fallback baseline is the last passing run that other work did not disturb."""
    from assay.store import CheckRecord

    def load_run(run_id, at, *, disturbed):
        gate = CheckRecord("machine.undisturbed", "WARN" if disturbed else "PASS", 0.6 if disturbed else 0.1, 0.25)
        return replace(
            make_record(run_id, status="WARN" if disturbed else "PASS", at=at), kind="performance", checks=(gate,)
        )

    store.record_suite_run(load_run("quiet", T0, disturbed=False))
    store.record_suite_run(load_run("busy", T0 + timedelta(hours=1), disturbed=True))
    common = dict(target="demo", kind="performance", name="unit", exclude_run_id="now")
    assert store.previous_suite_run(**common).run_id == "busy"
    assert store.previous_suite_run(**common, without_check=("machine.undisturbed", "WARN")).run_id == "quiet"
