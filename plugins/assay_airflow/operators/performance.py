"""Operators of ``assay_nightly_performance``: load test with SLO gates and regression, concurrent
training pipelines, model micro-benchmarks and mutation testing of one target.

Tools with their own interpreter state run as subprocesses (Locust patches gevent on import; mutmut
forks); the service under load is started for the run and always stopped (``target_service``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowSkipException

from assay.config import TargetConfig
from assay.errors import AssayError, ConfigError
from assay_airflow.operators.base import AssayOperator, raise_for, task_work_dir
from assay_airflow.operators.service import target_service

if TYPE_CHECKING:
    from airflow.sdk import Context

    from assay.results import Result


class _TargetPerformanceOperator(AssayOperator):
    """Base: ``suite`` is a key of the target's ``performance`` config; absent → the task skips.

    ``measures_timing``: the suite's verdict is a timing measurement (load test, micro-benchmarks, pipeline
    load). The DAG gives such tasks the measurement pool and queue (``dag_config.measurement_task_args``),
    and the engine judges whether other work disturbed the run (``performance_isolation``).
    """

    template_fields = ("target",)
    suite = ""
    measures_timing = False

    def __init__(self, *, target: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.target = target

    def suites(self) -> tuple[TargetConfig, Any]:
        """The target and its validated performance config (``ConfigError`` saying what is wrong)."""
        from pydantic import ValidationError

        from assay.engines.performance.config import PerformanceSuitesConfig

        target = self.assay_config.target(self.target)
        raw = dict(target.performance or {})
        if raw.get(self.suite) is None:
            raise AirflowSkipException(f"target {self.target!r} configures no performance.{self.suite}")
        if "load_test" in raw:
            raw["load_test"] = {"host": "http://127.0.0.1"} | dict(raw["load_test"])
        try:
            return target, PerformanceSuitesConfig.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"target {self.target!r} performance config: {problems}") from None

    def recording(self, context: Context, started: datetime):
        """Record an ``AssayError`` raised in the block as this suite's ERROR (see ``recording_errors``)."""
        return self.recording_errors(
            context, kind="performance", name=self.suite, started_at=started, target=self.target
        )

    def finish(self, context: Context, result: Result, started: datetime) -> dict[str, Any]:
        reason = self.record_result(context, result, started_at=started, target=self.target)
        raise_for(result.status, f"{result.name} of {self.target!r}: {result.status.value}: {reason}")
        return result.describe_dict()


class LoadTestOperator(_TargetPerformanceOperator):
    """Locust against the target's service: SLO gates (p95, error rate, throughput), regression against
    the accepted performance baseline or else the last passing nightly run that other work did not disturb
    (WARN / FAIL margins), and the client p95 checked against the server's own timings for the same window.
    """

    suite = "load_test"
    measures_timing = True

    def execute(self, context: Context) -> dict[str, Any]:
        from assay.engines.performance import ServerTimings, add_regression, add_server_comparison, run_load_test
        from assay.engines.performance.load_test import payload_env

        started = datetime.now(UTC)
        with self.recording(context, started):
            target, suites = self.suites()
            load_test = suites.load_test
            if load_test.payloads is not None:  # a golden dataset without its folder is in data_quality.golden_dir
                payloads = load_test.payloads.with_default_dir(self.assay_config.data_quality.golden_dir)
                load_test = load_test.model_copy(update={"payloads": payloads})
                payload_env(load_test)  # the configured version, or ERROR before the service starts
        work = task_work_dir(context)
        try:
            with target_service(self.target, target, work / "service") as svc:
                config = load_test.model_copy(update={"host": svc.base_url})
                timings = ServerTimings(svc.base_url, svc.admin_token) if svc.admin_token else None
                since = timings.mark() if timings else None
                result = run_load_test(
                    config,
                    out_dir=work / "locust",
                    api_token=svc.token,
                    isolation=self.assay_config.performance_isolation,
                    sandbox=target.sandbox.policy("host"),
                )
                if timings is not None:
                    add_server_comparison(result, timings, since, tolerance=suites.measurement_tolerance)
        except AssayError as exc:
            self.record_error(context, exc, kind="performance", name=self.suite, started_at=started, target=self.target)
        if result.stats is not None:
            try:
                baseline_run, ref = self._baseline(context)
            except Exception as exc:  # noqa: BLE001 - DB down or broken: the run is still recorded (or parked)
                add_regression(result, None, suites.regression, unreadable=str(exc))
            else:
                metrics = baseline_run.metrics if baseline_run is not None else None
                add_regression(result, metrics, suites.regression, baseline_ref=ref)
        return self.finish(context, result, started)

    def _baseline(self, context: Context):
        store = self.metrics_hook.store
        store.ensure_schema()
        accepted = store.current_baseline(kind="performance", subject=self.target)
        if accepted is not None:
            baseline, run = accepted
            return run, f"accepted baseline (run {run.run_id}, by {baseline.accepted_by})"
        from assay.engines.performance.machine_load import CHECK_NAME

        run = store.previous_suite_run(  # a disturbed run's figures are the noise's: never the baseline
            target=self.target,
            kind="performance",
            name="load_test",
            exclude_run_id=context["ti"].run_id,
            without_check=(CHECK_NAME, "WARN"),
        )
        return run, (f"last passing undisturbed nightly run {run.run_id}" if run is not None else "no baseline")


class _EngineSuiteOperator(_TargetPerformanceOperator):
    """A suite that is one engine call on its config section: ``run(section, out_dir=...)``."""

    def run(self, section: Any, out_dir: Any) -> Result:
        raise NotImplementedError

    def execute(self, context: Context) -> dict[str, Any]:
        started = datetime.now(UTC)
        with self.recording(context, started):
            _, suites = self.suites()
            result = self.run(getattr(suites, self.suite), task_work_dir(context))
        return self.finish(context, result, started)


class PipelineLoadOperator(_EngineSuiteOperator):
    """N concurrent training pipelines: completion rate and CPU / memory utilisation."""

    suite = "pipeline_load"
    measures_timing = True

    def run(self, section: Any, out_dir: Any) -> Result:
        from assay.engines.performance import run_pipeline_load

        return run_pipeline_load(section, out_dir=out_dir, isolation=self.assay_config.performance_isolation)


class MicrobenchmarkOperator(_EngineSuiteOperator):
    """Model inference latency p50/p99, peak memory and throughput per batch size."""

    suite = "microbenchmark"
    measures_timing = True

    def run(self, section: Any, out_dir: Any) -> Result:
        from assay.engines.performance import run_microbenchmarks

        return run_microbenchmarks(section, out_dir=out_dir, isolation=self.assay_config.performance_isolation)


class MutationTestingOperator(_EngineSuiteOperator):
    """mutmut on the target's algorithm modules; mutation score per module against the gate. Not a timing
    measurement (the score does not depend on CPU contention): outside the measurement pool and queue."""

    suite = "mutation"

    def run(self, section: Any, out_dir: Any) -> Result:
        from assay.engines.performance import run_mutation_testing

        return run_mutation_testing(
            section, out_dir=out_dir, sandbox=self.assay_config.target(self.target).sandbox.policy()
        )


class ChaosExperimentOperator(AssayOperator):
    """One chaostoolkit experiment against the target's service (started for it and always stopped):
    steady state before and after, deviation, recovery time and resilience score."""

    template_fields = ("target", "experiment")

    def __init__(self, *, target: str, experiment: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.target = target
        self.experiment = experiment

    def execute(self, context: Context) -> dict[str, Any]:
        from assay.engines.chaos.runner import run_experiment

        started = datetime.now(UTC)
        recorded = dict(kind="chaos", name=f"chaos:{self.experiment}", started_at=started, target=self.target)
        with self.recording_errors(context, **recorded):
            target = self.assay_config.target(self.target)
        chaos = target.chaos or {}
        path = target.chaos_experiment(self.experiment)
        workers = (chaos.get("workers") or {}).get(self.experiment)
        work = task_work_dir(context)
        try:
            with target_service(self.target, target, work / "service", workers=workers) as svc:
                env = {str(k): str(v) for k, v in (chaos.get("env") or {}).items()} | {
                    "ASSAY_CHAOS_BASE_URL": svc.base_url,
                    "ASSAY_CHAOS_TOKEN": svc.token or "",
                    "ASSAY_CHAOS_ADMIN_TOKEN": svc.admin_token or "",
                    "ASSAY_CHAOS_WORKERS": str(workers or (target.service.workers if target.service else 1)),
                }
                result = run_experiment(
                    path,
                    env=env,
                    timeout_s=float(chaos.get("timeout_s", 300)),
                    work_dir=work,
                    name=f"chaos:{self.experiment}",
                )
        except AssayError as exc:
            self.record_error(context, exc, **recorded)
        reason = self.record_result(context, result, started_at=started, target=self.target)
        raise_for(result.status, f"chaos {self.experiment!r} on {self.target!r}: {result.status.value}: {reason}")
        return result.describe_dict()
