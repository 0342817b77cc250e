"""The per-commit gates (configurable per target, DESIGN.md "record, then fail").

* every expected suite completed (a suite with no recorded result or an ERROR result is ERROR);
* all tests pass;
* line coverage of the coverage suite >= ``coverage_min``;
* every measured file of the coverage suite >= ``module_coverage_min`` (default ``coverage_min``), but
  those matching a ``module_coverage_exclude`` pattern, so a module at 40% cannot hide behind a high total;
* every file matching a ``critical_paths`` pattern is 100% covered (a pattern matching nothing is
  ERROR: a misconfigured gate must not pass silently);
* coverage dropped by at most ``coverage_drop_max`` points against the previous run on the branch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch

from assay.engines.per_commit.config import GateConfig
from assay.status import Status, worst
from assay.store.records import CheckRecord


@dataclass(frozen=True)
class SuiteOutcome:
    """What the gates need to know about one recorded suite run."""

    name: str
    status: Status
    message: str = ""
    counts: Mapping[str, int] = field(default_factory=dict)
    coverage_percent: float | None = None
    file_coverage: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PreviousCoverage:
    percent: float
    commit_sha: str


def evaluate_commit_gates(
    gates: GateConfig,
    suites: Sequence[SuiteOutcome],
    expected: Sequence[str],
    *,
    branch: str | None,
    previous: PreviousCoverage | None,
) -> list[CheckRecord]:
    by_name = {s.name: s for s in suites}
    checks: list[CheckRecord] = []
    for name in expected:
        s = by_name.get(name)
        if s is None:
            checks.append(
                CheckRecord(
                    f"suite_completed:{name}",
                    Status.ERROR,
                    message=f"suite {name!r} recorded no result (an earlier step failed)",
                )
            )
        elif s.status is Status.ERROR:
            checks.append(CheckRecord(f"suite_completed:{name}", Status.ERROR, message=s.message))
        else:
            checks.append(CheckRecord(f"suite_completed:{name}", Status.PASS, message=s.message))

    ran = [s for s in suites if s.counts.get("total")]
    if gates.all_tests_pass:
        if not ran:
            checks.append(CheckRecord("all_tests_pass", Status.ERROR, message="no suite produced test results"))
        else:
            bad = sum(s.counts.get("failed", 0) + s.counts.get("error", 0) for s in ran)
            checks.append(
                CheckRecord(
                    "all_tests_pass",
                    Status.FAIL if bad else Status.PASS,
                    observed=bad,
                    threshold=0,
                    comparator="==",
                    message=f"{bad} failed or errored test(s)" if bad else "every test passed",
                )
            )

    cov_suite = by_name.get(gates.coverage_suite)
    current = cov_suite.coverage_percent if cov_suite else None
    if current is None:
        checks.append(
            CheckRecord(
                "coverage_min",
                Status.ERROR,
                threshold=gates.coverage_min,
                comparator=">=",
                message=f"no line coverage recorded for suite {gates.coverage_suite!r}",
            )
        )
    else:
        ok = current >= gates.coverage_min
        checks.append(
            CheckRecord(
                "coverage_min",
                Status.PASS if ok else Status.FAIL,
                observed=round(current, 2),
                threshold=gates.coverage_min,
                comparator=">=",
                message=f"line coverage {current:.2f}% (suite {gates.coverage_suite!r}), minimum {gates.coverage_min}%",
            )
        )

    files = cov_suite.file_coverage if cov_suite else {}
    if gates.module_minimum > 0:
        checks.append(module_coverage_check(gates, files))
    for pattern in gates.critical_paths:
        matched = {path: pct for path, pct in files.items() if fnmatch(path, pattern)}
        if not matched:
            checks.append(
                CheckRecord(
                    f"critical_path:{pattern}",
                    Status.ERROR,
                    threshold=100,
                    comparator=">=",
                    message=f"critical path {pattern!r} matched no measured file",
                )
            )
            continue
        low = {p: pct for p, pct in matched.items() if pct < 100.0}
        checks.append(
            CheckRecord(
                f"critical_path:{pattern}",
                Status.FAIL if low else Status.PASS,
                observed=round(min(matched.values()), 2),
                threshold=100,
                comparator=">=",
                message=("below 100%: " + ", ".join(f"{p} {v:.1f}%" for p, v in sorted(low.items())))
                if low
                else f"{len(matched)} file(s) fully covered",
            )
        )

    checks.append(coverage_drop_check("coverage_drop", gates.coverage_drop_max, current, branch, previous))
    return checks


def module_coverage_check(gates: GateConfig, files: Mapping[str, float], *, listed: int = 10) -> CheckRecord:
    """Every measured file (but the excluded ones) at or above the per-module minimum."""
    minimum, suite = gates.module_minimum, gates.coverage_suite
    if not files:
        return CheckRecord(
            "module_coverage_min",
            Status.ERROR,
            threshold=minimum,
            comparator=">=",
            message=f"no per-file line coverage recorded for suite {suite!r}",
        )
    excluded = sorted(p for p in files if any(fnmatch(p, pattern) for pattern in gates.module_coverage_exclude))
    measured = {p: pct for p, pct in files.items() if p not in excluded}
    if not measured:
        return CheckRecord(
            "module_coverage_min",
            Status.ERROR,
            threshold=minimum,
            comparator=">=",
            message=f"module_coverage_exclude {gates.module_coverage_exclude} excludes every one "
            f"of the {len(files)} measured file(s) of suite {suite!r}",
        )
    low = sorted((pct, p) for p, pct in measured.items() if pct < minimum)
    note = f" ({len(excluded)} excluded)" if excluded else ""
    if low:
        shown = ", ".join(f"{p} {pct:.1f}%" for pct, p in low[:listed])
        more = f" and {len(low) - listed} more" if len(low) > listed else ""
        message = f"{len(low)} of {len(measured)} file(s) below {minimum:g}%{note}: {shown}{more}"
    else:
        message = f"all {len(measured)} file(s) at or above {minimum:g}%{note}"
    return CheckRecord(
        "module_coverage_min",
        Status.FAIL if low else Status.PASS,
        observed=round(min(measured.values()), 2),
        threshold=minimum,
        comparator=">=",
        message=message,
    )


def coverage_drop_check(
    name: str,
    max_drop: float,
    current: float | None,
    branch: str | None,
    previous: PreviousCoverage | None,
    *,
    fired: Status = Status.FAIL,
    severity: str = "error",
) -> CheckRecord:
    """Coverage drop in points against the previous run on ``branch`` (SKIP when there is no basis)."""
    if branch is None:
        return CheckRecord(
            name,
            Status.SKIP,
            threshold=max_drop,
            comparator="<=",
            severity=severity,
            message="no branch given, so there is no previous run to compare with",
        )
    if previous is None or current is None:
        return CheckRecord(
            name,
            Status.SKIP,
            threshold=max_drop,
            comparator="<=",
            severity=severity,
            message=f"no earlier coverage recorded on branch {branch!r}",
        )
    drop = previous.percent - current
    return CheckRecord(
        name,
        fired if drop > max_drop else Status.PASS,
        observed=round(drop, 2),
        threshold=max_drop,
        comparator="<=",
        severity=severity,
        message=f"coverage {current:.2f}% vs {previous.percent:.2f}% at {previous.commit_sha[:12]} on {branch}",
    )


def verdict(checks: Sequence[CheckRecord]) -> Status:
    """The run's verdict: the worst gate (alert-rule checks do not change it)."""
    return worst(c.status for c in checks if c.severity != "alert")


def outcome_from_row(row) -> SuiteOutcome:
    """A recorded suite run (``assay.store.models.SuiteRun``) as the gates see it."""
    from assay.store.repository import COVERAGE_METRIC, FILE_COVERAGE_METRIC

    total = next((m.value for m in row.metrics if m.name == COVERAGE_METRIC), None)
    files = {m.labels["file"]: m.value for m in row.metrics if m.name == FILE_COVERAGE_METRIC}
    return SuiteOutcome(
        name=row.name,
        status=Status(row.status),
        message=row.message or "",
        counts=dict((row.summary or {}).get("counts") or {}),
        coverage_percent=total,
        file_coverage=files,
    )
