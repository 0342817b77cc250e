"""Config of a model validation: what to load, which thresholds apply, which sections run.

Plain pydantic models with unknown keys forbidden (like ``assay.config``), so the operator can nest
:class:`ModelValidationJob` in ``assay.yaml`` and a typo fails loudly; :class:`ModelConfig` is a configured
model (``models`` in ``assay.yaml``). :func:`parse_job` turns a
mapping into a job and reports a bad key as :class:`~assay.errors.ConfigError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assay.engines.data_quality.config import GoldenRef
from assay.errors import ConfigError

_CALLABLE_REF = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")
#: a model version: the name of its file in ``versions_dir`` without the suffix (the UI form checks it too)
VERSION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
METRIC_NAMES = ("accuracy", "precision", "recall", "f1")
Metric = Literal["accuracy", "precision", "recall", "f1"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_ref(ref: str) -> str:
    if not _CALLABLE_REF.fullmatch(ref):
        raise ValueError(f"{ref!r} must name a callable as 'package.module:function'")
    return ref


class ModelSpec(_Strict):
    """One model version: ``loader`` ("module:function") is called with ``path`` and returns the model."""

    loader: str
    path: str
    sys_path: list[str] = Field(default_factory=list)  # entries that make the loader importable
    version: str | None = None  # a label for reports; the model's own model_id is used when absent

    @field_validator("loader")
    @classmethod
    def _loader_ref(cls, v: str) -> str:
        return _check_ref(v)


class EvaluationDataSpec(_Strict):
    """The evaluation frame: a ``.csv``/``.parquet`` file, a ``factory`` callable with ``kwargs``, or a
    ``golden`` dataset by version (``{name, version, dir?}``).

    A golden dataset is what the quality thresholds and the regression check compare versions on: it
    is read only when the file is exactly the configured version and unchanged since it was written,
    so a baseline and a candidate validated weeks apart scored the same rows. Another version, or data
    changed without a version bump, makes the validation ERROR naming both versions; it never runs on
    other data.
    """

    path: str | None = None
    factory: str | None = None
    golden: GoldenRef | None = None
    kwargs: dict[str, Any] = Field(default_factory=dict)
    sys_path: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_source(self) -> EvaluationDataSpec:
        if sum(x is not None for x in (self.path, self.factory, self.golden)) != 1:
            raise ValueError(
                "give exactly one of 'path' (a .csv or .parquet file), 'factory' ('module:function') or "
                "'golden' ({name, version, dir})"
            )
        if self.factory is not None:
            _check_ref(self.factory)
        return self

    @property
    def label(self) -> str:
        """How results name this data (the ``dataset`` of a validation)."""
        if self.golden is not None:
            return self.golden.label()
        return self.path or f"{self.factory}({self.kwargs})"


class QualityConfig(_Strict):
    """Absolute quality thresholds on the evaluation frame (STRATEGY.md "Model quality")."""

    enabled: bool = True
    accuracy_min: float | None = Field(0.85, ge=0, le=1)
    precision_min: float | None = Field(0.80, ge=0, le=1)
    recall_min: float | None = Field(0.75, ge=0, le=1)
    f1_min: float | None = Field(0.75, ge=0, le=1)
    latency_p99_ms_max: float | None = Field(100.0, gt=0)
    latency_calls: int = Field(200, ge=10, le=100_000)  # single-row predict_proba calls timed
    memory_mb_max: float | None = Field(1000.0, gt=0)


class RegressionConfig(_Strict):
    """Candidate vs baseline: a regression is worse by more than the allowance AND significant."""

    enabled: bool = True
    metrics: list[Metric] = Field(default_factory=lambda: list(METRIC_NAMES))
    max_relative_drop: float = Field(0.05, ge=0, lt=1)
    alpha: float = Field(0.05, gt=0, lt=1)
    bootstrap_resamples: int = Field(2000, ge=100, le=100_000)
    seed: int = 0
    latency_max_relative_increase: float = Field(0.05, ge=0)
    latency_status: Literal["WARN", "FAIL"] = "WARN"


class ProtectedAttribute(_Strict):
    """A column holding a protected attribute; numeric columns can be banded with ``bins``/``labels``
    (a value in no band forms the group ``<out of bins>``, a missing one ``<missing>``)."""

    column: str
    bins: list[float] | None = None
    labels: list[str] | None = None

    @model_validator(mode="after")
    def _bands(self) -> ProtectedAttribute:
        if self.labels is not None and (self.bins is None or len(self.labels) != len(self.bins) - 1):
            raise ValueError("'labels' needs 'bins' and exactly one label per band (len(bins) - 1)")
        if self.bins is not None and (len(self.bins) < 2 or sorted(self.bins) != self.bins):
            raise ValueError("'bins' must be at least two increasing edges")
        return self


class FairnessConfig(_Strict):
    """Group fairness per protected attribute: fairlearn's metrics, computed from grouped counts."""

    enabled: bool = True
    attributes: list[ProtectedAttribute] = Field(default_factory=list)
    disparate_impact_min: float | None = Field(0.8, ge=0, le=1)  # min/max selection rate
    equal_opportunity_min: float | None = Field(0.9, ge=0, le=1)  # min/max true positive rate
    demographic_parity_difference_max: float | None = Field(0.1, ge=0, le=1)
    equalized_odds_difference_max: float | None = Field(0.1, ge=0, le=1)
    calibration_tolerance: float | None = Field(0.05, ge=0, le=1)  # |mean score - observed rate| per group
    min_group_size: int = Field(30, ge=1)  # smaller groups are reported with a WARN


class RobustnessConfig(_Strict):
    """Accuracy under FGSM attack and Gaussian noise on the standardised features."""

    enabled: bool = True
    fgsm_epsilon: float = Field(0.1, gt=0)
    noise_sigma: float = Field(0.1, gt=0)
    adversarial_accuracy_min: float = Field(0.7, ge=0, le=1)
    noise_accuracy_min: float = Field(0.7, ge=0, le=1)
    seed: int = 0


class StatisticalConfig(_Strict):
    """Re-train with ``train_fn`` under k-fold, holdout and temporal splits; report mean and spread."""

    enabled: bool = True
    schemes: list[Literal["kfold", "holdout", "temporal"]] = Field(default_factory=lambda: ["kfold", "holdout"])
    folds: int = Field(5, ge=2, le=50)
    stratified: bool = True
    holdout_fraction: float = Field(0.2, gt=0, lt=1)
    holdout_repeats: int = Field(3, ge=1, le=100)  # independent random holdouts (spread needs > 1)
    temporal_splits: int = Field(3, ge=2, le=50)
    time_column: str | None = None
    metrics: list[Metric] = Field(default_factory=lambda: list(METRIC_NAMES))
    max_std: float | None = Field(0.05, ge=0)  # a larger spread across folds is a WARN
    seed: int = 0

    @model_validator(mode="after")
    def _temporal_needs_time(self) -> StatisticalConfig:
        if "temporal" in self.schemes and not self.time_column:
            raise ValueError("the 'temporal' scheme needs 'time_column'")
        return self


class ModelValidationConfig(_Strict):
    """Which checks run and their thresholds; ``label_column`` is the evaluation data's true label (0/1)."""

    label_column: str = Field(min_length=1)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    regression: RegressionConfig = Field(default_factory=RegressionConfig)
    fairness: FairnessConfig = Field(default_factory=FairnessConfig)
    robustness: RobustnessConfig = Field(default_factory=RobustnessConfig)
    statistical: StatisticalConfig = Field(default_factory=StatisticalConfig)


class ModelValidationJob(_Strict):
    """Everything one validation run of a model version needs, as the operator reads it from config."""

    name: str = "model_validation"
    candidate: ModelSpec
    baseline: ModelSpec | None = None
    evaluation: EvaluationDataSpec
    train_fn: str | None = None  # "module:function" taking a frame, returning a model (statistical section)
    train_fn_sys_path: list[str] = Field(default_factory=list)
    validation: ModelValidationConfig

    @field_validator("train_fn")
    @classmethod
    def _train_ref(cls, v: str | None) -> str | None:
        return None if v is None else _check_ref(v)


def parse_job(data: Mapping[str, Any]) -> ModelValidationJob:
    """Validate a job mapping; a bad key or value raises ConfigError naming its dotted path."""
    try:
        return ModelValidationJob.model_validate(dict(data))
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in err['loc']) or '<job>'}: {err['msg']}" for err in exc.errors()]
        raise ConfigError("invalid model validation job:\n  " + "\n  ".join(lines)) from None


class ModelConfig(_Strict):
    """A model whose new versions must earn their place (assay_model_validation).

    A version ``V`` is the file ``<versions_dir>/<V>.pt`` loaded by ``loader``; ``job`` holds the rest of
    a :class:`ModelValidationJob` (evaluation data, thresholds, sections), validated when the job runs.
    """

    asset: str
    versions_dir: str
    loader: str  # "module:function" called with a version's path, returning the model
    sys_path: list[str] = Field(default_factory=list)
    file_suffix: str = ".pt"
    job: dict[str, Any] = Field(default_factory=dict)
