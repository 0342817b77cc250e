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

from assay.engines.performance.config import (
    PRODUCTION_INFERENCE_PROFILE,
    PRODUCTION_INFERENCE_SLO,
    PRODUCTION_PIPELINE_LOAD,
    LoadProfile,
    LoadTestConfig,
    MicrobenchConfig,
    MutationConfig,
    PerformanceSuitesConfig,
    PipelineLoadConfig,
    RegressionConfig,
    SloConfig,
)
from assay.engines.performance.load_test import LoadTestResult, run_load_test
from assay.engines.performance.measurement import (
    ServerTimings,
    TimingComparison,
    add_server_comparison,
    compare_client_server,
)
from assay.engines.performance.microbench import run_microbenchmarks
from assay.engines.performance.mutation import run_mutation_testing
from assay.engines.performance.pipelines import run_pipeline_load
from assay.engines.performance.regression import (
    REGRESSION_CHECKS,
    PerformanceFigures,
    add_regression,
    evaluate_regression,
    figures_from_metrics,
)
from assay.engines.performance.result import PerformanceResult

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
