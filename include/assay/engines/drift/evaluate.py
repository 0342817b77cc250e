"""Run a column's planned tests on what the two passes gathered, and judge them against the thresholds.

Nothing here passes what could not be measured: a statistic that is not a finite number is an ERROR; a
test on fewer values than ``min_sample_rows``, or a p-value test on samples too small for any outcome to
reach its threshold (:func:`.statistics.min_p_value`), is WARN "too few rows to test"; a column without a
finite value on either side is an ERROR before any test runs. Besides its tests every column gets the
missing-share check, and a categorical one the unseen-share check. The value tests sort each side here,
once, and the sorted arrays are released as soon as the column is done.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from assay.engines.drift import statistics
from assay.engines.drift.choice import PENDING, resolve_treatment
from assay.engines.drift.columns import category_order, value_counts_sorted
from assay.engines.drift.config import (
    ANDERSON,
    BINNED_TESTS,
    CATEGORICAL,
    CHISQUARE,
    JENSENSHANNON,
    KL_DIV,
    KS,
    MISSING_SHARE,
    NUMERIC,
    P_VALUE_TESTS,
    PSI,
    UNSEEN_SHARE,
    WASSERSTEIN,
    DriftConfig,
)
from assay.engines.drift.plan import ColumnPlan, SideColumn, current_key, reference_key
from assay.engines.drift.results import ColumnDriftResult
from assay.status import Status

_COUNT_TESTS = {
    PSI: statistics.psi,
    KL_DIV: statistics.kl_div,
    JENSENSHANNON: statistics.jensenshannon,
    CHISQUARE: statistics.chisquare,
}
_VALUE_TESTS = {KS: statistics.ks, WASSERSTEIN: statistics.wasserstein, ANDERSON: statistics.anderson}
_SHOWN_UNSEEN = 5


def aligned_counts(reference: Counter, current: Counter) -> tuple[np.ndarray, np.ndarray, list]:
    """Reference and current count vectors over the union of categories (reference's first), and the
    categories the reference never saw (the last ``len(unseen)`` entries)."""
    ref_keys = category_order(set(reference))
    unseen = category_order(set(current) - set(reference))
    keys = ref_keys + unseen
    ref = np.array([reference.get(k, 0) for k in keys], dtype=np.int64)
    cur = np.array([current.get(k, 0) for k in keys], dtype=np.int64)
    return ref, cur, unseen


def pool_unseen(ref: np.ndarray, cur: np.ndarray, n_unseen: int) -> tuple[np.ndarray, np.ndarray]:
    """The count vectors with every category the reference never saw pooled into one last cell."""
    if n_unseen <= 1:
        return ref, cur
    seen = ref.size - n_unseen
    return np.append(ref[:seen], 0), np.append(cur[:seen], cur[seen:].sum())


def _unseen_note(unseen: list, current: Counter, tests: tuple[str, ...]) -> str:
    if not unseen:
        return ""
    shown = ", ".join(f"{k!r} ({current[k]} rows)" for k in sorted(unseen, key=lambda k: -current[k])[:_SHOWN_UNSEEN])
    more = f" and {len(unseen) - _SHOWN_UNSEEN} more" if len(unseen) > _SHOWN_UNSEEN else ""
    how = []
    if {PSI, KL_DIV} & set(tests):
        how.append("the empty-bin share stands in for 0 in psi/kl_div")
    if CHISQUARE in tests and len(unseen) > 1:
        how.append("chisquare pools them into one cell")
    return (
        f"{len(unseen)} current categor{'y' if len(unseen) == 1 else 'ies'} never seen in the reference "
        f"{'is' if len(unseen) == 1 else 'are'} compared with a reference share of 0"
        f"{' (' + '; '.join(how) + ')' if how else ''}: {shown}{more}"
    )


def _too_few(test: str, n: int, m: int, threshold: float, config: DriftConfig) -> str | None:
    """Why ``test`` cannot decide on ``n`` reference and ``m`` current values, or None when it can."""
    if n < config.min_sample_rows or m < config.min_sample_rows:
        return (
            f"too few rows to test: {n} reference and {m} current values, fewer than "
            f"min_sample_rows={config.min_sample_rows}"
        )
    if test in P_VALUE_TESTS:
        p_min = statistics.min_p_value(n, m)
        if p_min >= threshold:
            return (
                f"too few rows to test: on {n} reference vs {m} current values no outcome can reach "
                f"p < {threshold} (the most extreme arrangement has p = {p_min:.3g})"
            )
    return None


def _judge(
    test: str, value: statistics.TestValue, threshold: float, warn: float | None, too_few: str | None
) -> tuple[Status, bool, str]:
    shown = value.p_value if test in P_VALUE_TESTS else value.statistic
    if shown is None or not math.isfinite(shown) or not math.isfinite(value.statistic):
        what = "p-value" if test in P_VALUE_TESTS else "statistic"
        return Status.ERROR, False, f"{test} {what} is {shown} (statistic {value.statistic}): not a number to judge"
    if test in P_VALUE_TESTS:
        p = value.p_value
        drifted, warned = p < threshold, warn is not None and p < warn
        head = f"{test} p-value {p:.4g} {'<' if drifted else '>='} {threshold} (statistic {value.statistic:.4g})"
    else:
        s = value.statistic
        drifted, warned = s >= threshold, warn is not None and s >= warn
        head = f"{test} {s:.4g} {'>=' if drifted else '<'} {threshold}"
    if too_few:
        return Status.WARN, False, f"{too_few}; {head} is not a verdict"
    if drifted:
        return Status.FAIL, True, f"{head}: drift"
    if warned:
        return Status.WARN, False, f"{head}: no drift, but past the warn threshold {warn}"
    return Status.PASS, False, f"{head}: no drift"


def evaluate_column(
    plan: ColumnPlan, current: SideColumn | None, config: DriftConfig, spool, current_label: str
) -> list[ColumnDriftResult]:
    name = plan.name
    base = {
        "column": name,
        "kind": plan.treatment if plan.treatment not in (None, PENDING) else plan.kind,
        "role": plan.role,
        "critical": plan.critical,
        "n_reference": plan.n_reference,
        "missing_reference": plan.missing_reference,
    }

    def error(message: str, test: str | None = None) -> ColumnDriftResult:
        return ColumnDriftResult(test=test, status=Status.ERROR, drifted=False, message=message, **base)

    try:
        if plan.error and not plan.no_values:
            return [error(plan.error)]
        if current is None:
            return [error(f"column {name!r} is missing from the current data ({current_label})")]
        base.update(n_current=current.values, missing_current=current.dropped)
        if current.error:
            return [error(current.error)]
        shares = [_missing_share(plan, current, config, base)] if config.missing_share_change is not None else []
        if plan.error:
            return [error(plan.error), *shares]
        if current.values == 0:
            message = (
                f"current column {name!r} has no finite values ({current.rows} rows: {current.missing} missing, "
                f"{current.infinite} infinite); nothing to test"
            )
            return [error(message), *shares]
        return _run_tests(plan, current, config, spool, base) + shares
    except Exception as exc:  # noqa: BLE001 - a statistic failing on odd data is this column's ERROR, not the run's
        return [error(f"column {name!r} could not be evaluated: {type(exc).__name__}: {exc}")]
    finally:
        spool.drop(reference_key(name))
        spool.drop(current_key(name))


def _share_result(
    test: str, observed: float, threshold: float, message: str, config: DriftConfig, base: dict
) -> ColumnDriftResult:
    crossed = observed > threshold
    status = Status(config.share_check_status) if crossed else Status.PASS
    return ColumnDriftResult(
        test=test,
        status=status,
        drifted=status is Status.FAIL,
        message=f"{message} ({'>' if crossed else '<='} {threshold:.1%} allowed)"
        + (": drift" if status is Status.FAIL else ": the data changed" if crossed else ""),
        statistic=observed,
        threshold=threshold,
        **base,
    )


def _missing_share(plan: ColumnPlan, current: SideColumn, config: DriftConfig, base: dict) -> ColumnDriftResult:
    ref = plan.missing_reference / plan.rows_reference if plan.rows_reference else 0.0
    cur = current.dropped / current.rows if current.rows else 0.0
    message = (
        f"missing or non-finite share {ref:.1%} in the reference ({plan.missing_reference} of {plan.rows_reference} "
        f"rows), {cur:.1%} in the current data ({current.dropped} of {current.rows}): change {abs(cur - ref):.1%}"
    )
    return _share_result(MISSING_SHARE, abs(cur - ref), config.missing_share_change, message, config, base)


def _unseen_share(unseen: list, counts: Counter, n_current: int, config: DriftConfig, base: dict) -> ColumnDriftResult:
    rows = sum(counts[k] for k in unseen)
    share = rows / n_current if n_current else 0.0
    message = (
        f"unseen-category share {share:.1%}: {rows} of {n_current} current values are in "
        f"{len(unseen)} categor{'y' if len(unseen) == 1 else 'ies'} the reference never had"
        if unseen
        else "unseen-category share 0.0%: every current value is in a category of the reference"
    )
    if share > config.unseen_share and len(unseen) > 1:
        message += " (an id-like column belongs in exclude_columns)"
    return _share_result(UNSEEN_SHARE, share, config.unseen_share, message, config, base)


def _distinct_sorted(values_sorted: np.ndarray, limit: int) -> set[float] | None:
    if values_sorted.size == 0:
        return set()
    starts = np.concatenate(([True], values_sorted[1:] != values_sorted[:-1]))
    if np.count_nonzero(starts) > limit:
        return None
    return set(values_sorted[starts].tolist())


def _run_tests(
    plan: ColumnPlan, current: SideColumn, config: DriftConfig, spool, base: dict
) -> list[ColumnDriftResult]:
    name = plan.name
    ref_sorted = cur_sorted = None
    if plan.needs_values:
        ref_sorted = spool.take_sorted(reference_key(name))
        cur_sorted = spool.take_sorted(current_key(name))
    treatment, tests, auto = plan.treatment, plan.tests, plan.auto
    if treatment == PENDING:
        cur_distinct = _distinct_sorted(cur_sorted, config.max_categorical_unique)
        treatment = resolve_treatment(plan.reference_distinct, cur_distinct, plan.n_reference, config)
        if treatment == CATEGORICAL:
            tests, auto = plan.categorical_tests, plan.categorical_auto
        base["kind"] = treatment

    notes: list[str] = []
    extra: list[ColumnDriftResult] = []
    ref_vec = cur_vec = pooled = None
    if treatment == CATEGORICAL:
        if plan.treatment == PENDING:
            ref_counts, cur_counts = value_counts_sorted(ref_sorted), value_counts_sorted(cur_sorted)
        else:
            ref_counts, cur_counts = plan.reference_counts, current.counts
        ref_vec, cur_vec, unseen = aligned_counts(ref_counts, cur_counts)
        pooled = pool_unseen(ref_vec, cur_vec, len(unseen))
        notes.append(f"{ref_vec.size} categories")
        notes.append(_unseen_note(unseen, cur_counts, tests))
        if config.unseen_share is not None:
            extra.append(_unseen_share(unseen, cur_counts, current.values, config, base))
    elif any(t in BINNED_TESTS for t in tests):
        if plan.treatment == PENDING:
            edges = statistics.quantile_edges(ref_sorted, config.bins_for(name))
            ref_vec = statistics.bin_counts_sorted(ref_sorted, edges)
            cur_vec = statistics.bin_counts_sorted(cur_sorted, edges)
        else:
            ref_vec, cur_vec = plan.reference_bins, current.bins
        notes.append(f"{ref_vec.size} quantile bins from the reference")
    missing = [
        f"{base['missing_reference']} reference" if base["missing_reference"] else "",
        f"{base['missing_current']} current" if base["missing_current"] else "",
    ]
    sizes = f"{base['n_reference']} reference vs {base['n_current']} current values"
    if any(missing):
        sizes += f"; missing or non-finite dropped: {', '.join(m for m in missing if m)}"

    results = []
    for test in tests:
        try:
            if test == CHISQUARE and treatment == CATEGORICAL:
                value = statistics.chisquare(*pooled)
            elif test in BINNED_TESTS:
                value = _COUNT_TESTS[test](ref_vec, cur_vec)
            elif plan.kind != NUMERIC:
                raise ValueError(f"it needs numeric values and the column holds categories ({plan.dtype})")
            else:
                value = _VALUE_TESTS[test](ref_sorted, cur_sorted)
        except Exception as exc:  # noqa: BLE001 - a statistic failing on odd data is this test's ERROR, not the run's
            why = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
            results.append(
                ColumnDriftResult(
                    test=test,
                    status=Status.ERROR,
                    drifted=False,
                    auto=test in auto,
                    message=f"{test} on column {name!r} could not be computed: {why}",
                    **base,
                )
            )
            continue
        threshold, warn = config.threshold(name, test), config.warn_threshold(name, test)
        too_few = _too_few(test, plan.n_reference, current.values, threshold, config)
        status, drifted, head = _judge(test, value, threshold, warn, too_few)
        detail = [value.note, *(notes if test in BINNED_TESTS else []), sizes]
        treated = (
            f"numeric values treated as categories, {ref_vec.size} distinct"
            if plan.kind == NUMERIC and treatment == CATEGORICAL
            else ""
        )
        message = f"{head} ({'; '.join(d for d in (treated, *detail) if d)})"
        results.append(
            ColumnDriftResult(
                test=test,
                status=status,
                drifted=drifted,
                message=message,
                statistic=value.statistic,
                p_value=value.p_value,
                threshold=threshold,
                warn_threshold=warn,
                auto=test in auto,
                untested=too_few is not None and status is Status.WARN,
                **base,
            )
        )
    return results + extra
