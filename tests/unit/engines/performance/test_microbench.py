"""Model micro-benchmarks in one subprocess per batch size."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from support.demo_platform import demo_performance

from assay.engines.performance.config import MicrobenchConfig
from assay.engines.performance.microbench import run_microbenchmarks

SUBJECT = """
import time

def build():
    def predict(batch):
        block = bytearray(batch * 1024 * 1024)  # 1 MiB per row, touched so it is resident
        block[::4096] = b"x" * len(block[::4096])
        return len(block)
    return predict, (lambda n: n)

def build_broken():
    raise RuntimeError("model file is corrupt")

def build_slow():
    return (lambda batch: time.sleep(30)), (lambda n: n)
"""


@pytest.fixture
def subject_dir(tmp_path):
    (tmp_path / "subject.py").write_text(SUBJECT)
    return str(tmp_path)


@pytest.mark.slow
def test_demo_model_latency_throughput_and_memory_per_batch_size(tmp_path):
    config = demo_performance().microbenchmark.model_copy(update={"iterations": 50})  # as configured
    result = run_microbenchmarks(config, out_dir=tmp_path)
    assert result.status == "PASS", result.message
    for size in (1, 32, 256):
        p50 = result.metric("microbench.latency_p50_ms", batch_size=size)
        p99 = result.metric("microbench.latency_p99_ms", batch_size=size)
        assert 0 < p50 <= p99 <= 100
        assert 50 < result.metric("microbench.peak_rss_mb", batch_size=size) <= 1000  # torch + the model
    rows = [result.metric("microbench.throughput_rows_per_s", batch_size=s) for s in (1, 32, 256)]
    assert rows[0] < rows[1] < rows[2]  # batching amortises the per-call cost
    assert result.check("microbench.p99_ms:batch=256").threshold == 100
    assert result.describe_dict()["summary"]["details"]["batches"]["32"]["p99_ms"] == pytest.approx(
        result.metric("microbench.latency_p99_ms", batch_size=32), abs=1e-3
    )


def test_each_batch_size_has_its_own_peak_memory_and_gates_fail(tmp_path, subject_dir):
    config = MicrobenchConfig(
        factory="subject:build",
        cwd=subject_dir,
        batch_sizes=[1, 96],
        iterations=5,
        warmup=1,
        p99_max_ms=0.000001,
        peak_memory_max_mb=60,
    )
    result = run_microbenchmarks(config, out_dir=tmp_path)
    small = result.metric("microbench.peak_rss_mb", batch_size=1)
    large = result.metric("microbench.peak_rss_mb", batch_size=96)
    assert large - small > 80  # a fresh process per batch size: the big batch's peak is its own
    assert result.check("microbench.peak_memory_mb:batch=96").status == "FAIL"
    assert result.check("microbench.peak_memory_mb:batch=1").status == ("PASS" if small <= 60 else "FAIL")
    assert result.check("microbench.p99_ms:batch=1").status == "FAIL"
    assert result.status == "FAIL"


def test_a_crashing_factory_is_error_with_its_traceback(tmp_path, subject_dir):
    config = MicrobenchConfig(factory="subject:build_broken", cwd=subject_dir, batch_sizes=[8], iterations=1)
    result = run_microbenchmarks(config, out_dir=tmp_path)
    assert result.status == "ERROR"
    assert "exited with code 1" in result.message and "model file is corrupt" in result.message
    assert result.metrics == []


@pytest.mark.slow
def test_a_hanging_benchmark_is_killed_at_its_timeout(tmp_path, subject_dir):
    config = MicrobenchConfig(
        factory="subject:build_slow", cwd=subject_dir, batch_sizes=[1], iterations=3, warmup=0, timeout_s=2
    )
    result = run_microbenchmarks(config, out_dir=tmp_path)
    assert result.status == "ERROR" and "timed out after 2 s" in result.message


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("factory", "subject.build", "module:function"),
        ("batch_sizes", [0, 4], "positive"),
        ("batch_sizes", [], "empty"),
    ],
)
def test_bad_config_says_what_to_fix(field, value, match):
    kwargs = {"factory": "subject:build"} | {field: value}
    with pytest.raises(ValidationError, match=match):
        MicrobenchConfig(**kwargs)
