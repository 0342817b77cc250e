"""What a chunk of one column holds: numeric values, categories, datetimes, or nothing at all.

The kind of a column is fixed by its first non-empty reference chunk; every later chunk (reference or
current) must hold the same kind or only missing values, otherwise the column is an ERROR (a numeric
reference compared with strings in the current data is a broken pipeline, never coerced silently).
Object columns of Python numbers or Decimals (what SQL drivers return for NUMERIC) count as numeric.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from assay.engines.drift.config import CATEGORICAL, NUMERIC

DATETIME = "datetime"
EMPTY = "empty"
_NUMERIC_OBJECTS = {"integer", "floating", "mixed-integer-float", "decimal"}
_DATETIME_OBJECTS = {"datetime", "datetime64", "date", "time", "timedelta", "timedelta64", "period"}


@dataclass(frozen=True)
class ChunkColumn:
    """One chunk of one column: its kind, its dtype's name, and the series to read values from."""

    kind: str
    dtype: str
    series: pd.Series

    def example(self, non_numeric: bool = False) -> str:
        """A non-missing value for messages; with ``non_numeric``, preferably one that is not a number."""
        s = self.series.dropna()
        if non_numeric and len(s):
            bad = s[pd.to_numeric(s, errors="coerce").isna()]
            s = bad if len(bad) else s
        return repr(s.iloc[0]) if len(s) else "<none>"


def classify(series: pd.Series) -> ChunkColumn:
    dtype = series.dtype
    name = str(dtype)
    if len(series) == 0 or series.isna().all():
        return ChunkColumn(EMPTY, name, series)
    if isinstance(dtype, pd.CategoricalDtype) or ptypes.is_bool_dtype(dtype):
        return ChunkColumn(CATEGORICAL, name, series)
    if ptypes.is_numeric_dtype(dtype) and not ptypes.is_complex_dtype(dtype):
        return ChunkColumn(NUMERIC, name, series)
    if ptypes.is_datetime64_any_dtype(dtype) or ptypes.is_timedelta64_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
        return ChunkColumn(DATETIME, name, series)
    inferred = ptypes.infer_dtype(series, skipna=True)
    if inferred in _NUMERIC_OBJECTS:
        return ChunkColumn(NUMERIC, f"{name} ({inferred})", series)
    if inferred in _DATETIME_OBJECTS:
        return ChunkColumn(DATETIME, f"{name} ({inferred})", series)
    return ChunkColumn(CATEGORICAL, f"{name} ({inferred})" if name == "object" else name, series)


def finite_values(column: ChunkColumn) -> tuple[np.ndarray, int, int]:
    """The finite float64 values of a numeric chunk, how many were missing (NaN/None/NA), how many infinite.

    When every value is finite the array may be a read-only view of the caller's data (never modified).
    """
    s = column.series
    if s.dtype == object:
        values = s.astype(np.float64).to_numpy()
    elif isinstance(s.dtype, np.dtype):
        values = np.asarray(s.to_numpy(), dtype=np.float64)  # no copy for float64
    else:  # nullable extension dtypes (Int64, Float64, Arrow): NA becomes NaN
        values = s.to_numpy(dtype=np.float64, na_value=np.nan)
    mask = np.isfinite(values)
    if mask.all():
        return values, 0, 0
    missing = int(np.isnan(values).sum())
    return values[mask], missing, int(values.size - mask.sum()) - missing


def category_counts(column: ChunkColumn) -> tuple[Counter, int]:
    """Counts per category of a categorical chunk (missing values dropped) and how many were missing."""
    s = column.series
    counts = s.value_counts(dropna=True, sort=False)
    counts = counts[counts > 0]
    keys = counts.index.astype(object) if isinstance(counts.index.dtype, pd.CategoricalDtype) else counts.index
    return Counter(dict(zip(keys.tolist(), counts.to_numpy().tolist(), strict=True))), int(s.isna().sum())


def value_counts_sorted(values_sorted: np.ndarray) -> Counter:
    """Counts per distinct value of a sorted float array, as categories (keys are Python floats)."""
    if values_sorted.size == 0:
        return Counter()
    starts = np.flatnonzero(np.concatenate(([True], values_sorted[1:] != values_sorted[:-1])))
    sizes = np.diff(np.concatenate((starts, [values_sorted.size])))
    return Counter(dict(zip(values_sorted[starts].tolist(), sizes.tolist(), strict=True)))


def distinct_count_sorted(values_sorted: np.ndarray) -> int:
    if values_sorted.size == 0:
        return 0
    return int(np.count_nonzero(values_sorted[1:] != values_sorted[:-1])) + 1


def distinct_values_upto(parts: Iterable[np.ndarray], limit: int, block: int = 1 << 16) -> set[float] | None:
    """The distinct values of a numeric column given in ``parts``, or None as soon as there are more than
    ``limit`` (a continuous column is known after its first block: no sort, no copy of the column)."""
    seen: set[float] = set()
    for part in parts:
        for start in range(0, part.size, block):
            uniq = pd.unique(part[start : start + block])
            if uniq.size > limit + 1:  # + 1: the hash may keep 0.0 and -0.0 apart, the set does not
                return None
            seen.update(uniq.tolist())
            if len(seen) > limit:
                return None
    return seen


def value_counts(values: np.ndarray) -> Counter:
    """Counts per distinct value of an unsorted float array (a chunk of a numeric column treated as categorical)."""
    uniq, sizes = np.unique(values, return_counts=True)
    return Counter(dict(zip(uniq.tolist(), sizes.tolist(), strict=True)))


def category_order(keys: set) -> list:
    """A deterministic order for category keys, whatever order chunks delivered them in."""
    try:
        return sorted(keys)
    except TypeError:
        return sorted(keys, key=lambda k: (type(k).__name__, repr(k)))
