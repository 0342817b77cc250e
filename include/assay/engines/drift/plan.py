"""A column's plan: its kind and treatment, its tests, and what the current pass must gather for it.

Made after the reference pass, from the reference alone, so the current data can be streamed once. No
column is sorted here: the automatic treatment needs only to know whether the reference holds at most a
handful of distinct values (a hash of its first block answers that for a continuous column), and binned
tests on a numeric column take their quantile edges and reference bin counts from the unsorted values
(``np.quantile`` selects the same order statistics a sort would). The value tests sort each side once,
at evaluation, one column at a time, so no sorted copy of every column waits in memory.

A numeric column whose reference holds few distinct values is ``PENDING``: whether it is categorical
depends on the current data too (:func:`.choice.resolve_treatment`), so the current pass keeps its values
and the evaluation decides, taking counts or bins from the sorted values of both sides.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from assay.engines.drift import statistics
from assay.engines.drift.choice import PENDING, choose_tests, choose_treatment
from assay.engines.drift.columns import DATETIME, distinct_values_upto, value_counts
from assay.engines.drift.config import (
    BINNED_TESTS,
    CATEGORICAL,
    NUMERIC,
    VALUE_TESTS,
    DriftConfig,
)


@dataclass
class SideColumn:
    """What one pass gathered for one column on one side (``missing``: NaN/None/NA; ``infinite``: ±inf)."""

    name: str
    kind: str | None = None
    dtype: str = ""
    rows: int = 0
    values: int = 0
    missing: int = 0
    infinite: int = 0
    counts: Counter = field(default_factory=Counter)
    bins: np.ndarray | None = None
    error: str | None = None

    @property
    def dropped(self) -> int:
        """Rows without a usable value: missing or infinite."""
        return self.missing + self.infinite


@dataclass
class ColumnPlan:
    name: str
    role: str
    kind: str | None = None
    dtype: str = ""
    treatment: str | None = None
    tests: tuple[str, ...] = ()
    auto: frozenset[str] = frozenset()
    #: for a PENDING column: the tests if it turns out categorical (``tests`` holds the numeric ones)
    categorical_tests: tuple[str, ...] = ()
    categorical_auto: frozenset[str] = frozenset()
    critical: bool = False
    rows_reference: int = 0
    n_reference: int = 0
    missing_reference: int = 0
    infinite_reference: int = 0
    #: the reference's distinct values when there are at most ``max_categorical_unique`` (numeric columns)
    reference_distinct: frozenset[float] | None = None
    edges: np.ndarray | None = None
    reference_bins: np.ndarray | None = None
    reference_counts: Counter | None = None
    error: str | None = None
    #: the error is "no usable value in the reference": the missing share can still be compared
    no_values: bool = False

    @property
    def needs_values(self) -> bool:
        if self.error is not None or self.kind != NUMERIC:
            return False
        return self.treatment == PENDING or any(t in VALUE_TESTS for t in self.tests)

    @property
    def needs_bins(self) -> bool:
        return self.error is None and self.treatment == NUMERIC and any(t in BINNED_TESTS for t in self.tests)

    @property
    def needs_counts(self) -> bool:
        return self.error is None and self.treatment == CATEGORICAL

    @property
    def counts_only(self) -> bool:
        """The current pass only counts rows and missing values for this column (the missing share)."""
        return self.no_values


def reference_key(column: str) -> str:
    return f"reference\x00{column}"


def current_key(column: str) -> str:
    return f"current\x00{column}"


def plan_column(name: str, role: str, side: SideColumn | None, config: DriftConfig, spool, label: str) -> ColumnPlan:
    """Plan one column from what the reference pass gathered (drops spooled values no test needs)."""
    override = config.override(name)
    plan = ColumnPlan(name, role, critical=bool(override and override.critical))
    if side is None:
        plan.error = f"column {name!r} is not in the reference data ({label})"
        return plan
    plan.kind, plan.dtype = side.kind, side.dtype
    plan.rows_reference, plan.n_reference = side.rows, side.values
    plan.missing_reference, plan.infinite_reference = side.dropped, side.infinite
    key = reference_key(name)
    try:
        _plan(plan, side, config, spool)
    finally:
        if not plan.needs_values:
            spool.drop(key)
    return plan


def _plan(plan: ColumnPlan, side: SideColumn, config: DriftConfig, spool) -> None:
    name, override = plan.name, config.override(plan.name)
    if side.error:
        plan.error = side.error
        return
    if side.kind is None:
        plan.error, plan.no_values = f"reference column {name!r} has only missing values ({side.rows} rows)", True
        return
    if side.kind == DATETIME:
        plan.error = (
            f"column {name!r} holds datetimes ({side.dtype}); drift tests need numbers or categories: "
            "exclude it or convert it"
        )
        return
    if side.kind == CATEGORICAL and override is not None and override.kind == NUMERIC:
        plan.error = f"column {name!r} holds categories ({side.dtype}); it cannot be treated as numeric"
        return
    if side.values == 0:
        plan.error = (
            f"reference column {name!r} has no finite values ({side.rows} rows: {side.missing} missing, "
            f"{side.infinite} infinite); nothing to test"
        )
        plan.no_values = True
        return

    key = reference_key(name)
    if side.kind == NUMERIC and (override is None or override.kind is None):
        distinct = distinct_values_upto(spool.parts(key), config.max_categorical_unique)
        plan.reference_distinct = None if distinct is None else frozenset(distinct)
    plan.treatment = choose_treatment(side.kind, plan.reference_distinct, plan.n_reference, config, name)
    first = NUMERIC if plan.treatment == PENDING else plan.treatment
    plan.tests, plan.auto = choose_tests(name, first, plan.n_reference, config)
    if plan.treatment == PENDING:
        plan.categorical_tests, plan.categorical_auto = choose_tests(name, CATEGORICAL, plan.n_reference, config)

    if plan.needs_counts:
        plan.reference_counts = side.counts if side.kind == CATEGORICAL else value_counts(spool.take(key))
    if plan.needs_bins:
        values = spool.take(key)
        plan.edges = statistics.quantile_edges(values, config.bins_for(name))
        plan.reference_bins = statistics.bin_counts(values, plan.edges)
