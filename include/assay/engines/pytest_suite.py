"""Run one pytest suite of a target as a subprocess and turn its JUnit XML and coverage JSON into a result.

The verdict comes from the machine outputs and the exit code, never from the log text:

* exit 0 and tests ran → PASS; exit 1 with failed or errored cases → FAIL;
* timeout (group killed), no tests collected (exit 5 or an empty report), usage/internal errors
  (exit 2-4), a missing or malformed report → ERROR.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assay.config import SuiteConfig
from assay.engines.coverage import CoverageReport, parse_coverage_json
from assay.engines.junit import JUnitReport, TestCaseResult, parse_junit_xml
from assay.errors import ToolError
from assay.process import run_command
from assay.status import Status

PYTEST_NO_TESTS = 5
_SCRUBBED_ENV_PREFIXES = ("AIRFLOW", "ASSAY_", "_AIRFLOW")


@dataclass
class SuiteResult:
    """What one suite run produced; ``describe_dict`` is the JSON-safe summary pushed to XCom."""

    name: str
    kind: str
    status: Status
    started_at: datetime
    finished_at: datetime
    message: str = ""
    cases: tuple[TestCaseResult, ...] = ()
    coverage: CoverageReport | None = None
    exit_code: int | None = None
    log_path: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return JUnitReport(self.cases).counts

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def describe_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status.value,
            "message": self.message,
            "counts": self.counts,
            "duration_s": round(self.duration_s, 3),
            "coverage_percent": None if self.coverage is None else round(self.coverage.line_percent, 2),
            "exit_code": self.exit_code,
        }


def target_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a target's tests see: the worker's, minus Airflow/Assay settings and secrets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_ENV_PREFIXES)}
    env.pop("PYTHONPATH", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


def build_pytest_argv(
    python: str, suite: SuiteConfig, *, source: str | None, out_dir: Path
) -> list[str]:
    argv = [python, "-m", "pytest", *suite.paths, "-p", "no:cacheprovider", "-q", "-rN"]
    argv += [f"--junitxml={out_dir / 'junit.xml'}", "-o", "junit_family=xunit2"]
    if suite.marker:
        argv += ["-m", suite.marker]
    if suite.workers != 0:
        argv += ["-n", str(suite.workers)]
    if source:
        argv += [f"--cov={source}", f"--cov-report=json:{out_dir / 'coverage.json'}"]
    argv += suite.extra_args
    return argv


def run_pytest_suite(
    *,
    name: str,
    suite: SuiteConfig,
    workdir: str | Path,
    out_dir: str | Path,
    python: str | None = None,
    source: str | None = None,
) -> SuiteResult:
    """Run the suite in ``workdir`` (the checked-out commit) and return its result; never raises for
    a failure of the suite itself: those are FAIL or ERROR results."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("junit.xml", "coverage.json"):
        (out / stale).unlink(missing_ok=True)
    argv = build_pytest_argv(python or sys.executable, suite, source=source, out_dir=out)
    started = datetime.now(UTC)

    def result(status: Status, message: str, **kw: Any) -> SuiteResult:
        return SuiteResult(name, "pytest", status, started, datetime.now(UTC), message, **kw)

    try:
        cmd = run_command(
            argv,
            cwd=workdir,
            timeout_s=suite.timeout_s,
            log_path=out / "pytest.log",
            env=target_env({"COVERAGE_FILE": str(out / ".coverage")}),
        )
    except ToolError as exc:
        return result(Status.ERROR, str(exc))
    common = {"exit_code": cmd.returncode, "log_path": str(cmd.log_path), "details": {"argv": list(argv)}}
    if cmd.timed_out:
        return result(
            Status.ERROR,
            f"suite {name!r} exceeded its timeout of {suite.timeout_s} s; its process group was killed",
            **common,
        )
    if cmd.returncode == PYTEST_NO_TESTS:
        return result(Status.ERROR, _no_tests_message(name, suite), **common)
    if cmd.returncode not in (0, 1):
        return result(
            Status.ERROR,
            f"pytest exited with code {cmd.returncode} (usage or internal error):\n{cmd.output_tail[-1500:]}",
            **common,
        )
    try:
        report = parse_junit_xml(out / "junit.xml")
    except ToolError as exc:
        return result(Status.ERROR, f"{exc}\n{cmd.output_tail[-1500:]}", **common)
    coverage = None
    cov_message = ""
    if source:
        try:
            coverage = parse_coverage_json(out / "coverage.json")
        except ToolError as exc:
            cov_message = f"; coverage unavailable: {exc}"
    common |= {"cases": report.cases, "coverage": coverage}
    counts = report.counts
    summary = ", ".join(f"{counts[k]} {k}" for k in ("passed", "failed", "error", "skipped") if counts[k])
    if counts["total"] == 0:
        return result(Status.ERROR, _no_tests_message(name, suite), **common)
    if report.failed:
        return result(Status.FAIL, f"{summary}{cov_message}", **common)
    if cmd.returncode != 0:
        return result(
            Status.ERROR,
            f"pytest exited with 1 but the report has no failed test:\n{cmd.output_tail[-1500:]}",
            **common,
        )
    if counts["passed"] == 0:
        return result(Status.ERROR, f"every test was skipped ({summary}): nothing was verified", **common)
    return result(Status.PASS, f"{summary}{cov_message}", **common)


def _no_tests_message(name: str, suite: SuiteConfig) -> str:
    where = " ".join(suite.paths)
    marker = f" with marker {suite.marker!r}" if suite.marker else ""
    return f"suite {name!r}: pytest collected no tests in {where}{marker}; an empty suite is ERROR, not PASS"
