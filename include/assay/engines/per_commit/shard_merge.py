"""Merge the shards of one suite into the suite run an unsharded run of the same commit would record.

* **Outcomes**: the shards' pytest report logs are joined into one (a collector every shard reports, such
  as a module that fails to import, counted once) and read by :func:`~.reportlog.parse_report_log`, so the
  node ids, outcomes and counts are pytest's own, as unsharded.
* **Coverage**: the shards' coverage data files are combined with coverage.py's own ``combine``, run by the
  target's Python in the checkout (its ``.coveragerc``/``pyproject.toml`` settings apply, ``source`` as
  pytest-cov sets it), and reported as JSON, then read as an unsharded run's report is.
* **Verdict**: the shards must account for the suite exactly: every shard collected the same tests (the
  same digest) and their selections partition them. A shard that is missing (lost, or no output after its
  retries), a shard whose tool failed, or shards that disagree make the suite ERROR, naming the shard; a
  complete merge is judged by :func:`~.pytest_suite.judge_report`, exactly as an unsharded run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assay.engines.per_commit.config import SuiteConfig
from assay.engines.per_commit.coverage import parse_coverage_json
from assay.engines.per_commit.pytest_suite import (
    COVERAGE_DATA,
    REPORT_LOG,
    SuiteResult,
    _collection_message,
    _rows,
    judge_report,
)
from assay.engines.per_commit.reportlog import parse_report_log
from assay.engines.per_commit.sharding import read_manifest
from assay.errors import ToolError
from assay.process import run_command, target_env
from assay.sandbox import SandboxPolicy, interpreter_dirs, wrap_command
from assay.status import Status

COMBINE_TIMEOUT_S = 600
# run by the target's Python: coverage.py is there (pytest-cov needs it), Assay is not
COMBINE_SCRIPT = """\
import sys
import coverage

data_file, json_out, source, *files = sys.argv[1:]
cov = coverage.Coverage(data_file=data_file, source=[source] if source else None, config_file=True)
cov.combine(files, keep=True, strict=True)
cov.save()
cov.json_report(ignore_errors=True, outfile=json_out)
"""


@dataclass(frozen=True)
class ShardOutput:
    """What one shard task left: its index, its output directory (None when the shard left nothing), and the
    status and message it recorded (None when it recorded nothing)."""

    index: int
    out_dir: Path | None
    status: Status | None = None
    message: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


def merge_report_logs(paths: list[Path], dest: Path) -> None:
    """Join the shards' report logs into ``dest``: every test report as written; a collector's report (which
    every shard writes, since every shard collects the whole suite) once; one session start and finish."""
    seen_collectors: set[tuple[str, str]] = set()
    start: str | None = None
    exitstatus: int | None = None
    lines: list[str] = []
    for path in paths:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                lines.append(line)  # parse_report_log says which line is malformed
                continue
            kind = data.get("$report_type")
            if kind == "SessionStart":
                start = start or line
            elif kind == "SessionFinish":
                status = data.get("exitstatus")
                if isinstance(status, int):
                    exitstatus = max(exitstatus or 0, status)
            elif kind == "CollectReport":
                key = (str(data.get("nodeid") or ""), str(data.get("outcome")))
                if key not in seen_collectors:
                    seen_collectors.add(key)
                    lines.append(line)
            else:
                lines.append(line)
    finish = json.dumps({"$report_type": "SessionFinish", "exitstatus": exitstatus or 0})
    dest.write_text("\n".join(([start] if start else []) + lines + [finish]) + "\n", encoding="utf-8")


def combine_coverage(
    *,
    python: str,
    worktree: Path,
    source: str,
    data_files: list[Path],
    out_dir: Path,
    env: dict[str, str],
    sandbox: SandboxPolicy | None = None,
) -> Path:
    """Combine the shards' coverage data into ``out_dir/.coverage`` and write ``out_dir/coverage.json``.

    The checkout's coverage config can load coverage plugins (the target's code): with ``sandbox`` it runs
    confined as the suite did, seeing the checkout, the interpreter and the shards' outputs read-only."""
    json_out = out_dir / "coverage.json"
    json_out.unlink(missing_ok=True)
    argv = [python, "-c", COMBINE_SCRIPT, str(out_dir / COVERAGE_DATA), str(json_out), source, *map(str, data_files)]
    run_env = target_env(env)
    if sandbox is not None:
        wrapped = wrap_command(
            sandbox,
            argv,
            cwd=worktree,
            env=run_env,
            read_only=[worktree, *interpreter_dirs(python), *sorted({p.parent for p in data_files})],
            writable=[out_dir],
        )
        argv, run_env = wrapped.argv, wrapped.env
    cmd = run_command(
        argv, cwd=worktree, timeout_s=COMBINE_TIMEOUT_S, log_path=out_dir / "coverage-combine.log", env=run_env
    )
    if cmd.timed_out or cmd.returncode != 0:
        how = "timed out" if cmd.timed_out else f"exited with {cmd.returncode}"
        raise ToolError(f"combining the shards' coverage {how}: {cmd.output_tail[-800:]}")
    return json_out


def merge_shards(
    *,
    name: str,
    suite: SuiteConfig,
    count: int,
    shards: list[ShardOutput],
    worktree: Path,
    out_dir: Path,
    python: str,
    source: str | None,
    env: dict[str, str] | None = None,
    sandbox: SandboxPolicy | None = None,
) -> SuiteResult:
    """The suite's one result from its ``count`` shards (see the module docstring); never raises.
    ``sandbox``: the policy the shards ran under, for the coverage combine (:func:`combine_coverage`)."""
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    root = Path(worktree)
    by_index = {s.index: s for s in shards}
    starts = [s.started_at for s in shards if s.started_at]
    ends = [s.finished_at for s in shards if s.finished_at]
    started = min(starts) if starts else datetime.now(UTC)
    problems: list[str] = []
    present: list[ShardOutput] = []
    for i in range(count):
        shard = by_index.get(i)
        label = f"shard {i + 1}/{count}"
        if shard is None or shard.out_dir is None or not (Path(shard.out_dir) / REPORT_LOG).is_file():
            problems.append(f"{label} left no report log (lost, or it failed before pytest ran)")
            continue
        present.append(shard)
        if shard.status is Status.ERROR:
            problems.append(f"{label}: {shard.message}")
    problems += _partition_problems(present, count)

    merged_log = out / REPORT_LOG
    merge_report_logs([Path(s.out_dir) / REPORT_LOG for s in present], merged_log)  # type: ignore[arg-type]

    def result(status: Status, message: str, **kw: Any) -> SuiteResult:
        finished = max(ends) if ends else datetime.now(UTC)
        res = SuiteResult(name=name, status=status, message=message, started_at=started, finished_at=finished, **kw)
        res.details["shards"] = {
            "count": count,
            "out_dirs": {s.index: str(s.out_dir) for s in present},
            "problems": problems,
        }
        return res

    try:
        report = parse_report_log(merged_log, root=root)
    except ToolError as exc:
        return result(Status.ERROR, f"merging {count} shards: {exc}", log_path=str(merged_log))
    common: dict[str, Any] = {"log_path": str(merged_log), **_rows(report)}
    coverage = None
    cov_message = ""
    if source and present:
        data = [Path(s.out_dir) / COVERAGE_DATA for s in present]  # type: ignore[arg-type]
        missing = [p for p in data if not p.is_file()]
        try:
            if missing:
                raise ToolError(f"no coverage data at {', '.join(map(str, missing))}")
            json_out = combine_coverage(
                python=python,
                worktree=root,
                source=source,
                data_files=data,
                out_dir=out,
                env=env or {},
                sandbox=sandbox,
            )
            coverage = parse_coverage_json(json_out, root=root)
        except ToolError as exc:
            cov_message = f"; coverage unavailable: {exc}"
    common["coverage"] = coverage
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        return result(
            Status.ERROR,
            f"suite {name!r} in {count} shards is incomplete: {shown} ({report.summary()} from the rest)",
            retryable=False,
            **common,
        )
    if report.collection_errors:
        return result(Status.ERROR, _collection_message(report), retryable=False, **common)
    status, message, retryable = judge_report(name, suite, report, cov_message)
    return result(status, f"{message} ({count} shards)", retryable=retryable, **common)


def _partition_problems(present: list[ShardOutput], count: int) -> list[str]:
    """Whether the shards' selections partition one and the same collected suite."""
    manifests = {s.index: read_manifest(Path(s.out_dir)) for s in present}  # type: ignore[arg-type]
    problems = [f"shard {i + 1}/{count} wrote no manifest of its selection" for i, m in manifests.items() if not m]
    known = {i: m for i, m in manifests.items() if m}
    if not known:
        return problems
    digests = {m["collected_digest"] for m in known.values()}
    if len(digests) > 1:
        sizes = ", ".join(f"shard {i + 1}: {m['collected']}" for i, m in sorted(known.items()))
        problems.append(f"the shards collected different tests ({sizes}); a collection that varies between runs")
        return problems
    collected = next(iter(known.values()))["collected"]
    seen: dict[str, int] = {}
    for i, m in sorted(known.items()):
        for node in m["selected"]:
            if node in seen:
                problems.append(f"{node} was selected by shards {seen[node] + 1} and {i + 1}")
            seen[node] = i
    if len(known) == count and len(seen) != collected:
        problems.append(f"the shards selected {len(seen)} of the {collected} collected tests")
    return problems
