"""Model micro-benchmarks: latency p50/p99, throughput and peak memory per batch size.

Each batch size runs in a fresh subprocess (:mod:`assay.engines.performance.microbench_child`) so its
peak RSS is its own, not left over from a bigger batch or from the worker. Checks per batch size:
``microbench.p99_ms:batch=<n>`` (p99 <= limit) and ``microbench.peak_memory_mb:batch=<n>`` (peak RSS <=
limit); a child that crashes, times out or writes no result is ERROR for that batch size.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from assay.engines.performance import microbench_child
from assay.engines.performance.config import MeasurementIsolationConfig, MicrobenchConfig
from assay.engines.performance.machine_load import MachineLoadSampler, machine_records
from assay.engines.performance.result import PerformanceResult, summarise
from assay.errors import ToolError
from assay.process import run_command, target_env
from assay.status import Status
from assay.store.records import CheckRecord, MetricRecord

CHILD_SCRIPT = Path(microbench_child.__file__).resolve()


def _percentile(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q, method="inverted_cdf"))


def run_microbenchmarks(
    config: MicrobenchConfig,
    *,
    out_dir: str | Path,
    name: str = "microbenchmark",
    python: str | None = None,
    isolation: MeasurementIsolationConfig | None = None,
) -> PerformanceResult:
    """Benchmark every batch size (see the module doc), sampling the machine's load throughout: recorded as
    ``machine.*`` metrics, and judged with ``isolation`` (``machine.undisturbed``; a disturbed run's p99
    FAILs are set aside as WARN)."""
    iso = isolation or MeasurementIsolationConfig(other_work_max_share=None)
    with MachineLoadSampler(iso.sample_interval_s) as sampler:
        result = _run_batches(config, out_dir=out_dir, name=name, python=python)
    checks, metrics, result.details["machine"] = machine_records(sampler, iso.other_work_max_share)
    if result.details["batches"]:  # a run that measured nothing has no load to qualify
        result.add_checks(checks, metrics)
    else:
        result.add_checks([])  # the details changed: the summary is derived again
    return result


def _run_batches(config: MicrobenchConfig, *, out_dir: str | Path, name: str, python: str | None) -> PerformanceResult:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    checks: list[CheckRecord] = []
    metrics: list[MetricRecord] = []
    per_batch: dict[str, dict[str, float]] = {}
    env = target_env({"PYTHONHASHSEED": "0", **config.env})
    for size in config.batch_sizes:
        result_file = out / f"batch{size}.json"
        result_file.unlink(missing_ok=True)
        argv = [
            python or sys.executable,
            str(CHILD_SCRIPT),
            "--factory",
            config.factory,
            "--batch-size",
            str(size),
            "--iterations",
            str(config.iterations),
            "--warmup",
            str(config.warmup),
            "--out",
            str(result_file),
        ]
        try:
            cmd = run_command(
                argv, cwd=config.cwd or out, timeout_s=config.timeout_s, log_path=out / f"batch{size}.log", env=env
            )
        except ToolError as exc:
            checks.append(CheckRecord(f"microbench.run:batch={size}", Status.ERROR, message=str(exc)))
            continue
        if cmd.timed_out or cmd.returncode != 0 or not result_file.is_file():
            why = (
                f"timed out after {config.timeout_s:g} s (process group killed)"
                if cmd.timed_out
                else f"exited with code {cmd.returncode}"
            )
            checks.append(
                CheckRecord(
                    f"microbench.run:batch={size}",
                    Status.ERROR,
                    message=f"benchmark of batch size {size} {why}:\n{cmd.output_tail[-1200:]}",
                )
            )
            continue
        try:
            data = json.loads(result_file.read_text(encoding="utf-8"))
            lat = np.asarray(data["latencies_ms"], dtype=float)
        except (ValueError, KeyError, TypeError) as exc:
            checks.append(
                CheckRecord(
                    f"microbench.run:batch={size}",
                    Status.ERROR,
                    message=f"benchmark of batch size {size} wrote an unreadable result: {exc!r}",
                )
            )
            continue
        p50, p99 = _percentile(lat, 50), _percentile(lat, 99)
        rows_per_s = size * data["iterations"] / data["loop_s"] if data["loop_s"] > 0 else float("nan")
        peak, setup_peak = data["peak_rss_mb"], data["setup_peak_rss_mb"]
        labels = {"batch_size": size}
        metrics += [
            MetricRecord("microbench.latency_p50_ms", round(p50, 4), "ms", labels),
            MetricRecord("microbench.latency_p99_ms", round(p99, 4), "ms", labels),
            MetricRecord("microbench.latency_max_ms", round(float(lat.max()), 4), "ms", labels),
            MetricRecord("microbench.throughput_rows_per_s", round(rows_per_s, 2), "rows/s", labels),
            MetricRecord("microbench.peak_rss_mb", round(peak, 2), "MB", labels),
            MetricRecord("microbench.inference_extra_rss_mb", round(max(0.0, peak - setup_peak), 2), "MB", labels),
        ]
        per_batch[str(size)] = {"p50_ms": p50, "p99_ms": p99, "rows_per_s": rows_per_s, "peak_rss_mb": peak}
        checks.append(
            CheckRecord(
                f"microbench.run:batch={size}",
                Status.PASS,
                message=f"{data['iterations']} timed calls of batch size {size}",
            )
        )
        if config.p99_max_ms is not None:
            checks.append(
                CheckRecord(
                    f"microbench.p99_ms:batch={size}",
                    Status.PASS if p99 <= config.p99_max_ms else Status.FAIL,
                    observed=round(p99, 4),
                    threshold=config.p99_max_ms,
                    comparator="<=",
                    message=f"batch {size}: p50 {p50:.2f} ms, p99 {p99:.2f} ms, {rows_per_s:,.0f} rows/s",
                )
            )
        if config.peak_memory_max_mb is not None:
            checks.append(
                CheckRecord(
                    f"microbench.peak_memory_mb:batch={size}",
                    Status.PASS if peak <= config.peak_memory_max_mb else Status.FAIL,
                    observed=round(peak, 2),
                    threshold=config.peak_memory_max_mb,
                    comparator="<=",
                    message=f"batch {size}: peak RSS {peak:.0f} MB (set-up {setup_peak:.0f} MB, inference adds "
                    f"{max(0.0, peak - setup_peak):.0f} MB)",
                )
            )
    details = {
        "factory": config.factory,
        "cwd": config.cwd,
        "iterations": config.iterations,
        "warmup": config.warmup,
        "batches": per_batch,
    }
    return PerformanceResult(
        name=name,
        suite_kind="microbenchmark",
        started_at=started,
        finished_at=datetime.now(UTC),
        checks=checks,
        metrics=metrics,
        message=summarise(checks),
        log_path=str(out),
        details=details,
    )
