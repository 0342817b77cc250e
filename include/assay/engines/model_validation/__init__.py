"""Model validation: does a new model version earn its place?

Sections (each a list of CheckRecord/MetricRecord): quality thresholds with latency and memory,
regression against the baseline with significance tests, fairness per protected attribute
(fairlearn's metrics from grouped counts), robustness to FGSM and noise, and statistical validation by
re-training (k-fold, holdout, temporal). The operator calls :func:`run_model_validation` with a
:class:`ModelValidationJob`.
"""

from __future__ import annotations

from assay.lazy import lazy_exports

# imported on first use: the config imports without the engine (assay.lazy)
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "assay.engines.model_validation.config": (
            "ModelConfig",
            "EvaluationDataSpec",
            "FairnessConfig",
            "ModelSpec",
            "ModelValidationConfig",
            "ModelValidationJob",
            "ProtectedAttribute",
            "QualityConfig",
            "RegressionConfig",
            "RobustnessConfig",
            "StatisticalConfig",
            "parse_job",
        ),
        "assay.engines.model_validation.loading": (
            "EvaluationDataError",
            "ModelLoadError",
            "PipelineAdapter",
            "ValidatableModel",
            "as_validatable",
            "load_callable",
            "load_evaluation_frame",
            "load_model",
        ),
        "assay.engines.model_validation.regression": ("Baseline",),
        "assay.engines.model_validation.results": ("ModelValidationResult", "SectionResult"),
        "assay.engines.model_validation.validate": ("run_model_validation", "validate_model"),
    },
)

__all__ = [
    "ModelConfig",
    "Baseline",
    "EvaluationDataError",
    "EvaluationDataSpec",
    "FairnessConfig",
    "ModelLoadError",
    "ModelSpec",
    "ModelValidationConfig",
    "ModelValidationJob",
    "ModelValidationResult",
    "PipelineAdapter",
    "ProtectedAttribute",
    "QualityConfig",
    "RegressionConfig",
    "RobustnessConfig",
    "SectionResult",
    "StatisticalConfig",
    "ValidatableModel",
    "as_validatable",
    "load_callable",
    "load_evaluation_frame",
    "load_model",
    "parse_job",
    "run_model_validation",
    "validate_model",
]
