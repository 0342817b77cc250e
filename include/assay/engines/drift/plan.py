"""A column's plan: its kind and treatment, its tests, and what the current pass must gather for it.

Made after the reference pass, from the reference alone, so the current data can be streamed once:
numeric reference values are sorted here (once), the quantile bin edges and reference bin counts are
taken from the sorted array, and the plan says whether the current pass keeps values (KS, Wasserstein,
Anderson–Darling), counts bins (PSI, KL, JS, chi-square on a numeric treatment) or counts categories.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from assay.engines.drift import statistics
from assay.engines.drift.choice import choose_tests, choose_treatment
from assay.engines.drift.columns import (
    DATETIME,
    distinct_count_sorted,
    value_counts_sorted,
)
from assay.engines.drift.config import (
    BINNED_TESTS,
    CATEGORICAL,
    NUMERIC,
    VALUE_TESTS,
    DriftConfig,
)


@dataclass
class SideColumn:
    """What one pass gathered for one column on one side."""

    name: str
    kind: str | None = None
    dtype: str = ""
    rows: int = 0
    values: int = 0
    missing: int = 0
    counts: Counter = field(default_factory=Counter)
    bins: np.ndarray | None = None
    error: str | None = None


@dataclass
class ColumnPlan:
    name: str
    role: str
    kind: str | None = None
    dtype: str = ""
    treatment: str | None = None
    tests: tuple[str, ...] = ()
    auto: bool = False
    critical: bool = False
    n_reference: int = 0
    missing_reference: int = 0
    distinct: int | None = None
    edges: np.ndarray | None = None
    reference_bins: np.ndarray | None = None
    reference_counts: Counter | None = None
    error: str | None = None

    @property
    def needs_values(self) -> bool:
        return self.error is None and self.kind == NUMERIC and any(t in VALUE_TESTS for t in self.tests)

    @property
    def needs_bins(self) -> bool:
        return self.error is None and self.treatment == NUMERIC and any(t in BINNED_TESTS for t in self.tests)

    @property
    def needs_counts(self) -> bool:
        return self.error is None and self.treatment == CATEGORICAL and any(t in BINNED_TESTS for t in self.tests)


def reference_key(column: str) -> str:
    return f"reference\x00{column}"


def current_key(column: str) -> str:
    return f"current\x00{column}"


def plan_column(name: str, role: str, side: SideColumn | None, config: DriftConfig, spool, label: str) -> ColumnPlan:
    """Plan one column from what the reference pass gathered (sorts and re-spools numeric values)."""
    override = config.override(name)
    plan = ColumnPlan(name, role, critical=bool(override and override.critical))
    if side is None:
        plan.error = f"column {name!r} is not in the reference data ({label})"
        return plan
    plan.kind, plan.dtype, plan.missing_reference = side.kind, side.dtype, side.missing
    plan.n_reference = side.values
    if side.error:
        plan.error = side.error
        return plan
    if side.kind is None:
        plan.error = f"reference column {name!r} has only missing values ({side.rows} rows)"
        return plan
    if side.kind == DATETIME:
        plan.error = (
            f"column {name!r} holds datetimes ({side.dtype}); drift tests need numbers or categories: "
            "exclude it or convert it"
        )
        return plan
    if side.kind == CATEGORICAL and override is not None and override.kind == NUMERIC:
        plan.error = f"column {name!r} holds categories ({side.dtype}); it cannot be treated as numeric"
        return plan

    ref_sorted = None
    if side.kind == NUMERIC:
        ref_sorted = np.sort(spool.take(reference_key(name)))
        plan.distinct = distinct_count_sorted(ref_sorted)
    plan.treatment = choose_treatment(side.kind, plan.distinct, config, name)
    plan.tests, plan.auto = choose_tests(name, plan.treatment, plan.n_reference, config)

    if plan.needs_counts:
        plan.reference_counts = side.counts if side.kind == CATEGORICAL else value_counts_sorted(ref_sorted)
    if plan.needs_bins:
        plan.edges = statistics.quantile_edges(ref_sorted, config.bins_for(name))
        plan.reference_bins = statistics.bin_counts_sorted(ref_sorted, plan.edges)
    if ref_sorted is not None:
        if plan.needs_values:
            spool.put(reference_key(name), ref_sorted)
        else:
            spool.drop(reference_key(name))
    return plan
