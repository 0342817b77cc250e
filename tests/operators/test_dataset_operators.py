"""Which datasets a drift run checks: the chosen one (UI), the fired Assets, the due crons."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import yaml
from airflow.sdk.exceptions import AirflowSkipException
from support.context import make_context

from assay_airflow.operators.datasets import DriftCheckOperator


@pytest.fixture
def two_datasets(tmp_path, monkeypatch):
    cfg = yaml.safe_load(open("include/config/assay.yaml"))
    base = cfg["datasets"]["fraud-transactions"]
    cfg["datasets"]["nightly-set"] = dict(base, asset="assay://datasets/nightly-set", drift_schedule="0 1 * * *")
    path = tmp_path / "assay.yaml"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("ASSAY_CONFIG", str(path))


def context(params=None, run_type="manual", when=None, events=None):
    ctx = make_context("drift", params or {})
    ctx["dag_run"] = SimpleNamespace(run_type=run_type, run_after=when)
    if events:
        from airflow.sdk import Asset

        ctx["triggering_asset_events"] = {Asset(uri): [SimpleNamespace(extra={})] for uri in events}
    return ctx


def due(op, ctx) -> bool:
    try:
        op.dataset_config(ctx)
        op._skip_unless_due(ctx)
    except AirflowSkipException:
        return False
    return True


def test_selection(two_datasets):
    weekly = DriftCheckOperator(task_id="a", dataset="fraud-transactions")
    nightly = DriftCheckOperator(task_id="b", dataset="nightly-set")
    monday_3 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    tuesday_1 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    assert due(weekly, context(run_type="scheduled", when=monday_3))
    assert not due(nightly, context(run_type="scheduled", when=monday_3))
    assert due(nightly, context(run_type="scheduled", when=tuesday_1))
    assert not due(weekly, context(run_type="scheduled", when=tuesday_1))
    assert due(weekly, context()) and due(nightly, context())  # manual: all
    assert not due(weekly, context(params={"dataset": "nightly-set"}))
    assert due(nightly, context(events=["assay://datasets/nightly-set"]))
    assert not due(weekly, context(events=["assay://datasets/nightly-set"]))
