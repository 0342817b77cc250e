"""Run a Locust load test as a subprocess and judge it against the SLOs.

Locust is never imported here: it monkey-patches the interpreter with gevent on import. It runs as
``python -m locust`` in its own process group under a hard timeout (run time + stop timeout + start-up
grace), headless, writing ``--json-file`` (the numbers), ``--csv`` with full history and an HTML report.

Verdicts:

* target unreachable before the run → ERROR, Locust is not started and no number is recorded;
* Locust times out (group killed), exits with anything but 0 or :data:`REQUEST_ERRORS_EXIT_CODE`, leaves
  no JSON stats, or a task raised an exception → ERROR with the tail of its output;
* no request made, or none succeeded → ERROR (no invented latencies);
* otherwise the SLO checks of :mod:`assay.engines.performance.slo` decide PASS/FAIL.

Locust loads Assay's plugin (``locust_plugin/assay_locust.py`` beside this module) with the locustfile: it gives
every user class the profile's arrival shape (open-loop Poisson by default, each user from a random
phase) and records where the client's time went (``client_stats.json``: its CPU, event-loop lag,
lateness against the schedule, connections, each request's start). The locustfile and the plugin
receive the pacing in ``ASSAY_TARGET_RPS_PER_USER`` and ``ASSAY_ARRIVAL``, and the bearer token (if any)
in ``ASSAY_API_TOKEN``; the token never appears in argv, logs or results.

Payloads: ``load_test.payloads: {name, version, dir}`` names a golden dataset by version. It is verified
(:func:`assay.engines.data_quality.golden.verify_golden`: exactly that version, CSV unchanged since it was
written) before the target is probed, so a mismatch is a ConfigError and no load is generated; the
locustfile then gets ``ASSAY_PAYLOADS_PATH`` (the CSV), ``ASSAY_PAYLOADS_NAME``, ``ASSAY_PAYLOADS_VERSION``
and ``ASSAY_PAYLOADS_SHA256`` (to check the bytes it reads are the bytes Assay verified).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assay.engines.performance.client_stats import ClientStats, parse_client_stats
from assay.engines.performance.config import LOCUST_PLUGIN, LoadTestConfig, MeasurementIsolationConfig, SloConfig
from assay.engines.performance.locust_stats import FailureRow, LoadTestStats, load_locust_outputs
from assay.engines.performance.machine_load import MachineLoadSampler, machine_records
from assay.engines.performance.probe import probe_target
from assay.engines.performance.result import PerformanceResult, summarise
from assay.engines.performance.slo import evaluate_slo, request_groups
from assay.errors import ConfigError, TargetError, ToolError
from assay.process import run_command, target_env
from assay.sandbox import SandboxPolicy, interpreter_dirs, wrap_command
from assay.status import Status
from assay.store.records import CheckRecord, MetricRecord

REQUEST_ERRORS_EXIT_CODE = 3  # what Locust exits with when requests failed or tasks raised
ENV_RPS_PER_USER = "ASSAY_TARGET_RPS_PER_USER"
ENV_API_TOKEN = "ASSAY_API_TOKEN"
ENV_SEED = "ASSAY_LOAD_SEED"
ENV_ARRIVAL = "ASSAY_ARRIVAL"
ENV_CLIENT_STATS = "ASSAY_CLIENT_STATS_FILE"
CLIENT_STATS_FILE = "client_stats.json"
ENV_PAYLOADS_PATH = "ASSAY_PAYLOADS_PATH"
ENV_PAYLOADS_NAME = "ASSAY_PAYLOADS_NAME"
ENV_PAYLOADS_VERSION = "ASSAY_PAYLOADS_VERSION"
ENV_PAYLOADS_SHA256 = "ASSAY_PAYLOADS_SHA256"


@dataclass(kw_only=True)
class LoadTestResult(PerformanceResult):
    """A :class:`PerformanceResult` that also keeps the parsed stats (for baselines and the
    client/server comparison); ``stats`` is None when Locust produced none, ``client`` when Assay's
    Locust plugin recorded nothing."""

    stats: LoadTestStats | None = None
    client: ClientStats | None = None

    @property
    def window(self) -> tuple[float, float] | None:
        """Epoch seconds of the first and last request Locust logged."""
        if self.stats is None or not self.stats.endpoints:
            return None
        agg = self.stats.aggregated
        return agg.first_ts, agg.last_ts


def build_locust_argv(config: LoadTestConfig, prefix: Path, *, python: str | None = None) -> list[str]:
    p = config.profile
    argv = [
        python or sys.executable,
        "-m",
        "locust",
        "-f",
        f"{LOCUST_PLUGIN},{Path(config.locustfile).resolve()}",
        "--headless",
        "--host",
        config.host,
        "-u",
        str(p.users),
        "-r",
        f"{p.spawn_rate:g}",
        "-t",
        f"{math.ceil(p.duration_s)}s",
        "--stop-timeout",
        f"{config.stop_timeout_s:g}",
        "--csv",
        str(prefix),
        "--csv-full-history",
        "--json-file",
        str(prefix),
        "--html",
        str(prefix) + "_report.html",
        "--only-summary",
        "--exit-code-on-error",
        str(REQUEST_ERRORS_EXIT_CODE),
    ]
    return argv + list(config.user_classes)


def payload_env(config: LoadTestConfig) -> dict[str, str]:
    """The locustfile's payload variables for ``config.payloads`` (none when unset), after checking that the
    golden file is exactly the configured version; ConfigError naming both versions (or the unbumped change)
    otherwise."""
    ref = config.payloads
    if ref is None:
        return {}
    if not ref.dir:
        raise ConfigError(f"load_test.payloads {ref.name!r} names no 'dir' and no data_quality.golden_dir is set")
    from assay.engines.data_quality.golden import verify_golden

    try:
        spec = verify_golden(Path(ref.dir).expanduser(), ref.name, ref.version)
    except (ConfigError, TargetError) as exc:
        raise ConfigError(f"load_test.payloads {ref.label()}: {exc}; no load was generated") from exc
    return {
        ENV_PAYLOADS_PATH: str(spec.data_path.resolve()),
        ENV_PAYLOADS_NAME: spec.name,
        ENV_PAYLOADS_VERSION: str(spec.version),
        ENV_PAYLOADS_SHA256: str(spec.sha256),
    }


def _payload_paths(payloads: dict[str, str]) -> list[Path]:
    path = payloads.get(ENV_PAYLOADS_PATH)
    return [Path(path)] if path else []


def run_load_test(
    config: LoadTestConfig,
    *,
    out_dir: str | Path,
    name: str = "load_test",
    api_token: str | None = None,
    seed: int = 0,
    python: str | None = None,
    isolation: MeasurementIsolationConfig | None = None,
    sandbox: SandboxPolicy | None = None,
) -> LoadTestResult:
    """Probe the target, run Locust, parse its JSON stats and evaluate the SLOs.

    The machine's load is sampled while Locust runs (:mod:`~assay.engines.performance.machine_load`) and
    recorded as ``machine.*`` metrics; with ``isolation`` its ``other_work_max_share`` also judges it
    (``machine.undisturbed``: a disturbed run is WARN, its latency and throughput FAILs set aside).

    ``sandbox``: the locustfile is the target's code: Locust runs confined (:mod:`assay.sandbox`) with the
    host network (it must reach the service), seeing the locustfile's directory, the payloads file and the
    interpreter read-only and ``out_dir`` writable. The sandbox's processes are the task's descendants, so
    the load sampler counts them as the run's own.

    Never raises for a failure of the target or of Locust (those are FAIL/ERROR results); raises
    :class:`ConfigError` when the locustfile does not exist or the payloads are not the configured golden
    version (checked before the target is probed: no load is generated).
    """
    locustfile = Path(config.locustfile)
    if not locustfile.is_file():
        raise ConfigError(f"locustfile {config.locustfile!r} does not exist; set load_test.locustfile to a .py file")
    payloads = payload_env(config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prefix = out / "locust"
    for stale in [*out.glob("locust*"), out / CLIENT_STATS_FILE]:
        if stale.is_file():
            stale.unlink()
    started = datetime.now(UTC)
    argv = build_locust_argv(config, prefix, python=python)
    details: dict[str, Any] = {
        "host": config.host,
        "argv": argv,
        "profile": config.profile.model_dump(),
        "slo": config.slo.model_dump(),
        "artefacts": {"json": f"{prefix}.json", "csv_prefix": str(prefix), "html": f"{prefix}_report.html"},
    }
    if payloads:
        details["payloads"] = {
            "name": payloads[ENV_PAYLOADS_NAME],
            "version": payloads[ENV_PAYLOADS_VERSION],
            "sha256": payloads[ENV_PAYLOADS_SHA256],
            "path": payloads[ENV_PAYLOADS_PATH],
        }

    machine: tuple[list[CheckRecord], list[MetricRecord]] = ([], [])

    def result(
        checks: list[CheckRecord], message: str, metrics: list[MetricRecord] | None = None, **kw: Any
    ) -> LoadTestResult:
        return LoadTestResult(
            name=name,
            suite_kind="load_test",
            started_at=started,
            finished_at=datetime.now(UTC),
            checks=[*checks, *machine[0]],
            metrics=[*(metrics or []), *machine[1]],
            message=message,
            details=details,
            **kw,
        )

    probe = probe_target(config.host, config.health_path, timeout_s=config.probe_timeout_s)
    if not probe.reachable:
        return result([probe.check()], f"{probe.message}; Locust was not started")

    env = target_env(
        {
            **config.env,
            ENV_RPS_PER_USER: repr(config.profile.rps_per_user),
            ENV_ARRIVAL: config.profile.arrival,
            ENV_CLIENT_STATS: str(out / CLIENT_STATS_FILE),
            ENV_SEED: str(seed),
            **payloads,
            **({ENV_API_TOKEN: api_token} if api_token else {}),
        }
    )
    iso = isolation or MeasurementIsolationConfig(other_work_max_share=None)
    try:
        run_argv = argv
        if sandbox is not None:
            wrapped = wrap_command(
                sandbox.with_network("host"),
                argv,
                cwd=locustfile.parent,
                env=env,
                read_only=[
                    LOCUST_PLUGIN.parent,
                    locustfile.parent,
                    *interpreter_dirs(argv[0]),
                    *_payload_paths(payloads),
                ],
                writable=[out],
            )
            run_argv, env = wrapped.argv, wrapped.env
            details["sandbox"] = wrapped.describe()
        with MachineLoadSampler(iso.sample_interval_s) as sampler:
            cmd = run_command(
                run_argv, cwd=locustfile.parent, timeout_s=config.hard_timeout_s, log_path=out / "locust.log", env=env
            )
    except ToolError as exc:
        return result([probe.check(), CheckRecord("load.locust_run", Status.ERROR, message=str(exc))], str(exc))
    # recorded with the figures only: a run that measured nothing has no load to qualify
    machine_checks, machine_metrics, details["machine"] = machine_records(sampler, iso.other_work_max_share)
    details["exit_code"] = cmd.returncode
    tail = cmd.output_tail[-1500:]
    common = {"log_path": str(cmd.log_path)}

    def tool_error(message: str, stats: LoadTestStats | None = None) -> LoadTestResult:
        return result(
            [probe.check(), CheckRecord("load.locust_run", Status.ERROR, message=message)],
            message,
            stats=stats,
            **common,
        )

    if cmd.timed_out:
        return tool_error(
            f"Locust did not finish within {config.hard_timeout_s:g} s (run time "
            f"{config.profile.duration_s:g} s + stop and start-up grace); its process group was "
            f"killed. Output tail:\n{tail}"
        )
    if cmd.returncode not in (0, REQUEST_ERRORS_EXIT_CODE):
        return tool_error(
            f"Locust exited with code {cmd.returncode} (crash, bad locustfile or bad option). Output tail:\n{tail}"
        )
    try:
        stats = load_locust_outputs(prefix)
    except ToolError as exc:
        return tool_error(f"{exc}. Output tail:\n{tail}")
    if stats.exceptions or (cmd.returncode == REQUEST_ERRORS_EXIT_CODE and stats.aggregated.failures == 0):
        found = "; ".join(stats.exceptions[:3]) or "see the log"
        return tool_error(
            f"the locustfile's tasks raised exceptions ({found}), so the load it generated is not "
            f"the load configured. Output tail:\n{tail}",
            stats,
        )

    details["window"] = {"first_request_ts": stats.aggregated.first_ts, "last_request_ts": stats.aggregated.last_ts}
    try:
        client = parse_client_stats(out / CLIENT_STATS_FILE)
    except ToolError as exc:  # the figures stand; only the explanation of a disagreement is missing
        client = None
        details["client_stats_error"] = str(exc)
    else:
        recorded = sum(f.occurrences for f in stats.failures)
        if sum(c for *_, c in client.failures) > recorded:  # Locust's failures CSV lags a second
            stats = replace(stats, failures=tuple(FailureRow(m, n, e, c) for m, n, e, c in client.failures))
        details["client"] = {
            "arrival": client.arrival,
            "cpu_utilisation": client.cpu_utilisation,
            "loop_lag_p95_ms": client.loop_lag_p95_ms,
            "late_share": client.late_share,
            "connections": client.connections,
        }
    machine = (machine_checks, machine_metrics)
    checks = [probe.check(), CheckRecord("load.locust_run", Status.PASS, message=f"exit code {cmd.returncode}")]
    checks += evaluate_slo(
        stats, config.slo, ramp_up_s=config.profile.ramp_up_s, poisson_arrivals=config.profile.arrival == "poisson"
    )
    metrics = stats.metrics(ramp_up_s=config.profile.ramp_up_s) + group_metrics(stats, config.slo)
    if client is not None:
        metrics += client.metrics()
    return result(checks, summarise(checks), metrics=metrics, stats=stats, client=client, **common)


def group_metrics(stats: LoadTestStats, slo: SloConfig, prefix: str = "load") -> list[MetricRecord]:
    """p50/p95/p99, requests and error rate of each configured request group (labels ``group``)."""
    out = []
    for group in request_groups(stats, slo):
        if group.name not in slo.groups or not group.entries:
            continue
        st = group.stats
        for metric in st.metrics(prefix):
            if metric.name.endswith(("_ms", ".requests", ".failures", ".error_rate")):
                out.append(MetricRecord(metric.name, metric.value, metric.unit, {"group": group.name}))
    return out
