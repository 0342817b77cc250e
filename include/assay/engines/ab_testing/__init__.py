"""A/B analysis of a champion and a challenger model from recorded experiment outcomes.

Input: rows of ``metric, variant, exposures, conversions`` (one per user, day or variant), as a DataFrame
or as mappings (:mod:`.outcomes`). For every metric, one module per idea:

* :mod:`.frequentist`: pooled two-proportion z-test (challenger - champion), Fisher's exact test when an
  expected count is below 5, the confidence interval of the difference (statsmodels, Newcomb by default),
  Holm or Benjamini-Hochberg across primary metrics (statsmodels ``multipletests``);
* :mod:`.bayesian`: Beta-Binomial, exact P(challenger better), expected lift, credible interval; a winner
  needs P(better) > ``prob_better_threshold`` (0.95);
* :mod:`.power`: achieved power for the minimum detectable effect at the observed exposures and the sample
  size per variant it needs (Cohen's h, statsmodels ``NormalIndPower``);
* :mod:`.sequential` (optional): the two-sided Lan-DeMets boundary for the current look;
* :mod:`.analysis`: the checks, metrics and decision of the experiment (guardrails one-sided: a significant
  degradation is FAIL);
* :mod:`.config`: the config model (``parse_ab_config``).

The operator's one call is :func:`analyze_records` (rows in, :class:`ABTestResult` out).
"""

from __future__ import annotations

from assay.lazy import lazy_exports

# imported on first use: the config imports without the engine (assay.lazy)
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "assay.engines.ab_testing.analysis": (
            "ABTestResult",
            "Decision",
            "MetricAnalysis",
            "analyze_experiment",
            "analyze_records",
        ),
        "assay.engines.ab_testing.bayesian": ("BayesResult", "beta_binomial", "prob_b_greater"),
        "assay.engines.ab_testing.config": ("ABMetricConfig", "ABTestConfig", "SequentialConfig", "parse_ab_config"),
        "assay.engines.ab_testing.frequentist": (
            "MIN_EXPECTED_COUNT",
            "Alternative",
            "adjust_pvalues",
            "diff_confint",
            "fisher_exact_test",
            "min_expected_count",
            "two_proportion_ztest",
        ),
        "assay.engines.ab_testing.outcomes": (
            "MetricCounts",
            "VariantCounts",
            "outcomes_from_frame",
            "outcomes_from_records",
        ),
        "assay.engines.ab_testing.power": (
            "SampleSizePlan",
            "cohens_h",
            "plan_sample_size",
            "power_two_proportions",
            "sample_size_per_variant",
        ),
        "assay.engines.ab_testing.sequential": (
            "SequentialLook",
            "alpha_spent",
            "current_look",
            "group_sequential_bounds",
        ),
    },
)

__all__ = [
    "MIN_EXPECTED_COUNT",
    "ABMetricConfig",
    "ABTestConfig",
    "ABTestResult",
    "Alternative",
    "BayesResult",
    "Decision",
    "MetricAnalysis",
    "MetricCounts",
    "SampleSizePlan",
    "SequentialConfig",
    "SequentialLook",
    "VariantCounts",
    "adjust_pvalues",
    "alpha_spent",
    "analyze_experiment",
    "analyze_records",
    "beta_binomial",
    "cohens_h",
    "current_look",
    "diff_confint",
    "fisher_exact_test",
    "group_sequential_bounds",
    "min_expected_count",
    "outcomes_from_frame",
    "outcomes_from_records",
    "parse_ab_config",
    "plan_sample_size",
    "power_two_proportions",
    "prob_b_greater",
    "sample_size_per_variant",
    "two_proportion_ztest",
]
