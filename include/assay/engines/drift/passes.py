"""The two streaming passes: every chunk of the reference, then every chunk of the current data.

Reference pass: numeric values go to the spool (exact quantiles and the value tests need them all),
categories are counted. Current pass (after planning): per chunk, values go to the spool only for
columns with a value test (or a treatment still to decide), bin counts are added with the reference's
fixed edges, categories are counted. Counts are integers summed over chunks, so binned results do not
depend on the chunking. Missing values (NaN/None/NA) and infinite ones are counted apart on both sides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set

import numpy as np

from assay.engines.drift import statistics
from assay.engines.drift.columns import (
    EMPTY,
    ChunkColumn,
    category_counts,
    classify,
    finite_values,
    value_counts,
)
from assay.engines.drift.config import CATEGORICAL, NUMERIC
from assay.engines.drift.plan import ColumnPlan, SideColumn, current_key, reference_key
from assay.sources import TableSource


class Side:
    """What one pass gathered: rows read, and per column a :class:`SideColumn`, in order of appearance."""

    def __init__(self, name: str, label: str) -> None:
        self.name = name
        self.label = label
        self.rows = 0
        self.columns: dict[str, SideColumn] = {}

    def column(self, name: str) -> SideColumn:
        col = self.columns.get(name)
        if col is None:
            col = self.columns[name] = SideColumn(name)
        return col

    def finish(self) -> None:
        """Rows of chunks that lacked a column count as missing for it."""
        for col in self.columns.values():
            col.missing += self.rows - col.rows
            col.rows = self.rows


def _kind_conflict(side: str, col: SideColumn, expected: str, expected_dtype: str, chunk: ChunkColumn) -> str:
    example = chunk.example(non_numeric=expected == NUMERIC)
    return (
        f"{side} column {col.name!r} holds {chunk.kind} values ({chunk.dtype}, e.g. {example}) "
        f"where the reference holds {expected} values ({expected_dtype}); fix the type in the data source"
    )


def read_reference(source: TableSource, columns: Sequence[str] | None, spool, skip: Set[str] = frozenset()) -> Side:
    """Gather the reference; columns in ``skip`` (excluded ones) are noted but not read into the spool."""
    side = Side("reference", source.label)
    for chunk in source.iter_chunks(columns):
        n = len(chunk)
        side.rows += n
        for name in chunk.columns:
            col = side.column(name)
            if name in skip:
                col.rows += n
                continue
            col.rows += n
            if col.error:
                continue
            cc = classify(chunk[name])
            if cc.kind == EMPTY:
                col.missing += n
                continue
            if col.kind is None:
                col.kind, col.dtype = cc.kind, cc.dtype
            elif cc.kind != col.kind:
                col.error = (
                    f"reference column {name!r} changes type between chunks: {col.kind} ({col.dtype}) "
                    f"then {cc.kind} ({cc.dtype}, e.g. {cc.example()}); fix the type in the data source"
                )
                continue
            if cc.kind == NUMERIC:
                values, missing, infinite = finite_values(cc)
                spool.append(reference_key(name), values)
                col.values += values.size
                col.missing += missing
                col.infinite += infinite
            elif cc.kind == CATEGORICAL:
                counts, missing = category_counts(cc)
                col.counts.update(counts)
                col.values += n - missing
                col.missing += missing
            # a datetime column is only noted by its kind: it is never compared
    side.finish()
    return side


def read_current(source: TableSource, plans: Mapping[str, ColumnPlan], spool) -> Side:
    side = Side("current", source.label)
    wanted = [name for name, plan in plans.items() if plan.error is None or plan.counts_only]
    for chunk in source.iter_chunks(wanted):
        n = len(chunk)
        side.rows += n
        for name in chunk.columns:
            plan = plans.get(name)
            if plan is None or (plan.error is not None and not plan.counts_only):
                continue
            col = side.column(name)
            col.rows += n
            if col.error:
                continue
            cc = classify(chunk[name])
            if cc.kind == EMPTY:
                col.missing += n
                continue
            col.kind = col.kind or cc.kind
            col.dtype = col.dtype or cc.dtype
            if plan.counts_only:
                _count_only(col, cc, n)
                continue
            if cc.kind != plan.kind:
                col.error = _kind_conflict("current", col, plan.kind, plan.dtype, cc)
                continue
            if cc.kind == NUMERIC:
                values, missing, infinite = finite_values(cc)
                col.values += values.size
                col.missing += missing
                col.infinite += infinite
                if plan.needs_values:
                    spool.append(current_key(name), values)
                if plan.needs_bins:
                    counts = statistics.bin_counts(values, plan.edges)
                    col.bins = counts if col.bins is None else col.bins + counts
                if plan.needs_counts:
                    col.counts.update(value_counts(values))
            else:
                counts, missing = category_counts(cc)
                col.counts.update(counts)
                col.values += n - missing
                col.missing += missing
    side.finish()
    for name, col in side.columns.items():
        plan = plans[name]
        if plan.needs_bins and col.bins is None:
            col.bins = np.zeros(plan.edges.size + 1, dtype=np.int64)
    return side


def _count_only(col: SideColumn, chunk: ChunkColumn, n: int) -> None:
    """Rows with and without a usable value, whatever the kind (the reference had none to compare with)."""
    if chunk.kind == NUMERIC:
        values, missing, infinite = finite_values(chunk)
        col.values += values.size
        col.missing += missing
        col.infinite += infinite
    else:
        missing = int(chunk.series.isna().sum())
        col.values += n - missing
        col.missing += missing
