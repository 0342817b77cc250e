"""Drift-check configuration: frozen dataclasses validated on construction (bad values raise ConfigError).

``DriftConfig.from_mapping`` reads the same fields from a plain mapping (the ``drift`` block of
``assay.yaml``), rejecting unknown keys by name; ``DecayConfig.from_mapping`` the ``concept`` block
(performance decay, :mod:`.decay`). Standard library only: ``assay.config`` validates both blocks with
these when the config loads, without importing the engine.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from assay.errors import ConfigError

PSI = "psi"
KL_DIV = "kl_div"
JENSENSHANNON = "jensenshannon"
KS = "ks"
CHISQUARE = "chisquare"
ANDERSON = "anderson"
WASSERSTEIN = "wasserstein"

#: Tests on bin or category counts (streamable: counts add up over chunks).
BINNED_TESTS = frozenset({PSI, KL_DIV, JENSENSHANNON, CHISQUARE})
#: Tests on the values themselves (need the whole column, sorted).
VALUE_TESTS = frozenset({KS, WASSERSTEIN, ANDERSON})
#: Tests whose verdict is a p-value below the threshold; the others are distances at or above it.
P_VALUE_TESTS = frozenset({KS, CHISQUARE, ANDERSON})
TEST_NAMES = BINNED_TESTS | VALUE_TESTS
#: The tests the automatic choice can pick (see :mod:`.choice`).
AUTO_TESTS = frozenset({KS, CHISQUARE, WASSERSTEIN, JENSENSHANNON})
#: scipy's anderson_ksamp never reports a p-value below this (it floors its table interpolation there).
ANDERSON_P_FLOOR = 0.001

#: The data-integrity checks run on every column besides its tests (names of their check records).
MISSING_SHARE = "missing_share"
UNSEEN_SHARE = "unseen_share"
SHARE_CHECKS = frozenset({MISSING_SHARE, UNSEEN_SHARE})
SHARE_CHECK_STATUSES = ("FAIL", "WARN")

DEFAULT_THRESHOLDS: Mapping[str, float] = {
    PSI: 0.2,
    KL_DIV: 0.1,
    JENSENSHANNON: 0.1,
    WASSERSTEIN: 0.1,
    KS: 0.05,
    CHISQUARE: 0.05,
    ANDERSON: 0.05,
}

NUMERIC = "numeric"
CATEGORICAL = "categorical"
SPOOL_MODES = ("memory", "disk")


def _test_names(names: Sequence[str] | None, where: str) -> tuple[str, ...] | None:
    if names is None:
        return None
    if isinstance(names, str):
        names = [names]
    names = tuple(names)
    unknown = [n for n in names if n not in TEST_NAMES]
    if unknown:
        raise ConfigError(f"{where}: unknown drift test {unknown[0]!r}; choose from {sorted(TEST_NAMES)}")
    if not names:
        raise ConfigError(f"{where}: give at least one test, or leave it unset for the automatic choice")
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: a test is listed twice: {list(names)}")
    return names


def _thresholds(values: Mapping[str, float], where: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, value in dict(values).items():
        _test_names([name], where)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ConfigError(f"{where}: threshold for {name!r} must be a finite number >= 0, got {value!r}")
        if name in P_VALUE_TESTS and not 0 < value < 1:
            raise ConfigError(f"{where}: p-value threshold for {name!r} must be in (0, 1), got {value!r}")
        if name == ANDERSON and value <= ANDERSON_P_FLOOR:
            raise ConfigError(
                f"{where}: p-value threshold for 'anderson' must be above {ANDERSON_P_FLOOR}, got {value!r} "
                f"(scipy never reports an Anderson-Darling p-value below {ANDERSON_P_FLOOR}, so it could never drift)"
            )
        out[name] = float(value)
    return out


def _check_warn_order(fail: Mapping[str, float], warn: Mapping[str, float], where: str) -> None:
    for name, w in warn.items():
        f = fail.get(name, DEFAULT_THRESHOLDS[name])
        looser = w > f if name in P_VALUE_TESTS else w < f
        if not looser:
            side = "above" if name in P_VALUE_TESTS else "below"
            raise ConfigError(f"{where}: warn threshold for {name!r} ({w}) must be {side} its fail threshold ({f})")


def _check_thresholds_apply(config: DriftConfig) -> None:
    """A global threshold must name a test that some column can run; else it would be silently ignored."""
    runnable = set(config.tests) if config.tests is not None else set(AUTO_TESTS)
    for override in config.overrides.values():
        runnable |= set(override.tests or ()) | set(override.selected_tests)
    for key in ("thresholds", "warn_thresholds"):
        for test in getattr(config, key):
            if test not in runnable:
                where = f"drift.tests {list(config.tests)}" if config.tests is not None else "the automatic choice"
                raise ConfigError(
                    f"drift.{key}: a threshold for {test!r}, but no column runs {test!r} ({where} does not pick it), "
                    f"so it would never apply; add {test!r} to drift.tests, or give the threshold in a column's "
                    "override (drift.overrides.<column>.thresholds), which runs the test on that column"
                )


def _bins(value: int | None, where: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 1000):
        raise ConfigError(f"{where}: bins must be an integer in [2, 1000], got {value!r}")


def _from_mapping(cls: type, data: Mapping[str, Any], where: str) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known keys: {sorted(known)}")
    return dict(data)


@dataclass(frozen=True)
class ColumnOverride:
    """Per-column choices that replace the defaults.

    :param tests: the tests to run instead of the automatic choice (and of ``DriftConfig.tests``).
    :param kind: ``"numeric"`` or ``"categorical"`` treatment instead of the one inferred.
    :param thresholds: per-test fail thresholds for this column. A threshold *selects* its test: without
        ``tests``, the tests named here run in addition to the automatic choice (or ``DriftConfig.tests``);
        with ``tests``, naming a test that is not listed there is a ConfigError (it would never apply).
    :param warn_thresholds: per-test soft thresholds (WARN) for this column; they select tests the same way.
    :param bins: quantile bins for PSI/KL/JS/chi-square on a numeric column.
    :param critical: a drifted critical column fails the dataset whatever the share of drifted columns.
    """

    tests: tuple[str, ...] | None = None
    kind: str | None = None
    thresholds: Mapping[str, float] = field(default_factory=dict)
    warn_thresholds: Mapping[str, float] = field(default_factory=dict)
    bins: int | None = None
    critical: bool = False

    def __post_init__(self) -> None:
        w = "override"
        object.__setattr__(self, "tests", _test_names(self.tests, f"{w}.tests"))
        if self.kind is not None and self.kind not in (NUMERIC, CATEGORICAL):
            raise ConfigError(f"{w}.kind: must be {NUMERIC!r} or {CATEGORICAL!r}, got {self.kind!r}")
        object.__setattr__(self, "thresholds", _thresholds(self.thresholds, f"{w}.thresholds"))
        object.__setattr__(self, "warn_thresholds", _thresholds(self.warn_thresholds, f"{w}.warn_thresholds"))
        if self.tests is not None:
            for key in ("thresholds", "warn_thresholds"):
                stray = [t for t in getattr(self, key) if t not in self.tests]
                if stray:
                    raise ConfigError(
                        f"{w}.{key}: a threshold for {stray[0]!r}, which is not in this column's tests "
                        f"{list(self.tests)}, would never apply; add {stray[0]!r} to the tests or drop the threshold"
                    )
        _bins(self.bins, f"{w}.bins")
        if not isinstance(self.critical, bool):
            raise ConfigError(f"{w}.critical: must be true or false, got {self.critical!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "override") -> ColumnOverride:
        return cls(**_from_mapping(cls, data, where))

    @property
    def selected_tests(self) -> tuple[str, ...]:
        """The tests this override's thresholds name, in the order given (they run on this column)."""
        return tuple(dict.fromkeys([*self.thresholds, *self.warn_thresholds]))


@dataclass(frozen=True)
class DriftConfig:
    """How to compare a reference dataset with a current one.

    :param columns: feature columns to check; ``None`` means every reference column except
        ``exclude_columns``, the prediction column and datetime columns.
    :param exclude_columns: columns never checked (ids, timestamps, labels).
    :param prediction_column: the model's prediction or score column, checked as concept drift
        (prediction-distribution shift) with the same tests, reported apart from the feature share.
    :param tests: tests for every column without an override; ``None`` = the automatic choice.
    :param thresholds: fail thresholds per test, over :data:`DEFAULT_THRESHOLDS`. Each must name a test
        that can run: one in ``tests``, one the automatic choice picks (ks, chisquare, wasserstein,
        jensenshannon) when ``tests`` is unset, or one a column override selects; otherwise ConfigError.
    :param warn_thresholds: optional soft thresholds per test (WARN when crossed but not the fail one); the
        same rule.
    :param overrides: per-column :class:`ColumnOverride` (mappings are accepted and converted).
    :param bins: quantile bins from the reference for binned tests on numeric columns.
    :param drift_share: the dataset drifts when the share of drifted feature columns is at least this
        (``>=``, Evidently's rule), in (0, 1].
    :param max_categorical_unique: a numeric column counts as categorical when reference and current
        together hold at most this many distinct values *and* the reference has more values than that
        (values repeat), so a tiny numeric sample is never called categorical for its few values.
    :param small_sample_rows: reference columns with at most this many values get the small-sample tests.
    :param min_sample_rows: a test on a column with fewer non-missing values than this on either side is
        WARN "too few rows to test" instead of a verdict (0: no fixed minimum). Whatever this says, a
        p-value test is WARN when no outcome on that many values could reach p < its threshold.
    :param missing_share_change: the largest allowed change (absolute, as a share of rows) of a column's
        share of missing or non-finite values between reference and current; ``None`` turns the check off.
    :param unseen_share: the largest allowed share of a categorical column's current values that fall in
        categories the reference never had; ``None`` turns the check off.
    :param share_check_status: what a crossed ``missing_share_change`` / ``unseen_share`` gives:
        ``"FAIL"`` (a drifted column, deciding the run) or ``"WARN"``.
    :param spool: ``"memory"`` keeps the numeric values needed for exact tests in memory; ``"disk"``
        appends them chunk by chunk to files under ``spool_dir`` and loads one column at a time.
    :param spool_dir: where disk spools go (a temporary directory under it; default: the system's).
    :param threads: columns planned and evaluated in parallel, or ``"auto"`` (the default): 2 when the
        machine has a core to spare at the start of the run (1-minute load average + 1 <= cores), else 1.
        Measured with benchmarks/drift.py on a 2-core machine: quiet, 2 threads took 0.67x (1M x 25) and
        0.79x (5M x 25) the wall time of 1 thread; busy (load 4-9), 2 threads took 1.5x as long. Either
        way 2 threads hold two columns at a time (about twice the extra memory).
    """

    columns: tuple[str, ...] | None = None
    exclude_columns: tuple[str, ...] = ()
    prediction_column: str | None = None
    tests: tuple[str, ...] | None = None
    thresholds: Mapping[str, float] = field(default_factory=dict)
    warn_thresholds: Mapping[str, float] = field(default_factory=dict)
    overrides: Mapping[str, ColumnOverride] = field(default_factory=dict)
    bins: int = 10
    drift_share: float = 0.5
    max_categorical_unique: int = 5
    small_sample_rows: int = 1000
    min_sample_rows: int = 0
    missing_share_change: float | None = 0.1
    unseen_share: float | None = 0.1
    share_check_status: str = "FAIL"
    spool: str = "memory"
    spool_dir: str | None = None
    threads: int | str = "auto"

    def __post_init__(self) -> None:
        for name in ("columns", "exclude_columns"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, str) or not all(isinstance(c, str) and c for c in value):
                raise ConfigError(f"drift.{name}: must be a list of column names, got {value!r}")
            object.__setattr__(self, name, tuple(value))
        if self.prediction_column is not None and (
            not isinstance(self.prediction_column, str) or not self.prediction_column
        ):
            raise ConfigError(f"drift.prediction_column: must be a column name, got {self.prediction_column!r}")
        object.__setattr__(self, "tests", _test_names(self.tests, "drift.tests"))
        object.__setattr__(self, "thresholds", _thresholds(self.thresholds, "drift.thresholds"))
        object.__setattr__(self, "warn_thresholds", _thresholds(self.warn_thresholds, "drift.warn_thresholds"))
        _check_warn_order(self.thresholds, self.warn_thresholds, "drift.warn_thresholds")
        overrides: dict[str, ColumnOverride] = {}
        for column, override in dict(self.overrides).items():
            where = f"drift.overrides.{column}"
            if isinstance(override, Mapping):
                try:
                    override = ColumnOverride.from_mapping(override)
                except ConfigError as exc:
                    raise ConfigError(f"drift.overrides.{column}: {exc}") from None
            elif not isinstance(override, ColumnOverride):
                raise ConfigError(f"{where}: expected a ColumnOverride or mapping, got {type(override).__name__}")
            _check_warn_order(
                {**self.thresholds, **override.thresholds}, {**self.warn_thresholds, **override.warn_thresholds}, where
            )
            overrides[column] = override
        object.__setattr__(self, "overrides", overrides)
        if self.columns is not None:
            stray = sorted(set(overrides) - set(self.columns) - {self.prediction_column})
            if stray:
                raise ConfigError(f"drift.overrides: column {stray[0]!r} is not in drift.columns {list(self.columns)}")
        both = sorted(set(self.columns or ()) & set(self.exclude_columns)) + (
            [self.prediction_column] if self.prediction_column in self.exclude_columns else []
        )
        if both:
            raise ConfigError(f"drift.exclude_columns: {both[0]!r} is also listed to be checked")
        excluded = sorted(set(overrides) & set(self.exclude_columns))
        if excluded:
            raise ConfigError(f"drift.overrides: column {excluded[0]!r} is also in drift.exclude_columns")
        _check_thresholds_apply(self)
        _bins(self.bins, "drift.bins")
        if (
            isinstance(self.drift_share, bool)
            or not isinstance(self.drift_share, int | float)
            or not 0 < self.drift_share <= 1
        ):
            raise ConfigError(
                f"drift.drift_share: must be in (0, 1], got {self.drift_share!r} (the dataset drifts when the "
                "share of drifted columns is >= it; a small value such as 0.01 fails on any drifted column)"
            )
        for name in ("missing_share_change", "unseen_share"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1
            ):
                raise ConfigError(f"drift.{name}: must be a share in [0, 1), or null to turn it off, got {value!r}")
        if self.share_check_status not in SHARE_CHECK_STATUSES:
            raise ConfigError(
                f"drift.share_check_status: must be one of {list(SHARE_CHECK_STATUSES)}, got {self.share_check_status!r}"
            )
        for name in ("max_categorical_unique", "small_sample_rows", "min_sample_rows", "threads"):
            value = getattr(self, name)
            if name == "threads" and value == "auto":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if name == "threads" else 0):
                kind = 'an integer >= 1 or "auto"' if name == "threads" else "a non-negative integer"
                raise ConfigError(f"drift.{name}: must be {kind}, got {value!r}")
        if self.spool not in SPOOL_MODES:
            raise ConfigError(f"drift.spool: must be one of {list(SPOOL_MODES)}, got {self.spool!r}")
        if self.spool_dir is not None and not Path(self.spool_dir).is_dir():
            raise ConfigError(f"drift.spool_dir: {self.spool_dir!r} is not a directory")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> DriftConfig:
        """The config from a plain mapping (YAML), unknown keys rejected by name."""
        return cls(**_from_mapping(cls, data, "drift"))

    def override(self, column: str) -> ColumnOverride | None:
        return self.overrides.get(column)

    def threshold(self, column: str, test: str) -> float:
        o = self.overrides.get(column)
        if o is not None and test in o.thresholds:
            return o.thresholds[test]
        return self.thresholds.get(test, DEFAULT_THRESHOLDS[test])

    def warn_threshold(self, column: str, test: str) -> float | None:
        o = self.overrides.get(column)
        if o is not None and test in o.warn_thresholds:
            return o.warn_thresholds[test]
        return self.warn_thresholds.get(test)

    def bins_for(self, column: str) -> int:
        o = self.overrides.get(column)
        return o.bins if o is not None and o.bins is not None else self.bins


# pandas period aliases that pd.Period accepts (checked by a test), so the common windows are validated
# without importing pandas when the config loads; any other alias is asked of pandas itself.
_PLAIN_WINDOW = re.compile(r"(?:[1-9][0-9]*)?(?:D|W|h|min|s|ms|us|ns|M|Q|Y)")


def _check_window(window: Any) -> None:
    if isinstance(window, str) and _PLAIN_WINDOW.fullmatch(window):
        return
    import pandas as pd

    try:
        pd.Period("2024-01-01", freq=window)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"decay.window: {window!r} is not a pandas period such as 'D', 'W' or 'h'") from exc


METRICS = ("accuracy", "precision", "recall")
AVERAGES = ("binary", "macro", "micro", "weighted")


@dataclass(frozen=True)
class DecayConfig:
    """Which columns hold time, label and prediction, how to window, and when a drop fails.

    :param prediction_threshold: set when the prediction column holds scores: a score >= it predicts
        class 1 (labels must then be 0/1 or booleans).
    """

    timestamp_column: str
    label_column: str
    prediction_column: str
    window: str = "D"
    metrics: tuple[str, ...] = METRICS
    pos_label: Any = 1
    average: str = "binary"
    prediction_threshold: float | None = None
    fail_drop: float = 0.05
    warn_drop: float | None = 0.02
    relative: bool = False
    min_window_rows: int = 30

    def __post_init__(self) -> None:
        for name in ("timestamp_column", "label_column", "prediction_column"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ConfigError(f"decay.{name}: must be a column name, got {getattr(self, name)!r}")
        _check_window(self.window)
        metrics = (self.metrics,) if isinstance(self.metrics, str) else tuple(self.metrics)
        unknown = [m for m in metrics if m not in METRICS]
        if unknown or not metrics:
            raise ConfigError(
                f"decay.metrics: unknown metric {unknown[0] if unknown else None!r}; choose from {list(METRICS)}"
            )
        object.__setattr__(self, "metrics", metrics)
        if self.average not in AVERAGES:
            raise ConfigError(f"decay.average: must be one of {list(AVERAGES)}, got {self.average!r}")
        for name in ("fail_drop", "warn_drop", "prediction_threshold"):
            value = getattr(self, name)
            if value is None and name != "fail_drop":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"decay.{name}: must be a finite number >= 0, got {value!r}")
        if self.warn_drop is not None and self.warn_drop >= self.fail_drop:
            raise ConfigError(f"decay.warn_drop ({self.warn_drop}) must be below fail_drop ({self.fail_drop})")
        if (
            isinstance(self.min_window_rows, bool)
            or not isinstance(self.min_window_rows, int)
            or self.min_window_rows < 1
        ):
            raise ConfigError(f"decay.min_window_rows: must be a positive integer, got {self.min_window_rows!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> DecayConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"decay: unknown key {unknown[0]!r}; known keys: {sorted(known)}")
        missing = sorted(k for k in ("timestamp_column", "label_column", "prediction_column") if k not in data)
        if missing:
            raise ConfigError(f"decay: missing key {missing[0]!r}")
        return cls(**dict(data))


def resolve_threads(threads: int | str) -> int:
    """The thread count for a run: ``threads`` itself, or for ``"auto"`` 2 when a core is spare now."""
    if threads != "auto":
        return int(threads)
    import os

    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:  # not available on this platform: assume busy
        return 1
    return 2 if cores >= 2 and load + 1 <= cores else 1
