"""``run_drift``: reference pass → plan per column → current pass → tests per column → dataset verdict."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar

from assay.engines.drift.columns import DATETIME
from assay.engines.drift.config import DriftConfig
from assay.engines.drift.evaluate import evaluate_column
from assay.engines.drift.passes import Side, read_current, read_reference
from assay.engines.drift.plan import ColumnPlan, plan_column
from assay.engines.drift.results import FEATURE, PREDICTION, ColumnDriftResult, DatasetDriftResult, overall_status
from assay.engines.drift.sources import DataSourceError, as_source
from assay.engines.drift.spool import make_spool
from assay.status import Status

T = TypeVar("T")
R = TypeVar("R")


def _map(fn: Callable[[T], R], items: Iterable[T], threads: int) -> list[R]:
    items = list(items)
    if threads <= 1 or len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="assay-drift") as pool:
        return list(pool.map(fn, items))


def run_drift(reference: Any, current: Any, config: DriftConfig | None = None) -> DatasetDriftResult:
    """Compare ``current`` with ``reference`` column by column; see the package docstring for the rules.

    :param reference: a DataFrame, a ``.parquet``/``.csv`` path, or a :class:`DataSource` (e.g. ``sql_source``).
    :param current: the same kinds.
    :param config: a :class:`DriftConfig` (defaults: every column, automatic test choice).
    :returns: a :class:`DatasetDriftResult`; unreadable or empty data gives status ERROR with ``error`` set.
    """
    config = config or DriftConfig()
    ref_source, cur_source = as_source(reference), as_source(current)
    started = time.monotonic()
    spool = make_spool(config.spool, config.spool_dir)
    labels = {"reference_label": ref_source.label, "current_label": cur_source.label}

    def failed(message: str, **extra: Any) -> DatasetDriftResult:
        return DatasetDriftResult(
            status=Status.ERROR,
            message=message,
            dataset_status=Status.ERROR,
            error=message,
            drift_share_threshold=config.drift_share,
            duration_s=time.monotonic() - started,
            **labels,
            **extra,
        )

    try:
        wanted = None if config.columns is None else _dedupe([*config.columns, *_prediction(config)])
        try:
            ref = read_reference(ref_source, wanted, spool, skip=set(config.exclude_columns))
        except DataSourceError as exc:
            return failed(f"could not read the reference data: {exc}")
        if ref.rows == 0:
            return failed(f"the reference data has no rows ({ref_source.label})")

        features, skipped = _feature_columns(ref, config)
        if not features and config.prediction_column is None:
            return failed(
                "no columns to compare: the reference has no feature columns left after exclusions",
                rows_reference=ref.rows,
                skipped_columns=skipped,
            )
        roles = [(c, FEATURE) for c in features] + [(c, PREDICTION) for c in _prediction(config)]
        plans = _map(
            lambda cr: plan_column(cr[0], cr[1], ref.columns.get(cr[0]), config, spool, ref.label),
            roles,
            config.threads,
        )
        by_name = {p.name: p for p in plans}

        try:
            cur = read_current(cur_source, by_name, spool)
        except DataSourceError as exc:
            return failed(f"could not read the current data: {exc}", rows_reference=ref.rows)
        if cur.rows == 0:
            return failed(f"the current data has no rows ({cur_source.label})", rows_reference=ref.rows)

        per_plan = _map(
            lambda p: evaluate_column(p, cur.columns.get(p.name), config, spool, cur.label), plans, config.threads
        )
        return _assemble(config, plans, per_plan, ref, cur, skipped, started, labels)
    finally:
        spool.close()


def _prediction(config: DriftConfig) -> list[str]:
    return [config.prediction_column] if config.prediction_column else []


def _dedupe(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _feature_columns(ref: Side, config: DriftConfig) -> tuple[list[str], dict[str, str]]:
    if config.columns is not None:
        return [c for c in _dedupe(config.columns) if c != config.prediction_column], {}
    skip = set(config.exclude_columns) | set(_prediction(config))
    features, skipped = [], {}
    for name, col in ref.columns.items():
        if name in skip:
            continue
        if col.kind == DATETIME:
            skipped[name] = f"datetime column ({col.dtype}) is not compared; list it after converting it to numbers"
            continue
        features.append(name)
    # an override naming a column the reference lacks is a typo or a schema change: report it, never ignore it
    features += [c for c in config.overrides if c not in ref.columns and c not in skip]
    return features, skipped


def _assemble(
    config: DriftConfig,
    plans: list[ColumnPlan],
    per_plan: list[list[ColumnDriftResult]],
    ref: Side,
    cur: Side,
    skipped: dict[str, str],
    started: float,
    labels: dict[str, str],
) -> DatasetDriftResult:
    features = [r for plan, rs in zip(plans, per_plan, strict=True) if plan.role == FEATURE for r in rs]
    predictions = [r for plan, rs in zip(plans, per_plan, strict=True) if plan.role == PREDICTION for r in rs]
    evaluated = {r.column for r in features if r.status is not Status.ERROR}
    drifted = {r.column for r in features if r.drifted}
    feature_names = {p.name for p in plans if p.role == FEATURE}
    share = None
    if not feature_names:
        dataset_status, dataset_drift = Status.SKIP, False
    elif not evaluated:
        dataset_status, dataset_drift = Status.ERROR, False
    else:
        share = len(drifted) / len(evaluated)
        dataset_drift = share > config.drift_share
        dataset_status = Status.FAIL if dataset_drift else Status.PASS
    status = overall_status(dataset_status, features + predictions)
    result = DatasetDriftResult(
        status=status,
        message="",
        dataset_status=dataset_status,
        drift_share_threshold=config.drift_share,
        columns=tuple(features),
        predictions=tuple(predictions),
        n_columns=len(evaluated),
        n_drifted=len(drifted),
        share_drifted=share,
        dataset_drift=dataset_drift,
        rows_reference=ref.rows,
        rows_current=cur.rows,
        skipped_columns=skipped,
        duration_s=time.monotonic() - started,
        **labels,
    )
    return _with_message(result)


def _with_message(result: DatasetDriftResult) -> DatasetDriftResult:
    parts = [result.dataset_check().message]
    if result.predictions:
        pred = result.predictions[0].column
        failed = any(r.status is Status.ERROR for r in result.predictions)
        verdict = "drift" if result.prediction_drift else "could not be evaluated" if failed else "no drift"
        parts.append(f"prediction {pred!r}: {verdict}")
    errors = sorted({r.column for r in (*result.columns, *result.predictions) if r.status is Status.ERROR})
    if errors:
        parts.append(f"{len(errors)} column(s) could not be evaluated: {', '.join(errors[:10])}")
    critical = sorted({r.column for r in result.columns if r.critical and r.drifted})
    if critical:
        parts.append(f"critical column(s) drifted: {', '.join(critical)}")
    if result.skipped_columns:
        parts.append(f"skipped: {', '.join(result.skipped_columns)}")
    return replace(result, message="; ".join(parts))
