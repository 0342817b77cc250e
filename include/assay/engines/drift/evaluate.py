"""Run a column's planned tests on what the two passes gathered, and judge them against the thresholds."""

from __future__ import annotations

from collections import Counter

import numpy as np

from assay.engines.drift import statistics
from assay.engines.drift.columns import category_order
from assay.engines.drift.config import (
    ANDERSON,
    BINNED_TESTS,
    CATEGORICAL,
    CHISQUARE,
    JENSENSHANNON,
    KL_DIV,
    KS,
    NUMERIC,
    P_VALUE_TESTS,
    PSI,
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
    categories the reference never saw."""
    ref_keys = category_order(set(reference))
    unseen = category_order(set(current) - set(reference))
    keys = ref_keys + unseen
    ref = np.array([reference.get(k, 0) for k in keys], dtype=np.int64)
    cur = np.array([current.get(k, 0) for k in keys], dtype=np.int64)
    return ref, cur, unseen


def _unseen_note(unseen: list, current: Counter, tests: tuple[str, ...]) -> str:
    if not unseen:
        return ""
    shown = ", ".join(f"{k!r} ({current[k]} rows)" for k in sorted(unseen, key=lambda k: -current[k])[:_SHOWN_UNSEEN])
    more = f" and {len(unseen) - _SHOWN_UNSEEN} more" if len(unseen) > _SHOWN_UNSEEN else ""
    filled = " (the empty-bin share stands in for 0 in psi/kl_div)" if {PSI, KL_DIV} & set(tests) else ""
    return (
        f"{len(unseen)} current categor{'y' if len(unseen) == 1 else 'ies'} never seen in the reference "
        f"{'is' if len(unseen) == 1 else 'are'} compared with a reference share of 0{filled}: {shown}{more}"
    )


def _judge(test: str, value: statistics.TestValue, threshold: float, warn: float | None) -> tuple[Status, bool, str]:
    if test in P_VALUE_TESTS:
        p = value.p_value
        drifted, warned = p < threshold, warn is not None and p < warn
        head = f"{test} p-value {p:.4g} {'<' if drifted else '>='} {threshold} (statistic {value.statistic:.4g})"
    else:
        s = value.statistic
        drifted, warned = s >= threshold, warn is not None and s >= warn
        head = f"{test} {s:.4g} {'>=' if drifted else '<'} {threshold}"
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
        "kind": plan.treatment or plan.kind,
        "auto": plan.auto,
        "role": plan.role,
        "critical": plan.critical,
        "n_reference": plan.n_reference,
        "missing_reference": plan.missing_reference,
    }

    def error(message: str, test: str | None = None) -> ColumnDriftResult:
        return ColumnDriftResult(test=test, status=Status.ERROR, drifted=False, message=message, **base)

    if plan.error:
        return [error(plan.error)]
    if current is None:
        return [error(f"column {name!r} is missing from the current data ({current_label})")]
    base.update(n_current=current.values, missing_current=current.missing)
    if current.error:
        return [error(current.error)]
    if current.values == 0:
        return [error(f"current column {name!r} has only missing values ({current.rows} rows)")]

    try:
        return _run_tests(plan, current, config, spool, base)
    finally:
        spool.drop(reference_key(name))
        spool.drop(current_key(name))


def _run_tests(
    plan: ColumnPlan, current: SideColumn, config: DriftConfig, spool, base: dict
) -> list[ColumnDriftResult]:
    name = plan.name
    notes: list[str] = []
    ref_vec = cur_vec = None
    if plan.needs_counts:
        ref_vec, cur_vec, unseen = aligned_counts(plan.reference_counts, current.counts)
        notes.append(f"{ref_vec.size} categories")
        notes.append(_unseen_note(unseen, current.counts, plan.tests))
    elif plan.needs_bins:
        ref_vec, cur_vec = plan.reference_bins, current.bins
        notes.append(f"{ref_vec.size} quantile bins from the reference")
    ref_sorted = cur_sorted = None
    if plan.needs_values:
        ref_sorted = spool.take(reference_key(name))
        cur_sorted = np.sort(spool.take(current_key(name)))
    missing = [
        f"{base['missing_reference']} reference" if base["missing_reference"] else "",
        f"{base['missing_current']} current" if base["missing_current"] else "",
    ]
    sizes = f"{base['n_reference']} reference vs {base['n_current']} current values"
    if any(missing):
        sizes += f"; missing or non-finite dropped: {', '.join(m for m in missing if m)}"

    results = []
    for test in plan.tests:
        try:
            if test in BINNED_TESTS:
                value = _COUNT_TESTS[test](ref_vec, cur_vec)
            elif plan.kind != NUMERIC:
                raise ValueError(f"it needs numeric values and the column holds categories ({plan.dtype})")
            else:
                value = _VALUE_TESTS[test](ref_sorted, cur_sorted)
        except ValueError as exc:
            results.append(
                ColumnDriftResult(
                    test=test,
                    status=Status.ERROR,
                    drifted=False,
                    message=f"{test} on column {name!r} could not be computed: {exc}",
                    **base,
                )
            )
            continue
        threshold, warn = config.threshold(name, test), config.warn_threshold(name, test)
        status, drifted, head = _judge(test, value, threshold, warn)
        detail = [value.note, *(notes if test in BINNED_TESTS else []), sizes]
        treatment = (
            f"numeric values treated as categories, {plan.distinct} distinct"
            if plan.kind == NUMERIC and plan.treatment == CATEGORICAL
            else ""
        )
        message = f"{head} ({'; '.join(d for d in (treatment, *detail) if d)})"
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
                **base,
            )
        )
    return results
