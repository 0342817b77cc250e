from __future__ import annotations

import pytest

from assay.alerts.config import AlertRulesConfig
from assay.alerts.rules import evaluate_alert_rules
from assay.config import parse_config
from assay.engines.per_commit.config import GateConfig
from assay.engines.per_commit.gates import PreviousCoverage, SuiteOutcome, evaluate_commit_gates, verdict
from assay.errors import ConfigError
from assay.status import Status

GATES = GateConfig(coverage_min=80, critical_paths=["pkg/train*.py"], coverage_drop_max=5)
FILES = {"pkg/train.py": 100.0, "pkg/serve.py": 85.0}


def suites(unit_failed=0, unit_cov=90.0, files=FILES, integration_status=Status.PASS):
    unit_status = Status.FAIL if unit_failed else Status.PASS
    return [
        SuiteOutcome("checkout", Status.PASS),
        SuiteOutcome(
            "unit",
            unit_status,
            counts={"passed": 10 - unit_failed, "failed": unit_failed, "total": 10},
            coverage_percent=unit_cov,
            file_coverage=files,
        ),
        SuiteOutcome(
            "integration",
            integration_status,
            "boom" if integration_status is Status.ERROR else "",
            counts={"passed": 4, "total": 4} if integration_status is not Status.ERROR else {},
        ),
    ]


def by_name(checks):
    return {c.name: c for c in checks}


def evaluate(s, branch="main", previous=None):
    return evaluate_commit_gates(GATES, s, ["checkout", "unit", "integration"], branch=branch, previous=previous)


def test_all_green_passes():
    checks = evaluate(suites(), previous=PreviousCoverage(92.0, "b" * 40))
    assert verdict(checks) is Status.PASS
    assert by_name(checks)["coverage_drop"].observed == 2.0


def test_failed_test_fails_all_tests_pass():
    checks = by_name(evaluate(suites(unit_failed=2)))
    assert checks["all_tests_pass"].status == "FAIL" and checks["all_tests_pass"].observed == 2
    assert verdict(list(checks.values())) is Status.FAIL


def test_coverage_below_minimum_fails():
    c = by_name(evaluate(suites(unit_cov=79.99)))["coverage_min"]
    assert (c.status, c.observed, c.threshold, c.comparator) == ("FAIL", 79.99, 80, ">=")


def test_critical_path_must_be_fully_covered_and_must_match_something():
    c = by_name(evaluate(suites(files={"pkg/train.py": 99.0})))["critical_path:pkg/train*.py"]
    assert c.status == "FAIL" and "pkg/train.py 99.0%" in c.message
    c = by_name(evaluate(suites(files={"other.py": 100.0})))["critical_path:pkg/train*.py"]
    assert c.status == "ERROR" and "matched no measured file" in c.message


def test_a_module_below_the_minimum_fails_behind_a_high_total():
    files = {"pkg/train.py": 100.0, "pkg/serve.py": 40.0, **{f"pkg/m{i}.py": 100.0 for i in range(20)}}
    checks = by_name(evaluate(suites(unit_cov=97.0, files=files)))
    assert checks["coverage_min"].status == "PASS"  # the total alone would have passed
    c = checks["module_coverage_min"]
    assert (c.status, c.observed, c.threshold, c.comparator) == ("FAIL", 40.0, 80, ">=")
    assert c.message == "1 of 22 file(s) below 80%: pkg/serve.py 40.0%"
    assert verdict(list(checks.values())) is Status.FAIL


def test_module_minimum_defaults_to_coverage_min_and_is_configurable_with_excludes():
    files = {"pkg/train.py": 100.0, "pkg/serve.py": 60.0, "pkg/gen/proto_pb2.py": 10.0}
    assert GateConfig(coverage_min=70).module_minimum == 70
    gates = GateConfig(coverage_min=70, module_coverage_min=50, module_coverage_exclude=["pkg/gen/*"])
    checks = by_name(evaluate_commit_gates(gates, suites(files=files), ["unit"], branch=None, previous=None))
    c = checks["module_coverage_min"]
    assert (c.status, c.observed, c.threshold) == ("PASS", 60.0, 50)
    assert c.message == "all 2 file(s) at or above 50% (1 excluded)"
    off = evaluate_commit_gates(
        GateConfig(module_coverage_min=0), suites(files=files), ["unit"], branch=None, previous=None
    )
    assert "module_coverage_min" not in by_name(off)


def test_module_minimum_with_nothing_to_judge_is_error_never_pass():
    c = by_name(evaluate(suites(files={})))["module_coverage_min"]
    assert c.status == "ERROR" and "no per-file line coverage recorded for suite 'unit'" in c.message
    gates = GateConfig(module_coverage_exclude=["*"])
    c = by_name(evaluate_commit_gates(gates, suites(), ["unit"], branch=None, previous=None))["module_coverage_min"]
    assert c.status == "ERROR" and "excludes every one of the 2 measured file(s)" in c.message


def test_module_coverage_settings_are_validated():
    with pytest.raises(
        ConfigError, match=r"targets\.t\.gates\.module_coverage_min: Input should be less than or equal to 100"
    ):
        parse_config({"targets": {"t": {"repo": "/x", "gates": {"module_coverage_min": 120}}}})


def test_coverage_drop_against_previous_run_on_branch():
    checks = by_name(evaluate(suites(unit_cov=84.0), previous=PreviousCoverage(90.0, "c" * 40)))
    assert checks["coverage_drop"].status == "FAIL" and checks["coverage_drop"].observed == 6.0
    assert by_name(evaluate(suites(), branch=None))["coverage_drop"].status == "SKIP"
    assert by_name(evaluate(suites(), previous=None))["coverage_drop"].status == "SKIP"


def test_missing_or_errored_suite_is_error_never_pass():
    s = [x for x in suites() if x.name != "integration"]
    checks = by_name(evaluate(s))
    assert checks["suite_completed:integration"].status == "ERROR"
    assert verdict(list(checks.values())) is Status.ERROR
    checks = by_name(evaluate(suites(integration_status=Status.ERROR)))
    assert checks["suite_completed:integration"].message == "boom"


def test_nothing_recorded_at_all_is_error():
    checks = evaluate([])
    assert verdict(checks) is Status.ERROR
    assert by_name(checks)["all_tests_pass"].status == "ERROR"
    assert by_name(checks)["coverage_min"].status == "ERROR"


def test_alert_rules_fire_on_failure_rate_and_coverage_drop_but_do_not_change_the_verdict():
    rules = AlertRulesConfig()
    s = suites(unit_failed=2, unit_cov=80.0)
    fired = by_name(
        evaluate_alert_rules(rules, s, coverage_suite="unit", branch="main", previous=PreviousCoverage(90.0, "d" * 40))
    )
    assert fired["alert:test_failure_rate"].status == "FAIL"
    assert fired["alert:test_failure_rate"].observed == round(2 / 14, 4)
    assert fired["alert:coverage_drop"].status == "FAIL" and fired["alert:coverage_drop"].severity == "alert"
    quiet = by_name(
        evaluate_alert_rules(rules, suites(unit_failed=1), coverage_suite="unit", branch="main", previous=None)
    )
    assert quiet["alert:test_failure_rate"].status == "PASS"  # 1/14 = 7% <= 10%
    assert verdict(evaluate(suites()) + list(fired.values())) is Status.PASS
