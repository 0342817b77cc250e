"""Model validation: does a new model version earn its place?

Sections (each a list of CheckRecord/MetricRecord): quality thresholds with latency and memory,
regression against the baseline with significance tests, fairness per protected attribute
(fairlearn's metrics from grouped counts), robustness to FGSM and noise, and statistical validation by
re-training (k-fold, holdout, temporal). The operator calls :func:`run_model_validation` with a
:class:`ModelValidationJob`.
"""

from __future__ import annotations

from assay.engines.model_validation.config import (
    EvaluationDataSpec,
    FairnessConfig,
    ModelSpec,
    ModelValidationConfig,
    ModelValidationJob,
    ProtectedAttribute,
    QualityConfig,
    RegressionConfig,
    RobustnessConfig,
    StatisticalConfig,
    parse_job,
)
from assay.engines.model_validation.loading import (
    EvaluationDataError,
    ModelLoadError,
    PipelineAdapter,
    ValidatableModel,
    as_validatable,
    load_callable,
    load_evaluation_frame,
    load_model,
)
from assay.engines.model_validation.regression import Baseline
from assay.engines.model_validation.results import ModelValidationResult, SectionResult
from assay.engines.model_validation.validate import run_model_validation, validate_model

__all__ = [
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
