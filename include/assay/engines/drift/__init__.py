"""Data and concept drift checks (``assay_drift_checks``): reference vs current data, column by column.

Usage::

    from assay.engines.drift import DriftConfig, ColumnOverride, run_drift
    from assay.sources import DataSource

    current = DataSource(kind="sql", query="SELECT * FROM scored_today", engine=engine)
    result = run_drift("ref.parquet", current,  # a DataFrame, a path, or an assay.sources source
                       DriftConfig(prediction_column="score", exclude_columns=["id"],
                                   overrides={"amount": ColumnOverride(tests=["psi", "ks"], critical=True)}))
    result.status, result.checks, result.metrics, result.describe_dict()

Tests (names as Evidently's): ``psi``, ``kl_div``, ``jensenshannon`` (distance, natural log),
``wasserstein`` (normalised), ``ks``, ``chisquare``, ``anderson`` (k-sample, midrank). Distances drift when
the statistic is >= the threshold; p-value tests drift when p < the threshold. Default thresholds: psi 0.2,
kl_div 0.1 (the strategy's PSI < 0.2, KL < 0.1), jensenshannon 0.1, wasserstein 0.1, p-values 0.05.

**Automatic choice** (Evidently's rule; details in :mod:`.choice`): a numeric column counts as
categorical when reference and current together hold at most 5 distinct values and the reference repeats
them (more reference values than distinct ones: a 3-row reference is never "categorical" for having 3
values). With at most 1000 non-missing reference values, numeric columns get ``ks`` and categorical ones
``chisquare``; above, numeric get ``wasserstein`` (normalised by the reference's standard deviation,
ddof 0, floored at 0.001 as Evidently does; computed scale-free, so values up to the largest doubles do
not overflow) and categorical get ``jensenshannon``. ``ColumnOverride(tests=..., kind=..., thresholds=...,
bins=..., critical=...)`` or ``DriftConfig(tests=...)`` replaces the choice.

**Thresholds never silently ignored.** A column override's ``thresholds``/``warn_thresholds`` select their
tests (run besides the automatic choice, or must be among the override's ``tests``); a global threshold
for a test no column can run (e.g. ``psi`` with the automatic choice and no override selecting it) is a
ConfigError.

**Bins.** Binned tests (psi, kl_div, jensenshannon, chisquare) on a numeric column use the reference's
``bins`` (default 10) quantiles as edges (numpy's linear quantiles of *all* reference values; duplicate
edges from ties merged; right-closed bins; the outer bins open to ±inf so out-of-range current values
count in the extreme bins). On a categorical column the bins are the categories of both sides; a
category the reference never saw stays in the comparison with a reference count of 0, and the message
lists it; chisquare pools all such categories into one cell (otherwise 10,000 new ids, each its own
cell, drown the test in degrees of freedom). chisquare is the 2 x k homogeneity test
(``scipy.stats.chi2_contingency``, no Yates correction) on the bins/categories that are non-empty on at
least one side.

**Empty-bin rule** (psi and kl_div only; Evidently's ``feel_zeroes``): each side's bin shares are
taken as they are, and a zero share is replaced by ε = 0.0001, or by (smallest non-zero share) / 10⁶ when
that smallest share is itself <= 0.0001. Shares are not renormalised for psi; kl_div is
``scipy.stats.entropy(reference, current)``, which renormalises. jensenshannon needs no ε.

**Chunks and exactness.** Data is read chunk by chunk through :mod:`assay.sources` (Parquet row groups,
CSV blocks, SQL pages from a server-side cursor). Pass 1 reads the reference: numeric values are spooled (in memory, or with
``spool="disk"`` to one file per column) and categories counted. Planning sorts nothing: quantile edges
and reference bin counts come from the unsorted values. Pass 2 streams the current data: bin and
category counts are added per chunk with the fixed edges (integer sums, so binned results are identical
however the data is chunked), and values are spooled only for columns with a value test (ks,
wasserstein, anderson). Each such column is then evaluated on its own: both sides sorted once, tested,
and released, so the extra memory is about one column per side per thread.

**Never PASS on what could not be measured.** Missing values (and ±inf) are dropped before testing and
counted; a column without a finite value on either side is an ERROR before any test runs, and a
statistic that is not a finite number is an ERROR. The missing share is a drift signal of its own
(``missing_share_change``, default 0.1), and so is the share of current values in categories the
reference never had (``unseen_share``, default 0.1): FAIL, or WARN with ``share_check_status="WARN"``.
A p-value test on samples so small that no outcome could reach its threshold (1 vs 1, KS on 3 vs 3 at
0.05; see :func:`.statistics.min_p_value`), or any test below ``min_sample_rows``, is WARN "too few rows
to test". A missing column, a type mismatch between reference and current, or a test that cannot run on
a column is an ERROR check for that column (the rest is still evaluated); empty or unreadable data is a
dataset-level ERROR result.

**Results.** One :class:`ColumnDriftResult` per (column, test), the share checks apart, and a
:class:`DatasetDriftResult`: the dataset drifts when the share of drifted feature columns (among those
evaluated) is at least ``drift_share`` (0.5; ``>=`` as Evidently's ``get_dataset_drift``). When columns
could not be evaluated or tested, the verdict is given only if they could not change it. Concept drift:
``prediction_column`` checks the prediction/score distribution with the same tests;
:func:`run_performance_decay` checks accuracy, precision and recall per time window once labels have
arrived.
"""

from __future__ import annotations

from assay.lazy import lazy_exports

# imported on first use: the config imports without the engine (assay.lazy)
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "assay.engines.drift.config": ("DEFAULT_THRESHOLDS", "TEST_NAMES", "ColumnOverride", "DriftConfig"),
        "assay.engines.drift.decay": ("DecayConfig", "PerformanceDecayResult", "WindowCheck", "run_performance_decay"),
        "assay.engines.drift.engine": ("run_drift",),
        "assay.engines.drift.results": ("ColumnDriftResult", "DatasetDriftResult"),
    },
)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "TEST_NAMES",
    "ColumnDriftResult",
    "ColumnOverride",
    "DatasetDriftResult",
    "DecayConfig",
    "DriftConfig",
    "PerformanceDecayResult",
    "WindowCheck",
    "run_drift",
    "run_performance_decay",
]
