"""Nightly performance engines (no airflow import, tools run as subprocesses).

* :func:`run_load_test`: Locust against an HTTP service, SLO gates (p95, error rate, throughput);
* :func:`evaluate_regression`: p95 and throughput against the accepted baseline (WARN / FAIL margins);
* :func:`compare_client_server` / :func:`add_server_comparison`: Locust's p95 vs the server's own timing;
* :func:`run_pipeline_load`: N concurrent training pipelines, completion rate, CPU and memory;
* :func:`run_microbenchmarks`: model latency p50/p99, throughput and peak memory per batch size;
* :func:`run_mutation_testing`: mutmut 3 mutation score per module.

Each returns or adds :class:`~assay.store.records.CheckRecord` and ``MetricRecord`` objects; the runners
return a :class:`PerformanceResult` (an :class:`assay.results.Result`); :func:`add_regression` adds the
load test's regression checks to its result.
"""

from __future__ import annotations

from assay.lazy import lazy_exports

# imported on first use: the config imports without the engine (assay.lazy)
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "assay.engines.performance.config": (
            "PRODUCTION_INFERENCE_PROFILE",
            "PRODUCTION_INFERENCE_SLO",
            "PRODUCTION_PIPELINE_LOAD",
            "LoadProfile",
            "LoadTestConfig",
            "MicrobenchConfig",
            "MutationConfig",
            "PerformanceSuitesConfig",
            "PipelineLoadConfig",
            "RegressionConfig",
            "SloConfig",
        ),
        "assay.engines.performance.load_test": ("LoadTestResult", "run_load_test"),
        "assay.engines.performance.measurement": (
            "ServerTimings",
            "TimingComparison",
            "add_server_comparison",
            "compare_client_server",
        ),
        "assay.engines.performance.microbench": ("run_microbenchmarks",),
        "assay.engines.performance.mutation": ("run_mutation_testing",),
        "assay.engines.performance.pipelines": ("run_pipeline_load",),
        "assay.engines.performance.regression": (
            "REGRESSION_CHECKS",
            "PerformanceFigures",
            "add_regression",
            "evaluate_regression",
            "figures_from_metrics",
        ),
        "assay.engines.performance.result": ("PerformanceResult",),
    },
)

__all__ = [
    "PRODUCTION_INFERENCE_PROFILE",
    "PRODUCTION_INFERENCE_SLO",
    "PRODUCTION_PIPELINE_LOAD",
    "REGRESSION_CHECKS",
    "LoadProfile",
    "LoadTestConfig",
    "LoadTestResult",
    "MicrobenchConfig",
    "MutationConfig",
    "PerformanceFigures",
    "PerformanceResult",
    "PerformanceSuitesConfig",
    "PipelineLoadConfig",
    "RegressionConfig",
    "ServerTimings",
    "SloConfig",
    "TimingComparison",
    "add_regression",
    "add_server_comparison",
    "compare_client_server",
    "evaluate_regression",
    "figures_from_metrics",
    "run_load_test",
    "run_microbenchmarks",
    "run_mutation_testing",
    "run_pipeline_load",
]
