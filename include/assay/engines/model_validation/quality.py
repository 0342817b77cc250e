"""Absolute quality: metrics against thresholds, single-row latency percentiles, serving memory.

Latency: ``latency_calls`` single-row ``predict_proba`` calls (after 5 warm-up calls), cycling over
the evaluation rows, timed with ``perf_counter``; p50/p95/p99 in milliseconds.

Memory: the model's serving footprint, defined as the bytes of its torch parameters and buffers plus
the peak growth of the process RSS (psutil, sampled every 2 ms) while it scores the whole evaluation
frame in one batch. A model without a torch module counts only the RSS growth.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import psutil

from assay.engines.model_validation.config import QualityConfig
from assay.engines.model_validation.loading import ValidatableModel
from assay.engines.model_validation.results import SectionResult
from assay.engines.model_validation.scoring import Scored, classification_metrics

_MB = 1024 * 1024


@dataclass(frozen=True)
class Latency:
    p50_ms: float
    p95_ms: float
    p99_ms: float
    samples_ms: np.ndarray


def measure_latency(model: ValidatableModel, df: pd.DataFrame, calls: int, warmup: int = 5) -> Latency:
    """Time ``calls`` single-row predictions; rows are cycled so every call sees real data."""
    rows = [df.iloc[[i % len(df)]] for i in range(min(len(df), calls))]
    for i in range(warmup):
        model.predict_proba(rows[i % len(rows)])
    samples = np.empty(calls)
    for i in range(calls):
        start = time.perf_counter()
        model.predict_proba(rows[i % len(rows)])
        samples[i] = (time.perf_counter() - start) * 1000.0
    p50, p95, p99 = np.percentile(samples, [50, 95, 99])
    return Latency(float(p50), float(p95), float(p99), samples)


def module_size_mb(model: ValidatableModel) -> float:
    """Bytes of the torch module's parameters and buffers, in MiB (0 without a module)."""
    module = model.torch_module
    if module is None:
        return 0.0
    tensors = [*module.parameters(), *module.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors) / _MB


def peak_rss_growth_mb(model: ValidatableModel, df: pd.DataFrame, interval_s: float = 0.002) -> float:
    """Peak RSS above the starting RSS while ``model`` scores ``df`` in one batch, in MiB."""
    proc = psutil.Process()
    start = proc.memory_info().rss
    peak = [start]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            done.wait(interval_s)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        model.predict_proba(df)
    finally:
        done.set()
        sampler.join()
    peak[0] = max(peak[0], proc.memory_info().rss)
    return (peak[0] - start) / _MB


def check_quality(model: ValidatableModel, df: pd.DataFrame, scored: Scored, cfg: QualityConfig) -> SectionResult:
    """Metric thresholds, latency and memory as checks; every measured number as a metric."""
    section = SectionResult("quality")
    metrics = classification_metrics(scored.y_true, scored.y_pred)
    for name, value in metrics.items():
        section.metric(name, value, "ratio")
        limit = getattr(cfg, f"{name}_min")
        if limit is not None:
            section.threshold(name, value, limit, ">=", name)
    section.metric("positive_rate", float(scored.y_true.mean()), "ratio")
    section.details["metrics"] = metrics
    section.details["rows"] = len(df)

    latency = measure_latency(model, df, cfg.latency_calls)
    for q in ("p50", "p95", "p99"):
        section.metric(f"latency_{q}", getattr(latency, f"{q}_ms"), "ms", calls=cfg.latency_calls)
    section.details["latency_ms"] = {"p50": latency.p50_ms, "p95": latency.p95_ms, "p99": latency.p99_ms}
    if cfg.latency_p99_ms_max is not None:
        section.threshold(
            "latency_p99",
            latency.p99_ms,
            cfg.latency_p99_ms_max,
            "<=",
            f"p99 single-row latency over {cfg.latency_calls} calls (ms)",
        )

    size = module_size_mb(model)
    growth = max(peak_rss_growth_mb(model, df), 0.0)
    memory = size + growth
    section.metric("model_size", size, "MiB")
    section.metric("inference_rss_growth", growth, "MiB", rows=len(df))
    section.metric("memory", memory, "MiB")
    if cfg.memory_mb_max is not None:
        section.threshold(
            "memory",
            memory,
            cfg.memory_mb_max,
            "<=",
            f"memory (weights {size:.3f} MiB + peak RSS growth scoring {len(df)} rows) in MiB",
        )
    return section
