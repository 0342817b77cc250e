"""Concept drift as performance decay: accuracy, precision and recall per time window, once labels arrive.

Rows are grouped by the window (a pandas period: ``"h"``, ``"D"``, ``"W"``, ``"M"``) their timestamp falls
in; rows whose label has not arrived (missing) are left out and counted. Per window the engine keeps only
counts of (label, prediction) pairs, added chunk by chunk, and computes each metric with
``sklearn.metrics`` using those counts as sample weights (identical to scoring the rows themselves).

The reference is the whole of a separate ``reference`` dataset when given, else the earliest window.
A window FAILs when its metric falls more than ``fail_drop`` below the reference's (points, or a share of
the reference value with ``relative=True``), WARNs past ``warn_drop``; a window with fewer than
``min_window_rows`` labelled rows, or where the metric is undefined (e.g. precision with no positive
prediction), is SKIP with the reason. No labelled window at all, or a too-small reference, is ERROR.
A single labelled window without a separate reference is SKIP: it is the reference, and there is no
later window to compare with it yet (its metrics are still recorded).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from assay.engines.drift.config import DecayConfig
from assay.results import Result
from assay.sources import DataSourceError, as_source
from assay.status import Status, worst
from assay.store.records import CheckRecord, MetricRecord


@dataclass(frozen=True)
class WindowCheck:
    """One metric in one window against the reference."""

    window: str
    metric: str
    status: Status
    rows: int
    message: str
    value: float | None = None
    reference_value: float | None = None
    drop: float | None = None
    floor: float | None = None

    def check_record(self) -> CheckRecord:
        return CheckRecord(
            f"decay:{self.metric}:{self.window}",
            self.status,
            observed=self.value,
            threshold=self.floor,
            comparator=">=",
            message=self.message,
        )

    def describe_dict(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "metric": self.metric,
            "status": self.status.value,
            "rows": self.rows,
            "value": self.value,
            "reference_value": self.reference_value,
            "drop": self.drop,
            "floor": self.floor,
            "message": self.message,
        }


@dataclass(kw_only=True)
class PerformanceDecayResult(Result):
    """Performance decay per window (suite ``concept_drift``): one check per (window, metric), the reference's
    and each window's figures as metrics; checks, metrics and summary are derived from the windows."""

    name: str = "concept_drift"
    kind: str = "drift"
    windows: tuple[WindowCheck, ...] = ()
    reference: Mapping[str, float | None] = field(default_factory=dict)
    reference_rows: int = 0
    reference_label: str = ""
    unlabeled_rows: int = 0
    dropped_rows: int = 0
    error: str | None = None
    checks: list[CheckRecord] = field(init=False)
    metrics: list[MetricRecord] = field(init=False)
    summary: dict[str, Any] = field(init=False)

    def derive(self) -> None:
        if self.error:
            self.checks = [CheckRecord("performance_decay", Status.ERROR, message=self.error)]
        elif not self.windows:
            self.checks = [CheckRecord("performance_decay", self.status, message=self.message)]
        else:
            self.checks = [w.check_record() for w in self.windows]
        metrics = [
            MetricRecord(f"reference_{m}", v, "ratio", {"reference": self.reference_label})
            for m, v in self.reference.items()
            if v is not None
        ]
        metrics += [
            MetricRecord(f"window_{w.metric}", w.value, "ratio", {"window": w.window, "rows": w.rows})
            for w in self.windows
            if w.value is not None
        ]
        self.metrics = metrics
        self.summary = {
            "error": self.error,
            "reference": dict(self.reference),
            "reference_rows": self.reference_rows,
            "reference_label": self.reference_label,
            "unlabeled_rows": self.unlabeled_rows,
            "dropped_rows": self.dropped_rows,
            "windows": [w.describe_dict() for w in self.windows],
        }


class _DecayInputError(Exception):
    pass


def _pairs(data: Any, config: DecayConfig, windowed: bool) -> tuple[dict[Any, Counter], int, int]:
    """Counts of (label, prediction) per window (one window ``None`` when not ``windowed``),
    unlabelled rows, and rows dropped for a missing timestamp or prediction."""
    source = as_source(data)
    cols = (
        [config.timestamp_column, config.label_column, config.prediction_column]
        if windowed
        else [config.label_column, config.prediction_column]
    )
    per_window: dict[Any, Counter] = {}
    unlabeled = dropped = 0
    for chunk in source.iter_chunks(cols):
        absent = [c for c in cols if c not in chunk.columns]
        if absent:
            raise _DecayInputError(f"column {absent[0]!r} is missing from {source.label}")
        if not len(chunk):
            continue
        label, pred = chunk[config.label_column], chunk[config.prediction_column]
        if config.prediction_threshold is not None:
            if not pd.api.types.is_numeric_dtype(pred.dtype) or pd.api.types.is_bool_dtype(pred.dtype):
                raise _DecayInputError(
                    f"prediction column {config.prediction_column!r} must hold numeric scores "
                    f"when prediction_threshold is set, got {pred.dtype}"
                )
            pred = pred.where(pred.isna(), (pred >= config.prediction_threshold).astype(int))
        frame = pd.DataFrame({"label": label, "pred": pred})
        keep = frame["pred"].notna()
        if windowed:
            raw = chunk[config.timestamp_column]
            ts = pd.to_datetime(raw, utc=True, errors="coerce")
            bad = ts.isna() & raw.notna()
            if bad.any():
                raise _DecayInputError(
                    f"timestamp column {config.timestamp_column!r} holds a value that is not a "
                    f"timestamp: {raw[bad].iloc[0]!r}"
                )
            frame["window"] = ts.dt.tz_convert(None).dt.to_period(config.window).dt.start_time
            keep &= ts.notna()
        else:
            frame["window"] = pd.Timestamp(0)
        dropped += int((~keep).sum())
        frame = frame[keep]
        labelled = frame["label"].notna()
        unlabeled += int((~labelled).sum())
        sizes = frame[labelled].groupby(["window", "label", "pred"], sort=False).size()
        for (window, y, p), n in sizes.items():
            per_window.setdefault(None if not windowed else window, Counter())[(y, p)] += int(n)
    return per_window, unlabeled, dropped


def _scores(pairs: Counter, config: DecayConfig) -> dict[str, float | None]:
    from sklearn import metrics as skm

    keys = list(pairs)
    y_true = pd.Series([k[0] for k in keys]).infer_objects().to_numpy()
    y_pred = pd.Series([k[1] for k in keys]).infer_objects().to_numpy()
    weights = np.array([pairs[k] for k in keys], dtype=np.float64)
    out: dict[str, float | None] = {}
    for metric in config.metrics:
        try:
            if metric == "accuracy":
                value = skm.accuracy_score(y_true, y_pred, sample_weight=weights)
            else:
                fn = skm.precision_score if metric == "precision" else skm.recall_score
                value = fn(
                    y_true,
                    y_pred,
                    sample_weight=weights,
                    average=config.average,
                    pos_label=config.pos_label,
                    zero_division=np.nan,
                )
        except ValueError as exc:
            raise _DecayInputError(f"{metric} could not be computed: {exc}") from exc
        out[metric] = None if value is None or not math.isfinite(float(value)) else float(value)
    return out


def _judge(window: str, metric: str, rows: int, value: float | None, ref: float, config: DecayConfig) -> WindowCheck:
    scale = ref if config.relative else 1.0
    floor = ref - config.fail_drop * scale
    if rows < config.min_window_rows:
        return WindowCheck(
            window,
            metric,
            Status.SKIP,
            rows,
            floor=floor,
            reference_value=ref,
            message=f"only {rows} labelled rows (< {config.min_window_rows}); labels may not have arrived yet",
        )
    if value is None:
        return WindowCheck(
            window,
            metric,
            Status.SKIP,
            rows,
            floor=floor,
            reference_value=ref,
            message=f"{metric} is undefined in this window (no positive {'prediction' if metric == 'precision' else 'label'})",
        )
    drop = (ref - value) / scale if scale else (0.0 if value >= ref else math.inf)
    unit = "of the reference" if config.relative else "points"
    head = f"{metric} {value:.4f} vs reference {ref:.4f} (drop {drop:.4f} {unit}, {rows} rows)"
    if drop > config.fail_drop:
        status, tail = Status.FAIL, f"fell more than {config.fail_drop}"
    elif config.warn_drop is not None and drop > config.warn_drop:
        status, tail = Status.WARN, f"fell more than the warn drop {config.warn_drop}"
    else:
        status, tail = Status.PASS, "within the allowed drop"
    return WindowCheck(window, metric, status, rows, f"{head}: {tail}", value, ref, drop, floor)


def run_performance_decay(data: Any, config: DecayConfig, reference: Any = None) -> PerformanceDecayResult:
    """Per-window accuracy/precision/recall of ``data`` against ``reference`` (or the earliest window).

    :param data: a DataFrame, path or source (:class:`assay.sources.DataSource`) with the timestamp, label and prediction columns.
    :param reference: optional data with label and prediction columns; the whole of it is the reference.
    """

    started = datetime.now(UTC)

    def result(status: Status, message: str, **kw: Any) -> PerformanceDecayResult:
        return PerformanceDecayResult(
            status=status, message=message, started_at=started, finished_at=datetime.now(UTC), **kw
        )

    def failed(message: str, **extra: Any) -> PerformanceDecayResult:
        return result(Status.ERROR, message, error=message, **extra)

    try:
        windows, unlabeled, dropped = _pairs(data, config, windowed=True)
        only_window = False
        if reference is not None:
            ref_pairs = _pairs(reference, config, windowed=False)[0].get(None, Counter())
            ref_label = as_source(reference).label
        elif windows:
            first = min(windows)
            ref_pairs, ref_label = windows.pop(first), f"first window {first.isoformat()}"
            only_window = not windows
        else:
            ref_pairs, ref_label = Counter(), "first window"
        if not windows and not only_window:
            return failed(
                "no labelled rows in any window to compare with the reference",
                unlabeled_rows=unlabeled,
                dropped_rows=dropped,
            )
        ref_rows = sum(ref_pairs.values())
        if ref_rows < config.min_window_rows:
            return failed(
                f"the reference ({ref_label}) has {ref_rows} labelled rows, fewer than "
                f"min_window_rows={config.min_window_rows}",
                unlabeled_rows=unlabeled,
                dropped_rows=dropped,
            )
        ref_scores = _scores(ref_pairs, config)
        outline = dict(
            reference=ref_scores,
            reference_rows=ref_rows,
            reference_label=ref_label,
            unlabeled_rows=unlabeled,
            dropped_rows=dropped,
        )
        if only_window:
            message = (
                f"only one window holds labelled rows ({ref_label}, {ref_rows} rows); it is the reference, so "
                "there is no later window to compare yet (give a reference dataset to check this window)"
            )
            return result(Status.SKIP, message, **outline)
        checks = []
        for window in sorted(windows):
            pairs = windows[window]
            scores = _scores(pairs, config)
            rows = sum(pairs.values())
            for metric in config.metrics:
                ref = ref_scores[metric]
                if ref is None:
                    return failed(f"{metric} is undefined on the reference ({ref_label})")
                checks.append(_judge(window.isoformat(), metric, rows, scores[metric], ref, config))
    except (_DecayInputError, DataSourceError) as exc:
        return failed(str(exc))
    status = worst(c.status for c in checks)
    bad = [c for c in checks if c.status in (Status.FAIL, Status.WARN)]
    message = f"{len(checks)} window metric(s) against {ref_label}: " + (
        ", ".join(f"{c.metric} {c.window} {c.status.value}" for c in bad[:10]) if bad else "no decay"
    )
    if unlabeled:
        message += f"; {unlabeled} row(s) without a label yet were left out"
    return result(status, message, windows=tuple(checks), **outline)
