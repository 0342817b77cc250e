"""AcceptBaselineOperator via execute(context) against a real metrics DB (SQLite and PostgreSQL): only a
passing run of the subject's own suite can become its baseline; with two models validated in one DAG
run, accepting one picks that model's run; anything else is refused saying what would match."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowFailException
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from support.context import TaskInstanceStub, make_context
from support.operator_env import configure
from support.records import make_record

from assay.store import MetricRecord, MetricsStore, RunKey, SuiteRunRecord
from assay.store.models import Baseline
from assay_airflow.operators.baseline import AcceptBaselineOperator

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def models(tmp_path):
    return {
        name: {"asset": f"assay://models/{name}", "versions_dir": str(tmp_path / name), "loader": "m.load:model"}
        for name in ("fraud-detector", "churn-model")
    }


def targets(tmp_path):
    return {
        "demo-platform": {
            "repo": str(tmp_path / "repo"),
            "performance": {
                "load_test": {
                    "locustfile": "locustfile.py",
                    "profile": {"users": 1, "ramp_up_s": 1, "duration_s": 2, "target_rps": 1},
                }
            },
        }
    }


@pytest.fixture
def store(metrics_url, tmp_path, monkeypatch):
    configure(monkeypatch, tmp_path, metrics_url, targets=targets(tmp_path), models=models(tmp_path))
    s = MetricsStore(metrics_url)
    s.migrate()
    yield s
    s.dispose()


def suite_run(dag_id, run_id, task_id, *, kind, name, target, status="PASS", version=None, try_number=1, value=1.0):
    return SuiteRunRecord(
        key=RunKey(dag_id, run_id, task_id, -1, try_number),
        kind=kind,
        name=name,
        status=status,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=2),
        target=target,
        model_version=version,
        message=f"{name} {status}",
        metrics=(MetricRecord("quality.accuracy", value),),
    )


def accept(**params):
    ctx = make_context(
        "accept_baseline", params, ti=TaskInstanceStub(dag_id="assay_accept_baseline", run_id="manual__accept")
    )
    ctx["dag_run"] = SimpleNamespace(triggering_user_name="ana")
    return AcceptBaselineOperator(task_id="accept_baseline").execute(ctx)


def baselines(store) -> int:
    with Session(store.engine) as s:
        return s.scalar(select(func.count()).select_from(Baseline))


def test_two_models_in_one_run_accepting_a_picks_a(store):
    run = "asset_triggered__2026-11-20"
    store.record_suite_run(
        suite_run(
            "assay_model_validation",
            run,
            "validate__fraud-detector",
            kind="model_validation",
            name="model_validation",
            target="fraud-detector",
            version="v7",
            value=0.91,
        )
    )
    # the other model's task finished later, on its second try: the old lookup took its run for either model
    store.record_suite_run(
        suite_run(
            "assay_model_validation",
            run,
            "validate__churn-model",
            kind="model_validation",
            name="model_validation",
            target="churn-model",
            version="c2",
            try_number=2,
            value=0.77,
        )
    )
    out = accept(kind="model", subject="fraud-detector", run_id=run, suite_name="model_validation", note="v7 ok")
    assert out["accepted_by"] == "ana"
    baseline, chosen = store.current_baseline(kind="model", subject="fraud-detector")
    assert (chosen.target, chosen.model_version, [m.value for m in chosen.metrics]) == ("fraud-detector", "v7", [0.91])
    assert baseline.id == out["baseline_id"] and baseline.note == "v7 ok"
    assert store.current_baseline(kind="model", subject="churn-model") is None

    accept(kind="model", subject="churn-model", run_id=run)  # suite_name may be left out
    assert store.current_baseline(kind="model", subject="churn-model")[1].model_version == "c2"


def test_a_performance_baseline_is_the_targets_load_test(store):
    store.record_suite_run(
        suite_run(
            "assay_nightly_performance",
            "scheduled__n1",
            "load_test__demo-platform",
            kind="performance",
            name="load_test",
            target="demo-platform",
        )
    )
    store.record_suite_run(
        suite_run(
            "assay_nightly_performance",
            "scheduled__n1",
            "microbenchmark__demo-platform",
            kind="performance",
            name="microbenchmark",
            target="demo-platform",
        )
    )
    accept(kind="performance", subject="demo-platform", run_id="scheduled__n1", suite_name="load_test")
    assert store.current_baseline(kind="performance", subject="demo-platform")[1].name == "load_test"


@pytest.mark.parametrize(
    "params, expected",
    [
        # the REST call: the per-commit unit suite accepted as the model baseline of fraud-detector
        (
            {"kind": "model", "subject": "fraud-detector", "run_id": "r1", "suite_name": "unit"},
            "a model baseline is a 'model_validation' suite run, not 'unit'",
        ),
        (
            {"kind": "model", "subject": "fraud-detector", "run_id": "r1"},
            "run 'r1' recorded unit of 'demo' \\(pytest, FAIL\\); a model baseline of 'fraud-detector' is a "
            "'model_validation' run",
        ),
        (
            {"kind": "performance", "subject": "../../etc/passwd", "run_id": "r1"},
            "performance baseline subject '../../etc/passwd' is not one of the configured targets with a load test: "
            "demo-platform",
        ),
        (
            {"kind": "model", "subject": "unknown-model", "run_id": "mv"},
            "model baseline subject 'unknown-model' is not one of the configured models: churn-model, fraud-detector",
        ),
        (
            {"kind": "performance", "subject": "fraud-detector", "run_id": "mv"},
            "performance baseline subject 'fraud-detector' is not one of the configured targets",
        ),
        (
            {"kind": "model", "subject": "churn-model", "run_id": "mv"},
            "run 'mv' recorded model_validation of 'fraud-detector' \\(model_validation, PASS\\); a model baseline of "
            "'churn-model' is a 'model_validation' run \\(kind 'model_validation'\\) whose target is 'churn-model'",
        ),
        (
            {"kind": "model", "subject": "fraud-detector", "run_id": "mv-failed"},
            "run 'mv-failed': the model_validation run of 'fraud-detector' is FAIL; only a passing run",
        ),
        ({"kind": "coverage", "subject": "demo", "run_id": "r1"}, "kind 'coverage' is not one of"),
    ],
)
def test_anything_else_is_refused_saying_what_would_match(store, params, expected):
    store.record_suite_run(make_record("r1"))  # assay_per_commit's 'unit' suite of target 'demo'
    store.record_suite_run(
        suite_run(
            "assay_model_validation",
            "mv",
            "validate__fraud-detector",
            kind="model_validation",
            name="model_validation",
            target="fraud-detector",
        )
    )
    store.record_suite_run(
        suite_run(
            "assay_model_validation",
            "mv-failed",
            "validate__fraud-detector",
            kind="model_validation",
            name="model_validation",
            target="fraud-detector",
            status="FAIL",
        )
    )
    with pytest.raises(AirflowFailException, match=f"baseline refused: {expected}"):
        accept(**params)
    assert baselines(store) == 0
