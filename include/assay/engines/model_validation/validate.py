"""Run every section of a model validation and assemble one result.

:func:`validate_model` works on loaded objects (tests, notebooks); :func:`run_model_validation` is
what the operator calls with a :class:`ModelValidationJob`: it loads the candidate, the baseline and
the evaluation frame, and turns a model that will not load or data that cannot be evaluated into an
ERROR result whose message says why, instead of raising.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from assay.engines.model_validation.config import ModelValidationConfig, ModelValidationJob
from assay.engines.model_validation.fairness import check_fairness
from assay.engines.model_validation.loading import (
    ValidatableModel,
    load_callable,
    load_evaluation_frame,
    load_model,
)
from assay.engines.model_validation.quality import check_quality
from assay.engines.model_validation.regression import Baseline, check_regression
from assay.engines.model_validation.results import ModelValidationResult, SectionResult
from assay.engines.model_validation.robustness import check_robustness
from assay.engines.model_validation.scoring import evaluation_problems, require_evaluable, score
from assay.engines.model_validation.statistical import TrainFn, check_statistical
from assay.errors import AssayError


def _error_result(
    model: str, started: datetime, section: str, check: str, message: str, **kw: Any
) -> ModelValidationResult:
    sec = SectionResult(section)
    sec.error(check, message)
    return ModelValidationResult(
        model=model, started_at=started, finished_at=datetime.now(UTC), sections=[sec], reason=message, **kw
    )


def validate_model(
    candidate: ValidatableModel,
    evaluation: pd.DataFrame,
    config: ModelValidationConfig,
    *,
    baseline: Baseline | None = None,
    train_fn: TrainFn | None = None,
    training_frame: pd.DataFrame | None = None,
    model: str = "model",
    model_version: str | None = None,
    dataset: str | None = None,
) -> ModelValidationResult:
    """Validate ``candidate`` (a version of ``model``) on ``evaluation``; never raises for a failure of the
    model or the data.

    ``training_frame`` (default: ``evaluation``) is what statistical validation splits and re-trains on.
    """
    cfg = config
    started = datetime.now(UTC)
    version = model_version or getattr(candidate, "model_id", None)
    meta = {"model_version": version, "baseline_version": baseline.version if baseline else None, "dataset": dataset}
    label = cfg.label_column
    try:
        require_evaluable(evaluation, label, getattr(candidate, "feature_columns", None))
        evaluation = evaluation.reset_index(drop=True)
        scored = score(candidate, evaluation, label)
    except AssayError as exc:
        return _error_result(model, started, "evaluation", "data", f"cannot evaluate the model: {exc}", **meta)
    sections: list[SectionResult] = []
    p99 = None
    if cfg.quality.enabled:
        quality = check_quality(candidate, evaluation, scored, cfg.quality)
        p99 = quality.details["latency_ms"]["p99"]
        sections.append(quality)
    if cfg.regression.enabled:
        sections.append(
            _guarded(
                "regression",
                lambda: check_regression(
                    candidate, evaluation, label, scored, baseline, cfg.regression, p99, cfg.quality.latency_calls
                ),
            )
        )
    if cfg.fairness.enabled:
        sections.append(check_fairness(evaluation, scored, cfg.fairness))
    if cfg.robustness.enabled:
        sections.append(check_robustness(candidate, evaluation, scored, cfg.robustness))
    if cfg.statistical.enabled:
        frame = evaluation if training_frame is None else training_frame
        problems = [] if training_frame is None else _training_problems(frame, label)
        if problems:
            sec = SectionResult("statistical")
            sec.error("data", "; ".join(problems))
            sections.append(sec)
        else:
            sections.append(
                check_statistical(frame.reset_index(drop=True), label, train_fn, cfg.statistical, cfg.quality)
            )
    return ModelValidationResult(
        model=model, started_at=started, finished_at=datetime.now(UTC), sections=sections, **meta
    )


def _training_problems(frame: pd.DataFrame, label: str) -> list[str]:
    return [f"training frame: {p}" for p in evaluation_problems(frame, label)]


def _guarded(name: str, run: Callable[[], SectionResult]) -> SectionResult:
    """Run a section; a model/data error inside it becomes that section's ERROR check."""
    try:
        return run()
    except AssayError as exc:
        sec = SectionResult(name)
        sec.error("run", str(exc))
        return sec


def run_model_validation(
    job: ModelValidationJob, *, baseline_metrics: Mapping[str, float] | None = None, baseline_version: str | None = None
) -> ModelValidationResult:
    """Load what ``job`` names and validate it. ``baseline_metrics`` are the accepted baseline's recorded
    metrics (from the metrics DB); with neither those nor ``job.baseline`` the regression section is SKIP."""
    started = datetime.now(UTC)
    version = job.candidate.version
    try:
        candidate = load_model(job.candidate)
    except AssayError as exc:
        return _error_result(job.name, started, "load", "candidate_model", str(exc), model_version=version)
    try:
        evaluation = load_evaluation_frame(job.evaluation)
        train_fn = load_callable(job.train_fn, job.train_fn_sys_path) if job.train_fn else None
    except AssayError as exc:
        return _error_result(job.name, started, "load", "inputs", str(exc), model_version=version)
    baseline = None
    if job.baseline is not None or baseline_metrics:
        baseline = Baseline(
            version=baseline_version or (job.baseline.version if job.baseline else None),
            metrics=dict(baseline_metrics or {}),
        )
        if job.baseline is not None:
            try:
                baseline.model = load_model(job.baseline)
                baseline.version = baseline.version or getattr(baseline.model, "model_id", None)
            except AssayError as exc:
                baseline.load_error = str(exc)
    dataset = job.evaluation.label
    return validate_model(
        candidate,
        evaluation,
        job.validation,
        baseline=baseline,
        train_fn=train_fn,
        model=job.name,
        model_version=version,
        dataset=dataset,
    )
