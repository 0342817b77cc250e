"""The task summary (assay.summary) from real pytest report data: counts, each failed test with the first
line of its message and its file:line, the failed gates with observed vs threshold, the cut at 20 tests,
the report and the run's page."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from assay.engines.per_commit.reportlog import parse_report_log
from assay.results import Result
from assay.store.records import CheckRecord, TestCaseRecord
from assay.summary import MAX_FAILED_TESTS, FailedTestLine, find_report, message_rest, run_detail_url, summarize

OUTPUTS = Path(__file__).resolve().parents[1] / "fixtures" / "pytest_outputs"
T0 = datetime(2026, 12, 1, tzinfo=UTC)
URL = "http://af:8080/assay/runs/assay_per_commit/manual__1"


def pytest_result(log: str, **kw) -> Result:
    report = parse_report_log(OUTPUTS / log, root="/checkout")
    status = "FAIL" if report.failed else "PASS"
    fields = dict(name="unit", kind="pytest", status=status, message=report.summary(), test_cases=list(report.cases))
    return Result(**(fields | {"started_at": T0, "finished_at": T0} | kw))


def test_failed_tests_with_their_first_message_line_and_file_line():
    s = summarize([pytest_result("sample_reportlog.jsonl")], detail_url=URL)
    assert s.verdict == "FAIL" and s.failed_tests_total == 2
    first, second = s.failed_tests
    assert (first.node_id, first.location) == ("tests/test_calc.py::test_wrong_on_purpose", "tests/test_calc.py:24")
    assert first.first_line == "AssertionError: two and two make four"
    assert (second.outcome, second.location) == ("error", "tests/test_calc.py:29")
    text = s.text()
    assert text.splitlines()[0] == ("Assay summary: FAIL: tests 6 (3 passed, 1 failed, 1 error, 1 skipped)")
    assert (
        "  1. tests/test_calc.py::test_wrong_on_purpose (tests/test_calc.py:24): AssertionError: two and two make four"
        in text
    )
    assert (
        "  2. [error] tests/test_calc.py::test_uses_broken_fixture (tests/test_calc.py:29): RuntimeError: fixture exploded"
        in text
    )
    assert text.splitlines()[-1] == f"details: {URL}"


def test_every_kind_of_failure_in_pytest_outcomes_names_where_it_failed():
    s = summarize([pytest_result("outcomes_reportlog.jsonl")])
    by_id = {t.node_id.rsplit("::", 1)[-1]: t for t in s.failed_tests}
    assert by_id["test_fails"].location == "tests/test_outcomes.py:11"
    assert by_id["test_inner"].location == "tests/test_outcomes.py:81"
    assert by_id["test_fails_then_teardown_error"].first_line == "assert 1 == 2"
    # an xpass(strict) has no traceback: the test's file stands for where
    assert by_id["test_xpass_strict"].location == "tests/test_outcomes.py"
    assert "error at teardown: RuntimeError: teardown exploded" in message_rest(
        by_id["test_fails_then_teardown_error"].message
    )
    assert s.test_counts["total"] == len(parse_report_log(OUTPUTS / "outcomes_reportlog.jsonl").cases)


def test_a_passing_suite_lists_no_failure():
    s = summarize([pytest_result("demo_unit_reportlog.jsonl")])
    assert s.verdict == "PASS" and s.failed_tests == [] and "failed tests" not in s.text()
    assert s.lines()[0] == "Assay summary: PASS: tests 58 (58 passed)"


def test_at_most_20_failed_tests_are_listed_and_the_total_is_honest():
    base = pytest_result("sample_reportlog.jsonl")
    many = [
        TestCaseRecord(
            f"tests/test_many.py::test_{i}",
            "failed",
            0.1,
            f"assert {i} == 0\n  at /checkout/tests/test_many.py:{i + 3}",
        )
        for i in range(35)
    ]
    s = summarize([replace(base, test_cases=many)])
    assert s.failed_tests_total == 35 and len(s.failed_tests) == MAX_FAILED_TESTS == 20
    assert "failed tests (35, first 20):" in s.text()
    assert s.failed_tests[19].location == "tests/test_many.py:22" and "test_20" not in s.text()


def test_failed_gates_say_observed_against_threshold():
    gates = Result(
        name="per_commit_gates",
        kind="gates",
        status="FAIL",
        message="",
        started_at=T0,
        finished_at=T0,
        checks=[
            CheckRecord(
                "coverage_min", "FAIL", 72.5, 80.0, ">=", message="line coverage 72.50% (suite 'unit'), minimum 80%"
            ),
            CheckRecord("all_tests_pass", "FAIL", 2, 0, "<=", message="2 failed or errored test(s)"),
            CheckRecord("coverage_drop", "PASS", 0.5, 5.0, "<="),
            CheckRecord("alert:coverage_drop", "FAIL", 13, 5, "<=", severity="alert"),  # a rule, not a gate
        ],
    )
    s = summarize([gates], detail_url=URL)
    assert [g.name for g in s.failed_gates] == ["coverage_min", "all_tests_pass"]
    text = s.text()
    assert "  FAIL coverage_min: observed 72.5, must be >= 80; line coverage 72.50% (suite 'unit'), minimum 80%" in text
    assert "  FAIL all_tests_pass: observed 2, must be <= 0; 2 failed or errored test(s)" in text
    assert "checks 1/3 passed" in text.splitlines()[0]
    # the result's reason leads its own line: the failing checks first
    assert "  FAIL per_commit_gates: coverage_min FAIL: line coverage" in text


def test_the_report_and_the_run_page():
    dq = Result(
        name="data_quality:fraud",
        kind="data_quality",
        status="FAIL",
        message="2 failed of 48 expectations",
        started_at=T0,
        finished_at=T0,
        summary={"counts": {"failed": 2}, "report_path": "/home/assay/reports/fraud.html"},
    )
    s = summarize(
        [dq], detail_url=run_detail_url("http://af:8080/", "assay_data_quality", "scheduled__2026-12-01T00:00:00+00:00")
    )
    assert s.report == "/home/assay/reports/fraud.html" and "report: /home/assay/reports/fraud.html" in s.text()
    assert s.detail_url == "http://af:8080/assay/runs/assay_data_quality/scheduled__2026-12-01T00%3A00%3A00%2B00%3A00"
    assert find_report({"artefacts": {"json": "x.json", "html": "out/load_report.html"}}) == "out/load_report.html"
    assert find_report({"reports": {"oscal": "a.json"}}) is None and run_detail_url(None, "d", "r") is None
    assert s.as_dict()["report"] == s.report and s.as_dict()["verdict"] == "FAIL"


def test_a_long_first_line_is_cut_on_the_test_line_and_kept_whole_in_the_rest():
    long = "AssertionError: " + "x" * 500
    t = FailedTestLine.of("tests/t.py::test_long", "failed", f"{long}\n  at tests/t.py:3")
    assert len(t.first_line) <= 240 and t.first_line.endswith("…") and t.location == "tests/t.py:3"
    assert message_rest(t.message) == long


def test_no_url_credentials_in_the_summary():
    r = Result(
        name="s",
        kind="k",
        status="ERROR",
        message="cannot reach postgresql://u:hunter2@db/x",
        started_at=T0,
        finished_at=T0,
    )
    assert "hunter2" not in summarize([r]).text()
