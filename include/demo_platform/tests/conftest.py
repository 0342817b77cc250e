"""Shared fixtures for the demo platform test suites."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from fraud import TrainingPipeline, make_fraud_dataset


def pytest_configure(config: pytest.Config) -> None:
    """One intra-op thread per worker: faster for tiny models on few cores."""
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def small_df() -> pd.DataFrame:
    """200 transactions with enough fraud for every class to appear."""
    return make_fraud_dataset(200, seed=0, fraud_rate=0.2)


@pytest.fixture()
def df(small_df: pd.DataFrame) -> pd.DataFrame:
    """A private copy of ``small_df`` that a test may mutate."""
    return small_df.copy()


@pytest.fixture(scope="session")
def tiny_pipeline(small_df: pd.DataFrame) -> TrainingPipeline:
    """A pipeline fitted for one epoch on ``small_df``."""
    return TrainingPipeline(hidden=(8,), epochs=1, batch_size=32).fit(small_df)
