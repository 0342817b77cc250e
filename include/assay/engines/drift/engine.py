"""``run_drift``: reference pass → plan per column → current pass → tests per column → dataset verdict.

Memory: for DataFrame sources the spool holds views of the caller's data; the only copies are one sorted
array per side of the column being evaluated (per thread), released when its tests are done.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from assay.engines.drift.columns import DATETIME
from assay.engines.drift.config import DriftConfig, resolve_threads
from assay.engines.drift.evaluate import evaluate_column
from assay.engines.drift.passes import Side, read_current, read_reference
from assay.engines.drift.plan import ColumnPlan, plan_column
from assay.engines.drift.results import (
    FEATURE,
    PREDICTION,
    ColumnDriftResult,
    DatasetDriftResult,
    dataset_verdict,
    overall_status,
)
from assay.engines.drift.spool import make_spool
from assay.sources import DataSourceError, as_source
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

    :param reference: a DataFrame, a ``.parquet``/``.csv`` path, or a source (:class:`assay.sources.DataSource`).
    :param current: the same kinds.
    :param config: a :class:`DriftConfig` (defaults: every column, automatic test choice).
    :returns: a :class:`DatasetDriftResult`; unreadable or empty data gives status ERROR with ``error`` set.
    """
    config = config or DriftConfig()
    ref_source, cur_source = as_source(reference), as_source(current)
    started = datetime.now(UTC)
    spool = make_spool(config.spool, config.spool_dir)
    threads = resolve_threads(config.threads)
    labels = {"reference_label": ref_source.label, "current_label": cur_source.label}

    def failed(message: str, **extra: Any) -> DatasetDriftResult:
        return DatasetDriftResult(
            status=Status.ERROR,
            message=message,
            dataset_status=Status.ERROR,
            error=message,
            drift_share_threshold=config.drift_share,
            started_at=started,
            finished_at=datetime.now(UTC),
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
        plans = _map(lambda cr: _plan(cr[0], cr[1], ref, config, spool), roles, threads)
        by_name = {p.name: p for p in plans}

        try:
            cur = read_current(cur_source, by_name, spool)
        except DataSourceError as exc:
            return failed(f"could not read the current data: {exc}", rows_reference=ref.rows)
        if cur.rows == 0:
            return failed(f"the current data has no rows ({cur_source.label})", rows_reference=ref.rows)

        per_plan = _map(lambda p: evaluate_column(p, cur.columns.get(p.name), config, spool, cur.label), plans, threads)
        return _assemble(config, plans, per_plan, ref, cur, skipped, started, labels)
    finally:
        spool.close()


def _plan(name: str, role: str, ref: Side, config: DriftConfig, spool) -> ColumnPlan:
    try:
        return plan_column(name, role, ref.columns.get(name), config, spool, ref.label)
    except Exception as exc:  # noqa: BLE001 - a column that cannot be planned is that column's ERROR, not the run's
        return ColumnPlan(name, role, error=f"column {name!r} could not be planned: {type(exc).__name__}: {exc}")


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
    started: datetime,
    labels: dict[str, str],
) -> DatasetDriftResult:
    everything = [r for rs in per_plan for r in rs]
    shares = [r for r in everything if r.is_share_check]
    features = [r for r in everything if r.role == FEATURE and not r.is_share_check]
    predictions = [r for r in everything if r.role == PREDICTION and not r.is_share_check]
    drifted, clean, unknown, errors = _column_states([r for r in everything if r.role == FEATURE])
    if not any(p.role == FEATURE for p in plans):
        dataset_status, dataset_drift, share = Status.SKIP, False, None
    else:
        dataset_status, dataset_drift, share = dataset_verdict(
            len(drifted), len(clean), len(unknown), errors, config.drift_share
        )
    status = overall_status(dataset_status, everything)
    result = DatasetDriftResult(
        status=status,
        message="",
        dataset_status=dataset_status,
        drift_share_threshold=config.drift_share,
        columns=tuple(features),
        predictions=tuple(predictions),
        share_checks=tuple(shares),
        n_columns=len(drifted) + len(clean),
        n_drifted=len(drifted),
        n_unknown=len(unknown),
        share_drifted=share,
        dataset_drift=dataset_drift,
        rows_reference=ref.rows,
        rows_current=cur.rows,
        skipped_columns=skipped,
        started_at=started,
        finished_at=datetime.now(UTC),
        **labels,
    )
    return _with_message(result)


def _column_states(results: list[ColumnDriftResult]) -> tuple[set[str], set[str], set[str], bool]:
    """Feature columns that drifted, that were evaluated without drift, and whose drift is unknown (every
    test was an ERROR or too small to decide); and whether an unknown one holds an ERROR."""
    columns = dict.fromkeys(r.column for r in results)
    drifted = {r.column for r in results if r.drifted}
    judged = {r.column for r in results if not r.is_share_check and r.status is not Status.ERROR and not r.untested}
    clean = judged - drifted
    unknown = set(columns) - drifted - clean
    errors = any(r.status is Status.ERROR for r in results if r.column in unknown)
    return drifted, clean, unknown, errors


def _with_message(result: DatasetDriftResult) -> DatasetDriftResult:
    """The one-line reason, what made the verdict first: each part that FAILs or ERRORs (the prediction that
    drifted, a critical column, a jump in missing share, the dataset's share of drifted columns...) before
    the parts that are only context."""
    parts: list[tuple[bool, str]] = [(result.dataset_status.is_failure, result.dataset_check().message)]
    if result.predictions:
        pred = result.predictions[0].column
        failed = any(r.status is Status.ERROR for r in result.predictions)
        untested = all(r.untested for r in result.predictions if not r.is_share_check and r.status is not Status.ERROR)
        verdict = (
            "drifted"
            if result.prediction_drift
            else ": could not be evaluated"
            if failed
            else ": too few rows to test"
            if untested
            else ": no drift"
        )
        bad = any(r.status.is_failure for r in result.predictions)
        parts.append((bad, f"prediction {pred!r}{' ' if verdict == 'drifted' else ''}{verdict}"))
    everything = result.all_results
    errors = sorted({r.column for r in everything if r.status is Status.ERROR})
    if errors:
        parts.append((True, f"{len(errors)} column(s) could not be evaluated: {', '.join(errors[:10])}"))
    small = sorted({r.column for r in everything if r.untested} - set(errors))
    if small:
        parts.append((False, f"{len(small)} column(s) too small to test: {', '.join(small[:10])}"))
    for test, what in (("missing_share", "missing share jumped"), ("unseen_share", "unseen categories")):
        hits = [r for r in everything if r.test == test and r.status is not Status.PASS]
        if hits:
            names = sorted({r.column for r in hits})
            parts.append((any(r.status.is_failure for r in hits), f"{what}: {', '.join(names[:10])}"))
    critical = [r for r in result.columns if r.critical and r.drifted]
    if critical:
        names = sorted({r.column for r in critical})
        parts.append((any(r.status.is_failure for r in critical), f"critical column(s) drifted: {', '.join(names)}"))
    if result.skipped_columns:
        parts.append((False, f"skipped: {', '.join(result.skipped_columns)}"))
    ordered = [text for bad, text in parts if bad] + [text for bad, text in parts if not bad]
    return replace(result, message="; ".join(ordered))
