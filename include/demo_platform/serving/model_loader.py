"""The model the API serves: loaded from an artifact file, or a tiny seeded one trained at startup.

``fraud`` (and so torch) is imported only when a model is actually served, so a registry-only
API (``--no-train``) starts in about a second.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

from serving.errors import SettingsError
from serving.settings import Settings

if TYPE_CHECKING:
    from fraud import TrainingPipeline

log = logging.getLogger(__name__)


def train_demo_pipeline(seed: int = 0) -> TrainingPipeline:
    """A small seeded pipeline (1000 rows, 4 epochs): well under 2 s on one core."""
    from fraud import TrainingPipeline, make_fraud_dataset

    data = make_fraud_dataset(1000, seed=seed, fraud_rate=0.2)
    return TrainingPipeline(hidden=(16,), epochs=4, batch_size=64, lr=2e-2, seed=seed).fit(data)


def load_pipeline_file(path: str) -> TrainingPipeline:
    """Load a pipeline saved by ``fraud.artifacts.save_pipeline``; any failure is a SettingsError."""
    try:
        loader = importlib.import_module("fraud.artifacts").load_pipeline
    except (ImportError, AttributeError):
        raise SettingsError(
            "model_path is set but this fraud package has no fraud.artifacts.load_pipeline; "
            "unset model_path to train the demo model at startup"
        ) from None
    try:
        return loader(path)
    except (OSError, RuntimeError, ValueError) as exc:  # fraud.artifacts.ArtifactError is a RuntimeError
        raise SettingsError(f"cannot load the model at model_path {path!r}: {exc}") from None


def load_model(settings: Settings) -> TrainingPipeline | None:
    """The pipeline to serve, or None when no model is configured (predict then answers 503)."""
    if not settings.model_path and not settings.train_model:
        return None
    import torch

    torch.set_num_threads(1)  # tiny model, many concurrent requests: one intra-op thread is fastest
    if settings.model_path:
        pipeline = load_pipeline_file(settings.model_path)
        log.info("serving model %s loaded from %s", pipeline.model_id, settings.model_path)
        return pipeline
    pipeline = train_demo_pipeline()
    log.info("serving demo model %s trained at startup", pipeline.model_id)
    return pipeline
