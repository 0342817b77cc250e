"""Drift, data-quality and golden-dataset operators via execute(context), on the demo platform's own data
exports (a few hundred rows), against a real metrics DB: SQLite and PostgreSQL. Every verdict and every
error is recorded before the task fails; and which datasets a drift run checks (UI choice, fired Assets,
due crons)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException
from support.context import TaskInstanceStub, make_context
from support.demo_platform import GOLDEN_DIR, SUITES_DIR
from support.operator_env import configure, recorded, sql_connection

from assay_airflow.operators.datasets import DataQualityOperator, DriftCheckOperator, GoldenDatasetsOperator

REPO_DEMO = str(Path(__file__).resolve().parents[2] / "include" / "demo_platform")


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


# ---------------------------------------------------------------------------------------------------
# recorded verdicts and errors, on SQLite and PostgreSQL


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """The demo platform's reference/current exports (600 rows each), with a score the label follows."""
    if REPO_DEMO not in sys.path:
        sys.path.insert(0, REPO_DEMO)
    from fraud.exports import export_frames

    out = tmp_path_factory.mktemp("exports")
    reference, current = export_frames(600)
    for name, frame in (("reference", reference), ("current", current)):
        frame["score"] = (frame["merchant_risk"] * 0.5 + frame["is_fraud"] * 0.5).round(4)
        frame.to_parquet(out / f"{name}.parquet", index=False)
    drifted = current.assign(amount=current["amount"] * 3)
    drifted.to_parquet(out / "drifted.parquet", index=False)
    return out


DRIFT = {
    "exclude_columns": ["customer_id", "name", "email", "ts", "is_fraud"],
    "prediction_column": "score",
    "overrides": {"score": {"thresholds": {"psi": 0.2, "kl_div": 0.1}}},
    "drift_share": 0.5,
}
CONCEPT = {
    "timestamp_column": "ts",
    "label_column": "is_fraud",
    "prediction_column": "score",
    "prediction_threshold": 0.5,
    "window": "W",
    "fail_drop": 0.05,
}


def dataset(exports, current="current", reference="reference", **extra):
    return {
        "asset": "assay://datasets/tx",
        "current": {"kind": "parquet", "path": str(exports / f"{current}.parquet")},
        "reference": {"kind": "parquet", "path": str(exports / f"{reference}.parquet")},
    } | extra


def run(op, run_id, dag_id="assay_drift_checks"):
    ti = TaskInstanceStub(dag_id=dag_id, run_id=run_id)
    return op.execute(make_context(op.task_id, ti=ti))


def test_drift_records_both_sections_then_fails_on_drift(metrics_url, tmp_path, monkeypatch, exports):
    configure(
        monkeypatch,
        tmp_path,
        metrics_url,
        datasets={"tx": dataset(exports, current="drifted", drift=DRIFT, concept=CONCEPT)},
    )
    with pytest.raises(AirflowFailException, match="dataset 'tx': drift FAIL"):
        run(DriftCheckOperator(task_id="drift__tx", dataset="tx"), "manual__drift")
    rows = recorded(metrics_url, "assay_drift_checks", "manual__drift")
    data = rows["data_drift"]
    assert data.status == "FAIL" and data.dataset == "tx" and data.message
    amount = {c.name.removeprefix("drift:amount:"): c.status for c in data.checks if c.name.startswith("drift:amount:")}
    assert amount.pop("missing_share") == "PASS" and set(amount.values()) == {"FAIL"}
    assert rows["concept_drift"].status in ("PASS", "WARN", "FAIL") and rows["concept_drift"].checks


def test_no_drift_passes_and_returns_the_summary(metrics_url, tmp_path, monkeypatch, exports):
    configure(monkeypatch, tmp_path, metrics_url, datasets={"tx": dataset(exports, current="reference", drift=DRIFT)})
    summary = run(DriftCheckOperator(task_id="drift__tx", dataset="tx"), "manual__same")
    data = recorded(metrics_url, "assay_drift_checks", "manual__same")["data_drift"]
    assert data.status == "PASS" == summary["status"] and data.checks and data.metrics


@pytest.mark.parametrize(
    "extra, expected",
    [
        ({"drift": None}, "needs 'reference' and 'drift'"),
        (
            {"drift": DRIFT, "current": {"kind": "sql", "conn_id": "no_such_db", "query": "select 1"}},
            "connection 'no_such_db' is not defined",
        ),
    ],
)
def test_a_drift_config_error_is_recorded_then_fails_for_good(
    metrics_url, tmp_path, monkeypatch, exports, extra, expected
):
    configure(monkeypatch, tmp_path, metrics_url, datasets={"tx": dataset(exports, current="reference") | extra})
    with pytest.raises(AirflowFailException, match=f"data_drift: ERROR: .*{expected}"):
        run(DriftCheckOperator(task_id="drift__tx", dataset="tx"), "manual__bad")
    row = recorded(metrics_url, "assay_drift_checks", "manual__bad")["data_drift"]
    assert row.status == "ERROR" and expected in row.message and row.dataset == "tx"
    assert row.summary["error"] == "ConfigError" and row.summary["retryable"] is False


def test_data_quality_records_every_expectation(metrics_url, tmp_path, monkeypatch, exports):
    configure(
        monkeypatch,
        tmp_path,
        metrics_url,
        datasets={"tx": dataset(exports, quality_suite="fraud_transactions")},
        data_quality={"suites_dir": str(SUITES_DIR)},
    )
    try:
        run(DataQualityOperator(task_id="dq__tx", dataset="tx"), "manual__dq", "assay_data_quality")
        raised = None
    except AirflowFailException as exc:
        raised = exc
    row = recorded(metrics_url, "assay_data_quality", "manual__dq")["data_quality:fraud_transactions"]
    assert row.status in ("PASS", "WARN", "FAIL") and len(row.checks) > 20 and row.message
    assert (raised is not None) == (row.status == "FAIL")
    assert row.summary["report_path"]


@pytest.mark.parametrize(
    "current, suite, error, expected",
    [
        (
            {"kind": "parquet", "path": "/nonexistent/current.parquet"},
            "fraud_transactions",
            AirflowException,
            "does not exist",
        ),
        (
            {"kind": "sql", "conn_id": "no_such_db", "query": "select 1"},
            "fraud_transactions",
            AirflowFailException,
            "connection 'no_such_db' is not defined",
        ),
        (None, "no_such_suite", AirflowFailException, "no_such_suite"),
    ],
)
def test_a_data_quality_error_is_recorded_then_raised_as_its_kind(
    metrics_url, tmp_path, monkeypatch, exports, current, suite, error, expected
):
    ds = dataset(exports, quality_suite=suite)
    ds["current"] = current or ds["current"]
    configure(monkeypatch, tmp_path, metrics_url, datasets={"tx": ds}, data_quality={"suites_dir": str(SUITES_DIR)})
    with pytest.raises(error, match=expected) as err:
        run(DataQualityOperator(task_id="dq__tx", dataset="tx"), "manual__dq_error", "assay_data_quality")
    assert (type(err.value) is AirflowFailException) == (error is AirflowFailException)
    row = recorded(metrics_url, "assay_data_quality", "manual__dq_error")[f"data_quality:{suite}"]
    assert row.status == "ERROR" and expected in row.message


def test_a_missing_file_is_an_error_naming_its_path_then_retried(metrics_url, tmp_path, monkeypatch, exports):
    missing = tmp_path / "landing" / "current.parquet"
    ds = dataset(exports, drift=DRIFT, quality_suite="fraud_transactions")
    ds["current"] = {"kind": "parquet", "path": str(missing)}
    configure(monkeypatch, tmp_path, metrics_url, datasets={"tx": ds}, data_quality={"suites_dir": str(SUITES_DIR)})
    for op, dag_id, name in [
        (DriftCheckOperator(task_id="drift__tx", dataset="tx"), "assay_drift_checks", "data_drift"),
        (DataQualityOperator(task_id="dq__tx", dataset="tx"), "assay_data_quality", "data_quality:fraud_transactions"),
    ]:
        with pytest.raises(AirflowException, match=f"dataset file {missing} does not exist") as err:
            run(op, "manual__missing", dag_id)
        assert type(err.value) is AirflowException  # ERROR, retried: the file may yet land
        row = recorded(metrics_url, dag_id, "manual__missing")[name]
        assert row.status == "ERROR" and f"dataset file {missing} does not exist" in row.message


def test_sql_sources_read_through_their_airflow_connection(metrics_url, tmp_path, monkeypatch, exports):
    """The metrics DB doubles as the warehouse: the reference rows as table ``scored``, connection ``warehouse``."""
    import pandas as pd
    from sqlalchemy import create_engine

    engine = create_engine(metrics_url)
    pd.read_parquet(exports / "reference.parquet").to_sql("scored", engine, index=False)
    engine.dispose()
    sql_connection(monkeypatch, "warehouse", metrics_url)
    current = {"kind": "sql", "conn_id": "warehouse", "query": "SELECT * FROM scored WHERE amount >= :low"}
    ds = dataset(exports, drift=DRIFT, quality_suite="fraud_transactions") | {
        "current": current | {"params": {"low": 0}}
    }
    configure(monkeypatch, tmp_path, metrics_url, datasets={"tx": ds}, data_quality={"suites_dir": str(SUITES_DIR)})
    summary = run(DriftCheckOperator(task_id="drift__tx", dataset="tx"), "manual__sql")
    data = recorded(metrics_url, "assay_drift_checks", "manual__sql")["data_drift"]
    assert data.status == "PASS" == summary["status"] and data.checks  # the reference's own rows, read from SQL
    assert summary["summary"]["current"].startswith("sql connection 'warehouse': SELECT * FROM scored")
    try:
        run(DataQualityOperator(task_id="dq__tx", dataset="tx"), "manual__sql_dq", "assay_data_quality")
    except AirflowFailException:
        pass  # a FAIL verdict is recorded like any other; the point is the rows were read and validated
    row = recorded(metrics_url, "assay_data_quality", "manual__sql_dq")["data_quality:fraud_transactions"]
    assert row.status in ("PASS", "WARN", "FAIL") and len(row.checks) > 20


def test_golden_datasets_are_all_validated_and_a_broken_one_is_recorded(metrics_url, tmp_path, monkeypatch):
    golden = {"golden_dir": str(GOLDEN_DIR), "golden": ["no_such_golden", "fraud_transactions_200"]}
    configure(monkeypatch, tmp_path, metrics_url, data_quality=golden)
    with pytest.raises(AirflowFailException, match="no_such_golden.*has no schema file"):
        run(GoldenDatasetsOperator(task_id="golden"), "manual__golden", "assay_data_quality")
    rows = recorded(metrics_url, "assay_data_quality", "manual__golden")
    assert rows["golden:no_such_golden"].status == "ERROR"
    assert "known golden datasets" in rows["golden:no_such_golden"].message
    assert rows["golden:fraud_transactions_200"].status == "PASS"  # the broken one did not stop the next


def task_log(capfd) -> list[str]:
    """The task's log records as written (the SDK's structlog logger writes to stdout), one string each."""
    import re

    out = capfd.readouterr().out
    return [r for r in re.split(r"\n(?=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)", out) if r.strip()]


def test_a_failed_drift_task_logs_its_summary_last_and_leaves_it_in_xcom(
    metrics_url, tmp_path, monkeypatch, exports, capfd
):
    """The log's last line is the summary (the failing reason first, the gates with observed vs threshold,
    the run's page); XCom holds the failed result (its ``describe_dict()``) and the summary, though it raised."""
    configure(monkeypatch, tmp_path, metrics_url, datasets={"tx": dataset(exports, current="drifted", drift=DRIFT)})
    op = DriftCheckOperator(task_id="drift__tx", dataset="tx")
    ti = TaskInstanceStub(dag_id="assay_drift_checks", run_id="manual__xcom")
    with pytest.raises(AirflowFailException, match="drift FAIL: prediction 'score' drifted; "):
        op.execute(make_context(op.task_id, ti=ti))
    log = task_log(capfd)
    last = log[-1]
    assert "Assay summary: FAIL: checks " in last and "FAIL data_drift: prediction 'score' drifted" in last
    assert "failed gates (" in last and "observed " in last and "must be" in last
    assert "details: http://127.0.0.1:8080/assay/runs/assay_drift_checks/manual__xcom" in last
    pushed = ti.xcoms[("drift__tx", "return_value")]
    row = recorded(metrics_url, "assay_drift_checks", "manual__xcom")["data_drift"]
    assert pushed["status"] == "FAIL" and pushed["name"] == "data_drift" and pushed["message"] == row.message
    assert ti.xcoms[("drift__tx", "assay_summary")]["verdict"] == "FAIL"


def test_a_data_quality_log_leads_with_its_verdict_without_library_noise(
    metrics_url, tmp_path, monkeypatch, exports, capfd, caplog
):
    """Great Expectations logs ~200 INFO lines per validation; inside the task only its warnings pass."""
    from assay_airflow.operators.base import AssayReportLink, AssayRunLink

    configure(
        monkeypatch,
        tmp_path,
        metrics_url,
        datasets={"tx": dataset(exports, quality_suite="fraud_transactions")},
        data_quality={"suites_dir": str(SUITES_DIR)},
    )
    op = DataQualityOperator(task_id="dq__tx", dataset="tx")
    ti = TaskInstanceStub(dag_id="assay_data_quality", run_id="manual__quiet", task_id="dq__tx")
    caplog.set_level("INFO")
    try:
        out = op.execute(make_context(op.task_id, ti=ti))
    except AirflowFailException:
        out = None
    log = task_log(capfd)
    assert not [r for r in caplog.records if r.name.startswith("great_expectations") and r.levelno < 30]
    assert not [r for r in log if "great_expectations" in r], log[:5]
    assert len(log) <= 4, log  # the verdict, the summary (and the SDK's note on calling execute directly)
    assert "data quality of tx: " in log[-2] and "Assay summary: " in log[-1]
    report = ti.xcoms[("dq__tx", "assay_report")]
    assert report.endswith(".html") and f"report: {report}" in log[-1]
    if out is not None:  # a passing task returns its own value; nothing else is pushed as return_value
        assert ("dq__tx", "return_value") not in ti.xcoms
    # the extra links: the run's page, and the report served under the Assay page (it is under ASSAY_HOME)
    assert AssayRunLink().get_link(op, ti_key=ti) == "http://127.0.0.1:8080/assay/runs/assay_data_quality/manual__quiet"
    link = AssayReportLink().get_link(op, ti_key=ti)
    assert link.startswith("http://127.0.0.1:8080/assay/reports/") and link.endswith(".html")
    del op._assay_report  # in another process: found through XCom
    assert AssayReportLink().get_link(op, ti_key=ti) == link
