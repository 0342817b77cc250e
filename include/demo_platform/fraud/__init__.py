"""Example fraud-detection platform used as a test target for Assay."""

from __future__ import annotations

from fraud.data import FEATURE_COLUMNS, LABEL_COLUMN, make_fraud_dataset
from fraud.features import FeatureTransformer, NotFittedError
from fraud.model import FraudClassifier
from fraud.pipeline import TrainingPipeline

__all__ = [
    "FEATURE_COLUMNS",
    "LABEL_COLUMN",
    "FeatureTransformer",
    "FraudClassifier",
    "NotFittedError",
    "TrainingPipeline",
    "make_fraud_dataset",
]
