"""Run one pytest suite of a target as a subprocess and turn pytest's report log and coverage JSON into a result.

The verdict comes from the machine outputs and the exit code, never from the log text:

* tests ran and none failed → PASS; a failed or errored test → FAIL;
* a collection error (a test module or conftest that does not import, a SyntaxError) → ERROR naming each
  one ("SyntaxError in tests/test_x.py:12"), final: a retry of the same commit cannot change it;
* the suite's timeout → ERROR (final) with the tests that finished before it and the test that was running;
* no tests collected, every test skipped, a usage error (a bad path or option in the suite's config) →
  ERROR, final; pytest crashing or writing no report log → ERROR, retryable.

Outcomes and node ids are pytest's own (:mod:`assay.engines.per_commit.reportlog`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assay.engines.per_commit.config import SuiteConfig
from assay.engines.per_commit.coverage import CoverageReport, parse_coverage_json
from assay.engines.per_commit.reportlog import (
    FAILING,
    CollectionError,
    PytestReport,
    conftest_error_from_output,
    empty_counts,
    parse_report_log,
    summary_line,
)
from assay.engines.per_commit.sharding import ShardSpec
from assay.errors import ToolError
from assay.process import run_command, target_env
from assay.results import Result
from assay.sandbox import SandboxPolicy, interpreter_dirs, wrap_command
from assay.status import Status
from assay.store.records import MetricRecord, TestCaseRecord
from assay.store.repository import COVERAGE_METRIC, FILE_COVERAGE_METRIC

PYTEST_INTERRUPTED = 2
PYTEST_INTERNAL_ERROR = 3
PYTEST_USAGE_ERROR = 4
PYTEST_NO_TESTS = 5
REPORT_LOG = "reportlog.jsonl"
COVERAGE_DATA = ".coverage"
SHARD_PLUGIN_MODULE = "assay_shard"


@dataclass(kw_only=True)
class SuiteResult(Result):
    """One pytest suite run: its test cases are pytest's own rows; its metrics (line coverage overall and per
    file, the outcome counts, the duration) and its summary are derived from the fields below.

    ``counts`` are pytest's summary-line counts plus ``total`` (the rows in ``test_cases``); ``retryable`` says
    whether an ERROR could go away on a retry of the same commit (a crashed tool: yes; a SyntaxError, an
    empty suite or a timeout: no); ``details`` (argv, the Python and environment used) stay with the result."""

    kind: str = "pytest"
    coverage: CoverageReport | None = None
    exit_code: int | None = None
    log_path: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=empty_counts)
    collection_errors: tuple[CollectionError, ...] = ()
    retryable: bool = True
    metrics: list[MetricRecord] = field(init=False)
    summary: dict[str, Any] = field(init=False)

    @property
    def import_errors(self) -> tuple[CollectionError, ...]:
        return PytestReport((), {}, self.collection_errors).import_errors

    def derive(self) -> None:
        metrics = []
        if self.coverage is not None:
            metrics.append(MetricRecord(COVERAGE_METRIC, round(self.coverage.line_percent, 4), "percent"))
            metrics += [
                MetricRecord(
                    FILE_COVERAGE_METRIC,
                    round(f.percent, 4),
                    "percent",
                    {"file": f.path, "statements": f.statements, "covered": f.covered},
                )
                for f in self.coverage.files
            ]
        metrics += [MetricRecord(f"tests.{k}", float(v), "count") for k, v in self.counts.items()]
        metrics.append(MetricRecord("suite.duration_s", round(self.duration_s, 3), "s"))
        self.metrics = metrics
        self.summary = {
            "counts": dict(self.counts),
            "coverage_percent": None if self.coverage is None else round(self.coverage.line_percent, 2),
            "exit_code": self.exit_code,
            "collection_errors": [e.describe() for e in self.collection_errors],
            "log_path": self.log_path,
        }


def build_pytest_argv(
    python: str, suite: SuiteConfig, *, source: str | None, out_dir: Path, sharded: bool = False
) -> list[str]:
    argv = [python, "-m", "pytest", *suite.paths, "-p", "no:cacheprovider", "-q", "-rN"]
    if sharded:  # keeps this shard's part of the collected tests (assay.engines.per_commit.shard_plugin)
        argv += ["-p", SHARD_PLUGIN_MODULE]
    argv += [f"--report-log={out_dir / REPORT_LOG}"]
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
    env: dict[str, str] | None = None,
    shard: ShardSpec | None = None,
    sandbox: SandboxPolicy | None = None,
) -> SuiteResult:
    """Run the suite in ``workdir`` (the checked-out commit) and return its result; never raises for
    a failure of the suite itself: those are FAIL or ERROR results.

    ``env`` adds to the scrubbed environment (e.g. ``PYTHONPATH`` of the commit's own installed project).
    With ``shard``, only that shard's part of the collected tests runs, and the result is the shard's own:
    ERROR only when the tool failed; whether the suite as a whole verified anything is judged on the merge
    (:func:`assay.engines.per_commit.shard_merge.merge_shards`).
    ``sandbox``: run pytest confined by that policy (:mod:`assay.sandbox`: the worktree and the interpreter
    read-only, ``out_dir`` writable, nothing else of the worker); a sandbox that cannot be set up is ERROR.
    """
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for stale in (REPORT_LOG, "coverage.json", COVERAGE_DATA):
        (out / stale).unlink(missing_ok=True)
    argv = build_pytest_argv(python or sys.executable, suite, source=source, out_dir=out, sharded=shard is not None)
    if shard is not None:
        env = dict(env or {}) | shard.install(out, (env or {}).get("PYTHONPATH"))
    started = datetime.now(UTC)

    def result(status: Status, message: str, **kw: Any) -> SuiteResult:
        return SuiteResult(
            name=name, status=status, message=message, started_at=started, finished_at=datetime.now(UTC), **kw
        )

    run_env = target_env({"COVERAGE_FILE": str(out / COVERAGE_DATA)} | (env or {}))
    confined: dict[str, Any] = {"sandbox": None}
    try:
        run_argv = argv
        if sandbox is not None:  # the commit's code: confined (assay.sandbox), only around the one command
            wrapped = wrap_command(
                sandbox,
                argv,
                cwd=workdir,
                env=run_env,
                read_only=[workdir, *interpreter_dirs(argv[0])],
                writable=[out],
            )
            run_argv, run_env, confined = wrapped.argv, wrapped.env, {"sandbox": wrapped.describe()}
        cmd = run_command(run_argv, cwd=workdir, timeout_s=suite.timeout_s, log_path=out / "pytest.log", env=run_env)
    except ToolError as exc:
        return result(Status.ERROR, str(exc), retryable=exc.retryable)
    common: dict[str, Any] = {
        "exit_code": cmd.returncode,
        "log_path": str(cmd.log_path),
        "details": {"argv": list(argv)} | confined,
    }
    root = Path(workdir)

    if cmd.timed_out:
        report = _partial_report(out / REPORT_LOG, root)
        return result(
            Status.ERROR,
            interrupted_message(
                name, report, f"exceeded its timeout of {suite.timeout_s} s; its process group was killed"
            ),
            retryable=False,
            **_rows(report),
            **common,
        )
    if cmd.returncode == PYTEST_NO_TESTS and shard is not None and shard.selected_nothing(out):
        return result(Status.PASS, f"no test of the {shard.describe()} fell to this shard", **common)
    if cmd.returncode == PYTEST_NO_TESTS:
        return result(Status.ERROR, _no_tests_message(name, suite), retryable=False, **common)
    if cmd.returncode == PYTEST_USAGE_ERROR and (conftest := conftest_error_from_output(cmd.output_tail, root)):
        report = PytestReport(
            (TestCaseRecord(conftest.node_id, "error", 0.0, f"collection error: {conftest.message}"),),
            empty_counts() | {"error": 1, "total": 1},
            (conftest,),
        )
        return result(Status.ERROR, _collection_message(report), retryable=False, **_rows(report), **common)
    if cmd.returncode == PYTEST_USAGE_ERROR:
        return result(
            Status.ERROR,
            f"pytest usage error (check the suite's paths, marker and extra_args): {_error_lines(cmd.output_tail)}",
            retryable=False,
            **common,
        )
    try:
        report = parse_report_log(out / REPORT_LOG, root=root)
    except ToolError as exc:
        return result(Status.ERROR, f"{exc}; pytest exited with {cmd.returncode}:\n{cmd.output_tail[-1500:]}", **common)
    common |= _rows(report)
    if report.collection_errors:
        return result(Status.ERROR, _collection_message(report), retryable=False, **common)
    if cmd.returncode == PYTEST_INTERNAL_ERROR:
        return result(Status.ERROR, f"pytest internal error (exit 3):\n{cmd.output_tail[-1500:]}", **common)
    if cmd.returncode not in (0, 1):
        how = f"was killed by signal {-cmd.returncode}" if cmd.returncode < 0 else f"exited with {cmd.returncode}"
        return result(
            Status.ERROR,
            interrupted_message(
                name, report.with_unfinished(f"did not finish: pytest {how}"), f"stopped: pytest {how}"
            ),
            **common,
        )

    coverage = None
    cov_message = ""
    if source:
        try:
            coverage = parse_coverage_json(out / "coverage.json", root=root)
        except ToolError as exc:
            cov_message = f"; coverage unavailable: {exc}"
    common["coverage"] = coverage
    if report.failed:
        return result(Status.FAIL, f"{report.summary()}{cov_message}", **common)
    if cmd.returncode != 0:
        return result(
            Status.ERROR,
            f"pytest exited with 1 but the report has no failed test:\n{cmd.output_tail[-1500:]}",
            **common,
        )
    if shard is not None:  # the merge judges whether the suite as a whole verified anything
        return result(Status.PASS, f"{shard.describe()}: {report.summary()}{cov_message}", **common)
    status, message, retryable = judge_report(name, suite, report, cov_message)
    return result(status, message, retryable=retryable, **common)


def judge_report(
    name: str, suite: SuiteConfig, report: PytestReport, cov_message: str = ""
) -> tuple[Status, str, bool]:
    """The verdict on a complete report of a suite without collection errors: (status, message, retryable).
    FAIL when a test failed; ERROR (final) when nothing ran or nothing passed: nothing was verified."""
    counts = report.counts
    summary = report.summary()
    if counts["total"] == 0:
        return Status.ERROR, _no_tests_message(name, suite), False
    if report.failed:
        return Status.FAIL, f"{summary}{cov_message}", True
    if counts["passed"] + counts["xpassed"] == 0:
        return Status.ERROR, f"no test passed ({summary}): nothing was verified", False
    return Status.PASS, f"{summary}{cov_message}", True


def interrupted_suite_result(
    *, name: str, out_dir: str | Path, workdir: str | Path, started_at: datetime, reason: str
) -> SuiteResult:
    """The result of a suite whose run was cut short from outside (Airflow's own task timeout): what the
    report log holds so far, the test that was running, ERROR."""
    report = _partial_report(Path(out_dir) / REPORT_LOG, Path(workdir))
    return SuiteResult(
        name=name,
        status=Status.ERROR,
        message=interrupted_message(name, report, reason),
        started_at=started_at,
        finished_at=datetime.now(UTC),
        retryable=False,
        **_rows(report),
    )


def interrupted_message(name: str, report: PytestReport, reason: str) -> str:
    finished = [c for c in report.cases if c.node_id not in report.running]
    running = (
        (
            f" while running {', '.join(report.running[:3])}"
            + (f" and {len(report.running) - 3} more" if len(report.running) > 3 else "")
        )
        if report.running
        else ""
    )
    done = summary_line(dict(report.counts) | {"error": report.counts.get("error", 0) - len(report.running)})
    before = f"; {len(finished)} test(s) finished before it ({done})" if finished else "; no test had finished"
    return f"suite {name!r} {reason}{running}{before}"


def _partial_report(path: Path, root: Path) -> PytestReport:
    try:
        report = parse_report_log(path, root=root)
    except ToolError:
        return PytestReport((), empty_counts())
    return report.with_unfinished("did not finish: the suite was stopped while this test was running")


def _rows(report: PytestReport) -> dict[str, Any]:
    return {"test_cases": report.cases, "counts": dict(report.counts), "collection_errors": report.collection_errors}


def _collection_message(report: PytestReport) -> str:
    errors = report.collection_errors
    named = "; ".join(e.describe() for e in errors[:5]) + (f"; and {len(errors) - 5} more" if len(errors) > 5 else "")
    collectors = {e.node_id or "." for e in errors}
    ran = [c for c in report.cases if c.node_id not in collectors]
    tail = f" ({report.summary()})" if ran else ""
    failing = sum(1 for c in ran if c.outcome in FAILING)
    also = f"; {failing} test(s) also failed" if failing else ""
    return f"collection failed: {named}{also}{tail}"


def _error_lines(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.startswith(("ERROR:", "error:"))]
    return "; ".join(lines[-3:]) or output.strip()[-500:]


def _no_tests_message(name: str, suite: SuiteConfig) -> str:
    where = " ".join(suite.paths)
    marker = f" with marker {suite.marker!r}" if suite.marker else ""
    return f"suite {name!r}: pytest collected no tests in {where}{marker}; an empty suite is ERROR, not PASS"
