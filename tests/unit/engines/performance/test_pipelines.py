"""Concurrent pipeline execution: completion rate, timeouts, utilisation, and the demo training pipeline."""

from __future__ import annotations

import json
import threading
import time

import pytest
from support.demo_platform import demo_performance

from assay.engines.performance.config import PipelineLoadConfig
from assay.engines.performance.pipelines import run_pipeline_load
from assay.errors import ConfigError


def _config(**kw) -> PipelineLoadConfig:
    base = {"concurrency": 3, "duration_s": 2, "run_timeout_s": 30, "sample_interval_s": 0.25}
    return PipelineLoadConfig(**(base | kw))


def _consistent_resource_gates(result):
    for name in ("pipeline.cpu_percent", "pipeline.memory_percent"):
        check = result.check(name)
        assert check.status == ("PASS" if check.observed < check.threshold else "FAIL")


@pytest.mark.slow
def test_sustained_subprocess_pipelines_all_complete(tmp_path):
    config = _config(command=["{python}", "-c", "import time; time.sleep(0.3)"])
    result = run_pipeline_load(config, out_dir=tmp_path)
    started = result.metric("pipeline.runs_started")
    assert started >= 6  # 3 slots, each relaunching 0.3 s runs for 2 s
    assert result.metric("pipeline.runs_completed") == started
    assert result.check("pipeline.completion_rate").status == "PASS"
    assert result.metric("pipeline.completion_rate") == 1.0
    assert result.metric("pipeline.cpu_percent_max", scope="system") is not None
    assert result.metric("pipeline.memory_percent_mean", scope="process_tree") is not None
    _consistent_resource_gates(result)
    assert list(tmp_path.glob("*.log")) == []  # logs of completed runs are not kept


def test_failing_callable_runs_fail_the_completion_gate(tmp_path):
    counter = iter(range(10_000))
    lock = threading.Lock()

    def pipeline():
        with lock:
            n = next(counter)
        time.sleep(0.05)
        if n % 3 == 2:
            raise RuntimeError(f"training diverged in run {n}")

    result = run_pipeline_load(_config(duration_s=1), out_dir=tmp_path, pipeline=pipeline)
    check = result.check("pipeline.completion_rate")
    assert check.status == "FAIL" and 0.55 < check.observed < 0.75
    assert "RuntimeError: training diverged" in check.message
    assert result.status == "FAIL"


def test_runs_over_their_timeout_are_killed_and_not_completed(tmp_path):
    config = _config(
        command=["{python}", "-c", "import time; time.sleep(60)"], concurrency=2, sustained=False, run_timeout_s=1
    )
    started = time.monotonic()
    result = run_pipeline_load(config, out_dir=tmp_path)
    assert time.monotonic() - started < 15
    assert result.metric("pipeline.runs_started") == 2  # one run per slot when not sustained
    assert result.metric("pipeline.runs_timed_out") == 2
    assert result.check("pipeline.completion_rate").status == "FAIL"
    assert "timed out after 1 s" in result.message
    assert len(list(tmp_path.glob("*.log"))) == 2  # failed runs keep their logs


def test_a_command_that_cannot_start_is_error(tmp_path):
    result = run_pipeline_load(_config(command=["/nonexistent/trainer"]), out_dir=tmp_path)
    assert result.status == "ERROR"
    assert "could not be started" in result.check("pipeline.runs_started").message


def test_no_command_and_no_callable_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="pipeline_load.command"):
        run_pipeline_load(_config(), out_dir=tmp_path)


@pytest.mark.slow
def test_demo_training_pipelines_run_concurrently(tmp_path):
    """The demo's configured pipeline job, cut further for the test: 2 concurrent real fraud
    TrainingPipeline runs."""
    config = demo_performance().pipeline_load.model_copy(
        update={"concurrency": 2, "duration_s": 3, "sample_interval_s": 0.5}
    )
    result = run_pipeline_load(config, out_dir=tmp_path)
    assert result.metric("pipeline.runs_started") >= 2
    assert result.check("pipeline.completion_rate").status == "PASS", result.message
    assert result.metric("pipeline.run_duration_p50_s") > 0.5  # really trained a model
    _consistent_resource_gates(result)
    summary = json.loads(json.dumps(result.describe_dict()))  # JSON-safe for XCom
    assert summary["summary"]["counts"]["evaluated"] == 4 and summary["status"] == result.status
