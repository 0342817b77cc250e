"""Load a model version, a training callable and the evaluation frame named in a job.

A model is anything that satisfies :class:`ValidatableModel`. What a loader returns is adapted:
an object with ``predict_proba`` plus a fitted ``transformer`` and torch ``model`` (a training
pipeline object) becomes a :class:`PipelineAdapter`; one with only ``predict_proba`` becomes a
:class:`ProbaOnlyAdapter` (every check but robustness can run on it).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from assay.engines.model_validation.config import EvaluationDataSpec, ModelSpec
from assay.errors import ConfigError, TargetError
from assay.sources import DataSource, DataSourceError


class ModelLoadError(TargetError):
    """A model file (or its loader) could not be loaded; the validation run is ERROR."""


class EvaluationDataError(TargetError):
    """The evaluation frame could not be read or cannot be evaluated; the validation run is ERROR."""


@runtime_checkable
class ValidatableModel(Protocol):
    """The least a model must offer: class probabilities, and for robustness its torch view.

    ``torch_module(features(df))`` must give the logits whose softmax is ``predict_proba(df)``;
    ``torch_module`` is ``None`` for a model without one (robustness then reports ERROR).
    """

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        """Probabilities of shape (n, 2): column 1 is the positive class."""
        ...

    def features(self, df: pd.DataFrame) -> np.ndarray:
        """The float32 (n, d) input of ``torch_module`` (standardised features)."""
        ...

    @property
    def torch_module(self) -> Any: ...


class PipelineAdapter:
    """A fitted pipeline with ``transformer.transform`` and a torch ``model`` as a ValidatableModel."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        self.model_id: str | None = getattr(pipeline, "model_id", None)
        self.metadata: dict[str, Any] = dict(getattr(pipeline, "metadata", None) or {})
        columns = getattr(pipeline.transformer, "columns", None)
        self.feature_columns: tuple[str, ...] | None = tuple(columns) if columns is not None else None

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.pipeline.predict_proba(df))

    def features(self, df: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.pipeline.transformer.transform(df), dtype=np.float32)

    @property
    def torch_module(self) -> Any:
        return self.pipeline.model


class ProbaOnlyAdapter:
    """A model with only ``predict_proba``: no features or torch module to attack."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.model_id: str | None = getattr(model, "model_id", None)
        self.metadata: dict[str, Any] = dict(getattr(model, "metadata", None) or {})
        self.feature_columns: tuple[str, ...] | None = None

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict_proba(df))

    def features(self, df: pd.DataFrame) -> np.ndarray:
        raise TypeError(f"{type(self.model).__name__} exposes no feature transform")

    @property
    def torch_module(self) -> None:
        return None


def as_validatable(obj: Any) -> ValidatableModel:
    """Adapt what a loader or ``train_fn`` returned; raises TypeError for an object that cannot predict."""
    if isinstance(obj, ValidatableModel):
        return obj
    if not callable(getattr(obj, "predict_proba", None)):
        raise TypeError(f"{type(obj).__name__} has no predict_proba(df) method, so it cannot be validated")
    transformer = getattr(obj, "transformer", None)
    if transformer is not None and callable(getattr(transformer, "transform", None)) and getattr(obj, "model", None):
        return PipelineAdapter(obj)
    return ProbaOnlyAdapter(obj)


def _extend_sys_path(entries: Iterable[str]) -> None:
    for entry in entries:
        resolved = str(Path(entry).expanduser().resolve())
        if resolved not in sys.path:
            sys.path.insert(0, resolved)


def load_callable(ref: str, sys_path: Iterable[str] = ()) -> Callable[..., Any]:
    """Import ``"package.module:function"`` (after adding ``sys_path`` entries); ConfigError when it is not there."""
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"{ref!r} must name a callable as 'package.module:function'")
    _extend_sys_path(sys_path)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import {module_name!r} for {ref!r} (check sys_path): {exc}") from exc
    func = getattr(module, attr, None)
    if not callable(func):
        raise ConfigError(f"{module_name!r} has no callable {attr!r}")
    return func


def load_model(spec: ModelSpec) -> ValidatableModel:
    """Call the spec's loader on its path and adapt the result; ModelLoadError says why it failed."""
    loader = load_callable(spec.loader, spec.sys_path)
    path = Path(spec.path).expanduser()
    if not path.exists():
        raise ModelLoadError(f"model file {path} does not exist")
    try:
        obj = loader(path)
    except Exception as exc:  # the loader's own error type is unknown to us; keep its message
        raise ModelLoadError(f"{spec.loader} could not load {path}: {type(exc).__name__}: {exc}") from exc
    try:
        return as_validatable(obj)
    except TypeError as exc:
        raise ModelLoadError(f"{spec.loader} returned an unusable model for {path}: {exc}") from exc


def load_evaluation_frame(spec: EvaluationDataSpec) -> pd.DataFrame:
    """Read the evaluation frame from a .csv/.parquet file (:mod:`assay.sources`), build it with the factory,
    or read the golden dataset at exactly its configured version (ConfigError naming both versions when
    the file is another version or changed without a bump)."""
    if spec.golden is not None:
        from assay.engines.data_quality.golden import load_golden

        ref = spec.golden
        if not ref.dir:
            raise ConfigError(
                f"evaluation.golden {ref.name!r} names no 'dir' and no data_quality.golden_dir is configured"
            )
        try:
            frame = load_golden(Path(ref.dir).expanduser(), ref.name, ref.version)
        except ConfigError as exc:
            raise ConfigError(f"evaluation data {ref.label()}: {exc}") from exc
        except TargetError as exc:
            raise EvaluationDataError(f"evaluation data {ref.label()}: {exc}") from exc
    elif spec.factory is not None:
        factory = load_callable(spec.factory, spec.sys_path)
        try:
            frame = factory(**spec.kwargs)
        except Exception as exc:
            raise EvaluationDataError(f"{spec.factory}(**{spec.kwargs}) failed: {type(exc).__name__}: {exc}") from exc
    else:
        source = DataSource.from_path(Path(str(spec.path)).expanduser())  # ConfigError unless .csv / .parquet
        try:
            frame = source.read()
        except DataSourceError as exc:
            raise EvaluationDataError(f"cannot read evaluation file: {exc}") from exc
    if not isinstance(frame, pd.DataFrame):
        raise EvaluationDataError(f"the evaluation data is a {type(frame).__name__}, not a pandas DataFrame")
    return frame
