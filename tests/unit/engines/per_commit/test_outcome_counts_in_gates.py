"""The per-commit gates and the standing alert rules on pytest's own outcomes: an expected failure (xfailed)
is not a failure; a strict xfail that passes is reported ``failed`` by pytest and fails the gate; the
failure rate is over the tests that were expected to pass."""

from __future__ import annotations

from assay.alerts.config import AlertRulesConfig
from assay.alerts.rules import evaluate_alert_rules
from assay.engines.per_commit.config import GateConfig
from assay.engines.per_commit.gates import SuiteOutcome, evaluate_commit_gates
from assay.engines.per_commit.reportlog import parse_report_log
from assay.status import Status

GATES = GateConfig(coverage_min=0, coverage_suite="unit")


def counts(**kw):
    base = {"passed": 0, "failed": 0, "error": 0, "skipped": 0, "xfailed": 0, "xpassed": 0}
    return base | kw | {"total": sum(kw.values())}


def gate(c):
    outcome = SuiteOutcome("unit", Status.PASS, counts=c, coverage_percent=90.0)
    checks = evaluate_commit_gates(GATES, [outcome], ["unit"], branch=None, previous=None)
    return next(ch for ch in checks if ch.name == "all_tests_pass")


def rate(c, max_rate=0.10):
    outcome = SuiteOutcome("unit", Status.PASS, counts=c, coverage_percent=90.0)
    checks = evaluate_alert_rules(
        AlertRulesConfig(test_failure_rate_max=max_rate), [outcome], coverage_suite="unit", branch=None, previous=None
    )
    return next(ch for ch in checks if ch.name == "alert:test_failure_rate")


def test_xfailed_and_non_strict_xpassed_pass_the_gate():
    assert gate(counts(passed=5, xfailed=3, xpassed=1)).status == Status.PASS


def test_strict_xpass_as_pytest_reports_it_fails_the_gate(fixtures_dir):
    report = parse_report_log(fixtures_dir / "pytest_outputs" / "outcomes_reportlog.jsonl")
    strict = {c.node_id: c.outcome for c in report.cases}["tests/test_outcomes.py::test_xpass_strict"]
    assert strict == "failed"
    assert gate(counts(passed=5, failed=1, xfailed=2)).status == Status.FAIL


def test_failure_rate_leaves_expected_failures_out_like_skips():
    # 1 failure among 9 tests expected to pass is 11%: the 10 xfailed tests do not dilute it below 10%
    check = rate(counts(passed=8, failed=1, skipped=1, xfailed=10))
    assert check.status == Status.FAIL and check.observed == round(1 / 9, 4)
    assert rate(counts(passed=9, xpassed=1, xfailed=10)).status == Status.PASS


def test_recorded_outcomes_suite_counts_through_the_rules(fixtures_dir):
    report = parse_report_log(fixtures_dir / "pytest_outputs" / "outcomes_reportlog.jsonl")
    # pytest: 4 failed, 13 passed, 2 skipped, 2 xfailed, 1 xpassed, 3 errors over 23 tests
    check = rate(report.counts, max_rate=1.0)
    assert check.observed == round(7 / (23 - 2 - 2), 4)
