"""The pytest suite engine against real pytest runs of tests/fixtures/sample_suite."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from assay.config import SuiteConfig
from assay.engines.pytest_suite import run_pytest_suite, target_env
from assay.engines.reportlog import parse_report_log
from assay.status import Status


@pytest.fixture
def sample(tmp_path, fixtures_dir):
    work = tmp_path / "sample"
    shutil.copytree(fixtures_dir / "sample_suite", work)
    return work


def test_failing_suite_is_fail_with_every_case_recorded(sample, tmp_path, fixtures_dir):
    res = run_pytest_suite(
        name="unit",
        suite=SuiteConfig(marker="unit and not slow"),
        workdir=sample,
        out_dir=tmp_path / "out",
        source="calc",
    )
    assert res.status is Status.FAIL
    recorded = parse_report_log(fixtures_dir / "pytest_outputs" / "sample_reportlog.jsonl")
    assert res.counts == recorded.counts
    assert res.coverage is not None and res.coverage.line_percent == pytest.approx(87.5)
    assert res.exit_code == 1 and "1 failed" in res.message
    assert not (sample / ".coverage").exists()  # coverage data kept out of the worktree


def test_passing_suite_in_parallel_is_pass(sample, tmp_path):
    suite = SuiteConfig(marker="unit and not slow", workers=2, extra_args=["-k", "add or divide"])
    res = run_pytest_suite(name="unit", suite=suite, workdir=sample, out_dir=tmp_path / "out", source="calc")
    assert res.status is Status.PASS, res.message
    assert res.counts["passed"] == 3 and res.counts["total"] == 3
    assert "-n" in res.details["argv"]


def test_no_tests_collected_is_error_not_pass(sample, tmp_path):
    res = run_pytest_suite(
        name="unit", suite=SuiteConfig(paths=["calc"], marker="unit"), workdir=sample, out_dir=tmp_path / "out"
    )
    assert res.status is Status.ERROR
    assert "collected no tests" in res.message and res.exit_code == 5


def test_all_skipped_is_error(sample, tmp_path):
    res = run_pytest_suite(
        name="unit", suite=SuiteConfig(extra_args=["-k", "test_skipped"]), workdir=sample, out_dir=tmp_path / "out"
    )
    assert res.status is Status.ERROR and "skipped" in res.message


def test_usage_error_is_error(sample, tmp_path):
    res = run_pytest_suite(
        name="unit", suite=SuiteConfig(paths=["does_not_exist"]), workdir=sample, out_dir=tmp_path / "out"
    )
    assert res.status is Status.ERROR and res.exit_code == 4


def test_hanging_suite_times_out_and_its_process_group_is_killed(sample, tmp_path, monkeypatch):
    pidfile = tmp_path / "hang.pid"
    monkeypatch.setenv("SAMPLE_HANG", "1")
    monkeypatch.setenv("SAMPLE_HANG_PIDFILE", str(pidfile))
    started = time.monotonic()
    res = run_pytest_suite(
        name="unit", suite=SuiteConfig(marker="slow", timeout_s=3), workdir=sample, out_dir=tmp_path / "out"
    )
    assert time.monotonic() - started < 20
    assert res.status is Status.ERROR and "exceeded its timeout of 3 s" in res.message
    pid = int(pidfile.read_text())
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_target_env_drops_airflow_and_assay_settings(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ASSAY_SLACK", "secret")
    monkeypatch.setenv("ASSAY_METRICS_DB_URL", "postgresql://u:p@h/db")
    env = target_env({"X": "1"})
    assert "AIRFLOW_CONN_ASSAY_SLACK" not in env and "ASSAY_METRICS_DB_URL" not in env
    assert env["X"] == "1" and "PYTHONPATH" not in env
