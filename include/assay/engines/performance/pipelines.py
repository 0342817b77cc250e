"""Pipeline execution under load: N training pipelines side by side, CPU and memory sampled throughout.

A pipeline is either a subprocess command (each run in its own process group, killed after
``run_timeout_s``) or a Python callable (run in a thread; a callable past its timeout is counted as not
completed and abandoned, since a thread cannot be killed). A run completes when the command exits 0 or
the callable returns without raising, within its timeout.

Checks: at least one run started (else ERROR), completion rate > ``completion_rate_min``, and the
utilisation gates of :mod:`assay.engines.performance.resources`.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from assay.engines.performance.config import MeasurementIsolationConfig, PipelineLoadConfig
from assay.engines.performance.machine_load import MachineLoadSampler, machine_records
from assay.engines.performance.resources import ResourceSampler, utilisation_checks_and_metrics
from assay.engines.performance.result import PerformanceResult, summarise
from assay.errors import ConfigError, ToolError
from assay.process import run_command, target_env
from assay.status import Status
from assay.store.records import CheckRecord, MetricRecord

KEEP_FAILED_LOGS = 20


@dataclass(frozen=True)
class PipelineRun:
    slot: int
    index: int
    completed: bool
    timed_out: bool
    duration_s: float
    message: str = ""


def resolve_command(command: list[str]) -> list[str]:
    """``{python}`` → the worker's interpreter."""
    return [sys.executable if part == "{python}" else part for part in command]


class _Slots:
    """Shared state of the slot threads: the run list, the deadline and the abort switch."""

    def __init__(self, config: PipelineLoadConfig, out: Path) -> None:
        self.config, self.out = config, out
        self.runs: list[PipelineRun] = []
        self.fatal: str | None = None
        self.deadline = time.monotonic() + config.duration_s
        self._lock = threading.Lock()
        self._failed_logs = 0

    def record(self, run: PipelineRun) -> None:
        with self._lock:
            self.runs.append(run)

    def keep_log(self) -> bool:
        with self._lock:
            self._failed_logs += 1
            return self._failed_logs <= KEEP_FAILED_LOGS

    def more(self, done_in_slot: int) -> bool:
        if self.fatal is not None:
            return False
        if not self.config.sustained:
            return done_in_slot == 0
        return time.monotonic() < self.deadline


def _command_slot(slots: _Slots, slot: int, argv: list[str], cwd: str, env: dict[str, str]) -> None:
    index = 0
    while slots.more(index):
        log = slots.out / f"slot{slot:03d}-run{index:04d}.log"
        try:
            res = run_command(argv, cwd=cwd, timeout_s=slots.config.run_timeout_s, log_path=log, env=env)
        except ToolError as exc:
            slots.fatal = str(exc)
            return
        completed = not res.timed_out and res.returncode == 0
        message = (
            ""
            if completed
            else (
                f"timed out after {slots.config.run_timeout_s:g} s"
                if res.timed_out
                else f"exit code {res.returncode}: {res.output_tail[-300:].strip()}"
            )
        )
        if completed or not slots.keep_log():
            log.unlink(missing_ok=True)
        slots.record(PipelineRun(slot, index, completed, res.timed_out, res.duration_s, message))
        index += 1


def _call_into(pipeline: Callable[[], object], outcome: dict[str, str]) -> None:
    try:
        pipeline()
        outcome["ok"] = ""
    except BaseException as exc:  # noqa: BLE001 - any failure of the pipeline is a failed run
        outcome["error"] = f"{type(exc).__name__}: {exc}"


def _callable_slot(slots: _Slots, slot: int, pipeline: Callable[[], object]) -> None:
    index = 0
    while slots.more(index):
        outcome: dict[str, str] = {}
        started = time.monotonic()
        worker = threading.Thread(
            target=_call_into, args=(pipeline, outcome), name=f"pipeline-slot{slot}-run{index}", daemon=True
        )
        worker.start()
        worker.join(slots.config.run_timeout_s)
        duration = time.monotonic() - started
        if worker.is_alive():
            slots.record(
                PipelineRun(
                    slot,
                    index,
                    False,
                    True,
                    duration,
                    f"still running after {slots.config.run_timeout_s:g} s (abandoned)",
                )
            )
            return  # the abandoned thread keeps its core busy; do not pile more runs on top of it
        slots.record(PipelineRun(slot, index, "ok" in outcome, False, duration, outcome.get("error", "")))
        index += 1


def run_pipeline_load(
    config: PipelineLoadConfig,
    *,
    out_dir: str | Path,
    name: str = "pipeline_load",
    pipeline: Callable[[], object] | None = None,
    isolation: MeasurementIsolationConfig | None = None,
) -> PerformanceResult:
    """Run ``config.concurrency`` pipelines concurrently for ``config.duration_s`` (see module doc). The
    machine's load is sampled throughout (``machine.*`` metrics) and, with ``isolation``, judged
    (``machine.undisturbed``; a disturbed run's machine-wide CPU FAIL is set aside as WARN)."""
    iso = isolation or MeasurementIsolationConfig(other_work_max_share=None)
    if pipeline is None and not config.command:
        raise ConfigError("pipeline load: set pipeline_load.command (an argv) or pass a pipeline callable")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    slots = _Slots(config, out)
    argv = resolve_command(config.command)
    if pipeline is None:
        cwd = config.cwd or str(out)
        env = target_env(dict(config.env))
        workers = [
            threading.Thread(target=_command_slot, args=(slots, k, argv, cwd, env), daemon=True)
            for k in range(config.concurrency)
        ]
    else:
        workers = [
            threading.Thread(target=_callable_slot, args=(slots, k, pipeline), daemon=True)
            for k in range(config.concurrency)
        ]
    with MachineLoadSampler(iso.sample_interval_s) as machine, ResourceSampler(config.sample_interval_s) as sampler:
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    runs = sorted(slots.runs, key=lambda r: (r.slot, r.index))
    details = {
        "command": argv if pipeline is None else getattr(pipeline, "__qualname__", repr(pipeline)),
        "cwd": config.cwd,
        "concurrency": config.concurrency,
        "duration_s": config.duration_s,
        "sustained": config.sustained,
        "resource_scope": config.resource_scope,
        "failed_runs": [asdict(r) for r in runs if not r.completed][:KEEP_FAILED_LOGS],
    }
    checks, metrics = _judge(config, runs, slots.fatal)
    res_checks, res_metrics = utilisation_checks_and_metrics(
        sampler.samples,
        scope=config.resource_scope,
        cpu_max=config.cpu_percent_max,
        memory_max=config.memory_percent_max,
        interval_s=config.sample_interval_s,
    )
    machine_checks, machine_metrics, details["machine"] = machine_records(machine, iso.other_work_max_share)
    checks += res_checks
    metrics += res_metrics
    if runs:  # a run that measured nothing has no load to qualify
        checks += machine_checks
        metrics += machine_metrics
    return PerformanceResult(
        name=name,
        suite_kind="pipeline_load",
        started_at=started,
        finished_at=datetime.now(UTC),
        checks=checks,
        metrics=metrics,
        message=summarise(checks),
        log_path=str(out),
        details=details,
        # the pipelines' own CPU (process_tree) is theirs whatever else runs: its FAIL is never set aside
        noise_exempt=("pipeline.cpu_percent",) if config.resource_scope == "process_tree" else (),
    )


def _judge(
    config: PipelineLoadConfig, runs: list[PipelineRun], fatal: str | None
) -> tuple[list[CheckRecord], list[MetricRecord]]:
    started = len(runs)
    completed = sum(r.completed for r in runs)
    timed_out = sum(r.timed_out for r in runs)
    labels = {"concurrency": config.concurrency}
    metrics = [
        MetricRecord("pipeline.runs_started", float(started), "count", labels),
        MetricRecord("pipeline.runs_completed", float(completed), "count", labels),
        MetricRecord("pipeline.runs_timed_out", float(timed_out), "count", labels),
    ]
    if fatal is not None:
        return [
            CheckRecord(
                "pipeline.runs_started",
                Status.ERROR,
                observed=started,
                threshold=1,
                comparator=">=",
                message=f"the pipeline command could not be started: {fatal}",
            )
        ], metrics
    if started == 0:
        return [
            CheckRecord(
                "pipeline.runs_started",
                Status.ERROR,
                observed=0,
                threshold=1,
                comparator=">=",
                message="no pipeline run started",
            )
        ], metrics
    durations = np.asarray([r.duration_s for r in runs if r.completed] or [np.nan])
    rate = completed / started
    metrics.append(MetricRecord("pipeline.completion_rate", round(rate, 4), "ratio", labels))
    if completed:
        metrics += [
            MetricRecord("pipeline.run_duration_p50_s", round(float(np.median(durations)), 3), "s", labels),
            MetricRecord("pipeline.run_duration_max_s", round(float(durations.max()), 3), "s", labels),
        ]
    failed = [r for r in runs if not r.completed]
    why = "; ".join(f"slot {r.slot} run {r.index}: {r.message}" for r in failed[:3])
    checks = [
        CheckRecord(
            "pipeline.runs_started",
            Status.PASS,
            observed=started,
            threshold=1,
            comparator=">=",
            message=f"{started} run(s) over {config.concurrency} concurrent slot(s)",
        ),
        CheckRecord(
            "pipeline.completion_rate",
            Status.PASS if rate > config.completion_rate_min else Status.FAIL,
            observed=round(rate, 4),
            threshold=config.completion_rate_min,
            comparator=">",
            message=f"{completed} of {started} runs completed ({timed_out} timed out)" + (f"; {why}" if why else ""),
        ),
    ]
    return checks, metrics
