"""The automatic choice of treatment and test per column (Evidently's default rule).

* Treatment: string, boolean and pandas-categorical columns are categorical; a numeric column is
  categorical when its reference holds at most ``max_categorical_unique`` (5) distinct values, numeric
  otherwise. Unlike Evidently, which counts distinct values over reference and current together, only
  the reference counts here, so the plan is fixed before the current data is streamed.
* Test, by the number of non-missing reference values ``n``:

  ============  ==========================  ===================================
  treatment     n <= small_sample_rows      n > small_sample_rows (1000)
  ============  ==========================  ===================================
  numeric       ``ks`` (drift: p < 0.05)    ``wasserstein`` (drift: >= 0.1)
  categorical   ``chisquare`` (p < 0.05)    ``jensenshannon`` (drift: >= 0.1)
  ============  ==========================  ===================================

A column override's ``tests`` (or the config's ``tests``) replaces this choice; its ``kind`` replaces
the treatment. ``anderson`` is never chosen automatically (it costs ~0.7 s per 1M + 1M values).
"""

from __future__ import annotations

from assay.engines.drift.config import (
    CATEGORICAL,
    CHISQUARE,
    JENSENSHANNON,
    KS,
    NUMERIC,
    WASSERSTEIN,
    DriftConfig,
)


def choose_treatment(kind: str, distinct: int | None, config: DriftConfig, column: str) -> str:
    """``numeric`` or ``categorical`` for a column of ``kind`` with ``distinct`` reference values."""
    override = config.override(column)
    if override is not None and override.kind is not None:
        return override.kind
    if kind == CATEGORICAL:
        return CATEGORICAL
    return CATEGORICAL if distinct is not None and distinct <= config.max_categorical_unique else NUMERIC


def auto_tests(treatment: str, n_reference: int, small_sample_rows: int) -> tuple[str, ...]:
    small = n_reference <= small_sample_rows
    if treatment == NUMERIC:
        return (KS,) if small else (WASSERSTEIN,)
    return (CHISQUARE,) if small else (JENSENSHANNON,)


def choose_tests(column: str, treatment: str, n_reference: int, config: DriftConfig) -> tuple[tuple[str, ...], bool]:
    """The tests for ``column`` and whether they were chosen automatically."""
    override = config.override(column)
    if override is not None and override.tests is not None:
        return override.tests, False
    if config.tests is not None:
        return config.tests, False
    return auto_tests(treatment, n_reference, config.small_sample_rows), True
