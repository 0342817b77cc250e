"""The experiment's recorded outcomes: rows of ``metric, variant, exposures, conversions`` summed per metric
and variant, columnar (no per-row Python objects, so 1M per-user rows stay columnar end to end), with every
bad row reported."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class VariantCounts:
    exposures: int
    conversions: int

    @property
    def rate(self) -> float:
        return self.conversions / self.exposures


@dataclass(frozen=True)
class MetricCounts:
    name: str
    champion: VariantCounts
    challenger: VariantCounts


REQUIRED_COLUMNS = ("metric", "variant", "exposures", "conversions")
_SHOWN_ROWS = 5  # rows quoted per kind of bad row; the rest are counted


def _quoted_rows(kind: str, rows: list[str], total: int) -> list[str]:
    more = total - len(rows)
    return rows + ([f"... and {more} more row(s) with the same problem ({kind})"] if more > 0 else [])


def outcomes_from_frame(
    frame: pd.DataFrame, champion: str = "champion", challenger: str = "challenger"
) -> tuple[list[MetricCounts], list[str]]:
    """Sum rows of ``metric, variant, exposures, conversions`` per metric and variant, columnar.

    Returns the metrics that are complete and valid, and a list of problems (each one explains itself; at
    most five bad rows of each kind are quoted, the rest counted). Rows of the same metric and variant
    (e.g. one per user or per day) are added up; metrics keep the order of their first row.
    """
    if len(frame) == 0:
        return [], ["no experiment outcomes were recorded"]
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        return [], [
            f"the outcomes have no column(s) {missing}; each row needs {list(REQUIRED_COLUMNS)} "
            f"(columns found: {[str(c) for c in frame.columns]})"
        ]
    problems: list[str] = []
    # metrics: factorised once; values whose str() is equal are one metric, empty ones are invalid
    codes, uniques = pd.factorize(frame["metric"], use_na_sentinel=True)  # NaN/None: code -1
    names = [str(u) if u else None for u in uniques]  # an empty metric name is invalid
    position = {name: i for i, name in enumerate(dict.fromkeys(n for n in names if n is not None))}
    distinct = list(position)
    # the appended -1 is what the NaN sentinel (code -1) picks
    metric = np.array([position.get(n, -1) for n in names] + [-1], dtype=np.int64)[codes]
    vcodes, vuniques = pd.factorize(frame["variant"], use_na_sentinel=True)
    side = {champion: 0, challenger: 1}
    variant = np.array([side.get(u, -1) if isinstance(u, str) else -1 for u in vuniques] + [-1], dtype=np.int64)[vcodes]
    bad_key = (metric < 0) | (variant < 0)
    if bad_key.any():
        idx = np.flatnonzero(bad_key)
        shown = frame.iloc[idx[:_SHOWN_ROWS]]
        rows = [
            f"row {i}: needs a metric and a variant of {champion!r} or {challenger!r}, got metric={m!r} variant={v!r}"
            for i, m, v in zip(
                idx[:_SHOWN_ROWS].tolist(), shown["metric"].tolist(), shown["variant"].tolist(), strict=True
            )
        ]
        problems += _quoted_rows("metric or variant", rows, len(idx))
    exposures = pd.to_numeric(frame["exposures"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    conversions = pd.to_numeric(frame["conversions"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        whole = (
            np.isfinite(exposures)
            & np.isfinite(conversions)
            & (exposures >= 0)
            & (conversions >= 0)
            & (exposures == np.floor(exposures))
            & (conversions == np.floor(conversions))
        )
    bad_value = ~bad_key & ~whole
    if bad_value.any():
        idx = np.flatnonzero(bad_value)
        shown = frame.iloc[idx[:_SHOWN_ROWS]]
        rows = [
            f"row {i} ({m}/{v}): exposures and conversions must be whole numbers >= 0, got {e!r} and {c!r}"
            for i, m, v, e, c in zip(
                idx[:_SHOWN_ROWS].tolist(),
                shown["metric"].tolist(),
                shown["variant"].tolist(),
                shown["exposures"].tolist(),
                shown["conversions"].tolist(),
                strict=True,
            )
        ]
        problems += _quoted_rows("exposures or conversions", rows, len(idx))
    good = ~bad_key & whole
    keys = metric[good] * 2 + variant[good]
    size = 2 * len(distinct)
    n = np.bincount(keys, weights=exposures[good], minlength=size).reshape(-1, 2)
    x = np.bincount(keys, weights=conversions[good], minlength=size).reshape(-1, 2)
    rows_per = np.bincount(keys, minlength=size).reshape(-1, 2)
    present = np.bincount(metric[good], minlength=len(distinct)) > 0
    outcomes = []
    for m, name in enumerate(distinct):
        if not present[m]:
            continue  # every row of this metric was invalid and is reported above
        bad = False
        for j, variant_name in enumerate((champion, challenger)):
            nj, xj = int(n[m, j]), int(x[m, j])
            if rows_per[m, j] == 0 or nj == 0:
                problems.append(f"metric {name!r}: variant {variant_name!r} has zero exposures; nothing to compare")
                bad = True
            elif xj > nj:
                problems.append(
                    f"metric {name!r}: variant {variant_name!r} has {xj} conversions but only {nj} exposures"
                )
                bad = True
        if not bad:
            outcomes.append(
                MetricCounts(
                    name,
                    VariantCounts(int(n[m, 0]), int(x[m, 0])),
                    VariantCounts(int(n[m, 1]), int(x[m, 1])),
                )
            )
    return outcomes, problems


def outcomes_from_records(
    records: Iterable[Mapping[str, Any]] | pd.DataFrame, champion: str = "champion", challenger: str = "challenger"
) -> tuple[list[MetricCounts], list[str]]:
    """:func:`outcomes_from_frame` for rows given as mappings (or already as a DataFrame)."""
    if not isinstance(records, pd.DataFrame):
        records = pd.DataFrame([dict(r) for r in records])
    return outcomes_from_frame(records, champion, challenger)
