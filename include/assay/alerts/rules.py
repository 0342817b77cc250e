"""The platform's standing alert rules, evaluated from what the metrics DB holds after each run.

* test failure rate > ``test_failure_rate_max`` (failed + errored over the tests expected to pass: skipped
  and xfailed excluded; a strict xfail that passes is reported ``failed`` by pytest and counts as one; flaky
  tests (:mod:`assay.alerts.flaky`) are left out entirely, passing or failing);
* coverage drop > ``coverage_drop_max_points`` against the previous run on the branch.

A fired rule is a check with severity ``alert`` and status FAIL; rules never change the verdict.
"""

from __future__ import annotations

from collections.abc import Sequence

from assay.alerts.config import AlertRulesConfig
from assay.engines.per_commit.gates import PreviousCoverage, SuiteOutcome, coverage_drop_check
from assay.status import Status
from assay.store.records import CheckRecord


def evaluate_alert_rules(
    rules: AlertRulesConfig,
    suites: Sequence[SuiteOutcome],
    *,
    coverage_suite: str,
    branch: str | None,
    previous: PreviousCoverage | None,
    flaky_outcomes: Sequence[str] = (),
) -> list[CheckRecord]:
    """``flaky_outcomes``: this run's outcomes of its flaky tests, taken out of the failure rate."""
    executed = sum(s.counts.get("total", 0) - s.counts.get("skipped", 0) - s.counts.get("xfailed", 0) for s in suites)
    bad = sum(s.counts.get("failed", 0) + s.counts.get("error", 0) for s in suites)
    executed -= sum(1 for o in flaky_outcomes if o not in ("skipped", "xfailed"))
    bad -= sum(1 for o in flaky_outcomes if o in ("failed", "error"))
    left_out = f"; {len(flaky_outcomes)} flaky test(s) left out" if flaky_outcomes else ""
    if executed == 0:
        rate_check = CheckRecord(
            "alert:test_failure_rate",
            Status.SKIP,
            threshold=rules.test_failure_rate_max,
            comparator="<=",
            severity="alert",
            message="no tests executed",
        )
    else:
        rate = bad / executed
        rate_check = CheckRecord(
            "alert:test_failure_rate",
            Status.FAIL if rate > rules.test_failure_rate_max else Status.PASS,
            observed=round(rate, 4),
            threshold=rules.test_failure_rate_max,
            comparator="<=",
            severity="alert",
            message=f"{bad}/{executed} executed tests failed ({rate:.1%}){left_out}",
        )
    current = next((s.coverage_percent for s in suites if s.name == coverage_suite), None)
    drop = coverage_drop_check(
        "alert:coverage_drop", rules.coverage_drop_max_points, current, branch, previous, severity="alert"
    )
    return [rate_check, drop]
