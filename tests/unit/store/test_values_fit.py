"""Every value the code writes fits its column, on PostgreSQL as on SQLite; one that does not is refused
the same way on both (SQLite never checked a VARCHAR length, so tests on it hid the load test's
11-character comparator that PostgreSQL refused)."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from support.records import make_record

from assay.store import CheckRecord, MetricRecord, MetricsStore, RecordRejected, TestCaseRecord
from assay.store.models import Check, Finding, Metric, SuiteRun, TestCase

REPO = Path(__file__).resolve().parents[3]

# keyword (or positional slot of a record class) -> the column its literal values land in
KEYWORD_COLUMNS = {
    "comparator": Check.__table__.c.comparator,
    "severity": Check.__table__.c.severity,
    "unit": Metric.__table__.c.unit,
    "outcome": TestCase.__table__.c.outcome,
    "kind": SuiteRun.__table__.c.kind,
}
POSITIONAL = {
    "CheckRecord": {1: Check.__table__.c.status, 4: Check.__table__.c.comparator, 5: Check.__table__.c.severity},
    "MetricRecord": {2: Metric.__table__.c.unit},
    "TestCaseRecord": {1: TestCase.__table__.c.outcome},
    "FindingRecord": {0: Finding.__table__.c.source, 2: Finding.__table__.c.severity},
}


def literal_values():
    """(file:line, column, value) for every string literal the code passes where a bounded column takes it."""
    for root in ("include/assay", "plugins/assay_airflow"):
        for path in sorted((REPO / root).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.Call):
                    continue
                where = f"{path.relative_to(REPO)}:{node.lineno}"
                for kw in node.keywords:
                    if (
                        kw.arg in KEYWORD_COLUMNS
                        and isinstance(kw.value, ast.Constant)
                        and isinstance(kw.value.value, str)
                    ):
                        yield where, KEYWORD_COLUMNS[kw.arg], kw.value.value
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                for pos, column in POSITIONAL.get(name, {}).items():
                    if pos < len(node.args) and isinstance(node.args[pos], ast.Constant):
                        if isinstance(node.args[pos].value, str):
                            yield where, column, node.args[pos].value


def test_every_literal_the_code_writes_fits_its_column():
    found = list(literal_values())
    comparators = {v for _, c, v in found if c.name == "comparator"}
    assert {">=", "<=", "=="} <= comparators  # the scan sees the writers
    too_long = [
        (where, f"{c.table.name}.{c.name}({c.type.length})", v) for where, c, v in found if len(v) > c.type.length
    ]
    assert too_long == []


def test_the_server_timing_comparator_is_recorded(store):
    rec = replace(
        make_record(),
        checks=(
            CheckRecord(
                "load.measurement_agreement",
                "PASS",
                0.05,
                0.2,
                "|ratio-1|<=",
                "warning",
                "client p95 within 20% of the server's",
            ),
        ),
    )
    store.record_suite_run(rec)
    (row,) = store.latest_suite_runs("assay_per_commit", "r1")
    assert [(c.comparator, c.severity) for c in row.checks] == [("|ratio-1|<=", "warning")]


def test_names_built_from_configuration_have_room(store):
    long_name = "critical_path:" + "src/package/" * 150 + "*.py"  # a pattern from a target's config
    rec = replace(
        make_record(name="chaos:" + "/experiments/" * 30 + "kill.json"),
        dataset="fraud.data:make_evaluation_set({" + "'n_rows': 4000, " * 40 + "})",
        checks=(CheckRecord(long_name, "PASS"),),
        metrics=(MetricRecord("chaos.probe." + "very long probe title " * 30, 1.0, "ms"),),
    )
    store.record_suite_run(rec)
    (row,) = store.latest_suite_runs("assay_per_commit", "r1")
    assert row.name == rec.name and row.dataset == rec.dataset
    assert row.checks[0].name == long_name and row.metrics[0].name == rec.metrics[0].name


@pytest.mark.parametrize(
    "change, column",
    [
        ({"checks": (CheckRecord("c", "PASS", comparator="x" * 41),)}, "assay_check.comparator holds at most 40"),
        ({"metrics": (MetricRecord("m", 1.0, "u" * 41),)}, "assay_metric.unit holds at most 40"),
        ({"test_cases": (TestCaseRecord("t::x", "o" * 11),)}, "assay_test_case.outcome holds at most 10"),
        ({"name": "n" * 501}, "assay_suite_run.name holds at most 500"),
    ],
)
def test_a_value_longer_than_its_column_is_refused_the_same_on_every_database(store, change, column):
    with pytest.raises(RecordRejected, match=column) as err:
        store.record_suite_run(replace(make_record(), **change))
    assert not err.value.retryable
    with Session(store.engine) as s:
        assert s.scalar(select(func.count()).select_from(SuiteRun)) == 0  # nothing half-written


def test_a_nul_character_from_a_tool_is_stored_on_every_database(store):
    rec = replace(
        make_record(), message="binary\x00output", test_cases=(TestCaseRecord("t::nul", "failed", 0, "a\x00b"),)
    )
    store.record_suite_run(rec)
    (row,) = store.latest_suite_runs("assay_per_commit", "r1")
    assert row.message == "binary\ufffdoutput" and row.test_cases[0].message == "a\ufffdb"


@pytest.mark.postgres
def test_the_databases_own_refusal_is_final_and_not_retried(postgres_url, monkeypatch):
    """Without the length check, PostgreSQL itself refuses (DataError): no retry, RecordRejected."""
    sleeps: list[float] = []
    store = MetricsStore(postgres_url, attempts=5, backoff_s=0.5, sleep=sleeps.append)
    store.migrate()
    monkeypatch.setattr("assay.store.repository.check_lengths", lambda table, values: None)
    with pytest.raises(RecordRejected, match="value too long for type character varying\\(40\\)"):
        store.record_suite_run(replace(make_record(), checks=(CheckRecord("c", "PASS", comparator="x" * 41),)))
    assert sleeps == []
    store.dispose()
