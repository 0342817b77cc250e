"""run_data_quality on every source kind (CSV, Parquet, SQL through a real SQLAlchemy engine), and its errors."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from support.data_quality import fraud_frame
from support.demo_platform import SUITES_DIR

from assay.engines.data_quality.run import run_data_quality
from assay.errors import ConfigError, TargetError
from assay.sources import DataSource
from assay.status import Status

SUITE = "fraud_transactions"


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    fraud_frame().to_sql("transactions", engine, index=False)
    yield engine
    engine.dispose()


def test_sql_query_through_an_engine_validates_and_writes_a_report(sqlite_engine, tmp_path):
    source = DataSource(
        kind="sql", conn_id="warehouse", query="SELECT * FROM transactions WHERE hour >= :h", params={"h": 0}
    )
    result = run_data_quality(
        source, SUITE, suites_dir=SUITES_DIR, engine=sqlite_engine, report_dir=tmp_path / "reports"
    )
    assert result.status is Status.PASS, result.message
    assert (result.data_name, result.row_count) == ("sql:warehouse", 200)
    assert result.report_path == str(tmp_path / "reports" / "fraud_transactions__sql_warehouse.html")
    html = (tmp_path / "reports" / "fraud_transactions__sql_warehouse.html").read_text()
    assert "sql:warehouse" in html and "PASS" in html


def test_query_returning_no_rows_is_error(sqlite_engine):
    source = {"kind": "sql", "query": "SELECT * FROM transactions WHERE hour > 99", "name": "late_night"}
    result = run_data_quality(source, SUITE, suites_dir=SUITES_DIR, engine=sqlite_engine)
    assert result.status is Status.ERROR and result.row_count == 0 and "has no rows" in result.message


def test_unreadable_sources_are_error_results_that_say_why(sqlite_engine, tmp_path):
    missing = run_data_quality(
        {"kind": "csv", "path": str(tmp_path / "nope.csv")}, SUITE, suites_dir=SUITES_DIR, report_dir=tmp_path
    )
    assert missing.status is Status.ERROR and missing.outcomes == ()
    assert f"dataset file {tmp_path / 'nope.csv'} does not exist" in missing.message
    assert [c.status for c in missing.checks] == ["ERROR"]
    assert "does not exist" in (tmp_path / "fraud_transactions__nope.csv.html").read_text()

    bad_sql = run_data_quality(
        {"kind": "sql", "query": "SELECT * FROM no_such_table"}, SUITE, suites_dir=SUITES_DIR, engine=sqlite_engine
    )
    assert bad_sql.status is Status.ERROR and "no such table: no_such_table" in bad_sql.message

    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(TargetError, match="cannot read parquet dataset .*junk.parquet"):
        DataSource(kind="parquet", path=str(tmp_path / "junk.parquet")).read()


def test_bad_configuration_raises_before_reading(tmp_path):
    with pytest.raises(ConfigError, match="'nope' not found"):
        run_data_quality({"kind": "csv", "path": str(tmp_path / "x.csv")}, "nope", suites_dir=SUITES_DIR)
    with pytest.raises(ConfigError, match="needs a SQLAlchemy engine"):
        DataSource(kind="sql", query="select 1", conn_id="wh").read()


def test_a_failing_validation_says_what_failed_first(sqlite_engine, tmp_path):
    """The reason leads: the failed expectations and their first message line, then which suite on which data."""
    frame = fraud_frame()
    frame.loc[:49, "amount"] = None  # a quarter of the amounts missing
    path = tmp_path / "broken.csv"
    frame.to_csv(path, index=False)
    result = run_data_quality({"kind": "csv", "path": str(path)}, SUITE, suites_dir=SUITES_DIR)
    assert result.status is Status.FAIL, result.message
    assert result.message.split(" ", 2)[1] == "failed" and " expectations: " in result.message
    first = result.message.split(" expectations: ", 1)[1]
    assert first.startswith("expect_") and "(amount)" in first.split(";")[0]
    assert result.message.endswith("(suite 'fraud_transactions' on 'broken.csv', 200 rows)")
    ok = run_data_quality({"kind": "csv", "path": str(path).replace("broken", "ok")}, SUITE, suites_dir=SUITES_DIR)
    assert ok.status is Status.ERROR and ok.message.endswith("(suite 'fraud_transactions' on 'ok.csv', 0 rows)")
