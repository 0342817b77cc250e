"""The automatic choice of treatment and test per column (Evidently's default rule, made safe on tiny data).

* Treatment: string, boolean and pandas-categorical columns are categorical. A numeric column is
  categorical when reference and current *together* hold at most ``max_categorical_unique`` (5) distinct
  values, as in Evidently (``pd.concat([reference, current]).nunique()``), and, unlike Evidently, only when
  the reference has more values than that (its values repeat): a reference of 3 numbers has 3 distinct
  values because it has 3 rows, which says nothing about the column being categorical. Numeric otherwise.
  Which it is can only be known once the current data is read, so such a column is planned ``PENDING``
  and decided at evaluation (:func:`resolve_treatment`).
* Test, by the number of non-missing reference values ``n``:

  ============  ==========================  ===================================
  treatment     n <= small_sample_rows      n > small_sample_rows (1000)
  ============  ==========================  ===================================
  numeric       ``ks`` (drift: p < 0.05)    ``wasserstein`` (drift: >= 0.1)
  categorical   ``chisquare`` (p < 0.05)    ``jensenshannon`` (drift: >= 0.1)
  ============  ==========================  ===================================

A column override's ``tests`` (or the config's ``tests``) replaces this choice; its ``kind`` replaces
the treatment; the tests its ``thresholds``/``warn_thresholds`` name are added to the choice.
``anderson`` is never chosen automatically (it costs ~0.7 s per 1M + 1M values).
"""

from __future__ import annotations

from collections.abc import Set

from assay.engines.drift.config import (
    CATEGORICAL,
    CHISQUARE,
    JENSENSHANNON,
    KS,
    NUMERIC,
    WASSERSTEIN,
    DriftConfig,
)

#: A numeric column with few distinct reference values: categorical or not depends on the current data.
PENDING = "pending"


def choose_treatment(
    kind: str, reference_distinct: Set[float] | None, n_reference: int, config: DriftConfig, column: str
) -> str:
    """``numeric``, ``categorical`` or ``PENDING`` for a column of ``kind``.

    :param reference_distinct: the reference's distinct values, or None when there are more than
        ``max_categorical_unique`` of them.
    """
    override = config.override(column)
    if override is not None and override.kind is not None:
        return override.kind
    if kind == CATEGORICAL:
        return CATEGORICAL
    if reference_distinct is None or n_reference <= len(reference_distinct):
        return NUMERIC  # many distinct values, or no value repeats: numeric whatever the current data holds
    return PENDING


def resolve_treatment(
    reference_distinct: Set[float], current_distinct: Set[float] | None, n_reference: int, config: DriftConfig
) -> str:
    """The treatment of a PENDING column once the current data's distinct values are known (None: too many)."""
    if current_distinct is None:
        return NUMERIC
    together = len(set(reference_distinct) | set(current_distinct))
    return CATEGORICAL if together <= config.max_categorical_unique and n_reference > together else NUMERIC


def auto_tests(treatment: str, n_reference: int, small_sample_rows: int) -> tuple[str, ...]:
    small = n_reference <= small_sample_rows
    if treatment == NUMERIC:
        return (KS,) if small else (WASSERSTEIN,)
    return (CHISQUARE,) if small else (JENSENSHANNON,)


def choose_tests(
    column: str, treatment: str, n_reference: int, config: DriftConfig
) -> tuple[tuple[str, ...], frozenset[str]]:
    """The tests for ``column`` and which of them the automatic choice picked."""
    override = config.override(column)
    if override is not None and override.tests is not None:
        return override.tests, frozenset()
    if config.tests is not None:
        base, auto = config.tests, frozenset()
    else:
        base = auto_tests(treatment, n_reference, config.small_sample_rows)
        auto = frozenset(base)
    selected = override.selected_tests if override is not None else ()
    return tuple(dict.fromkeys([*base, *selected])), auto
