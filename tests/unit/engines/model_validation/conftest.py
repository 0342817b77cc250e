"""Shared fixtures: tiny demo models trained once per session, artifacts on disk, evaluation frames."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch
from support.model_validation import evaluation_frame, train

from assay.engines.model_validation import PipelineAdapter


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Tiny models train several times faster on one intra-op thread on a shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def good_pipeline():
    return train(rows=1500, seed=1, fraud_rate=0.2, epochs=3)


@pytest.fixture(scope="session")
def weak_pipeline():
    """Trained on 5% fraud for one epoch: on 20%-fraud data it misses most fraud."""
    return train(rows=400, seed=2, fraud_rate=0.05, epochs=1, hidden=(4,))


@pytest.fixture(scope="session")
def good_model(good_pipeline) -> PipelineAdapter:
    return PipelineAdapter(good_pipeline)


@pytest.fixture(scope="session")
def weak_model(weak_pipeline) -> PipelineAdapter:
    return PipelineAdapter(weak_pipeline)


@pytest.fixture(scope="session")
def _eval_df() -> pd.DataFrame:
    return evaluation_frame()


@pytest.fixture()
def eval_df(_eval_df: pd.DataFrame) -> pd.DataFrame:
    return _eval_df.copy()


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory, good_pipeline, weak_pipeline) -> dict[str, Path]:
    from fraud.artifacts import save_pipeline

    root = tmp_path_factory.mktemp("models")
    return {
        "good": save_pipeline(good_pipeline, root / "good.pt", {"holdout_metrics": {"accuracy": 0.9}}),
        "weak": save_pipeline(weak_pipeline, root / "weak.pt"),
    }
