"""Unit tests for the data exports Assay reads."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fraud.exports import ab_outcomes, export_frames, main

pytestmark = pytest.mark.unit


class _ConstantModel:
    def predict_proba(self, df):
        import numpy as np

        return np.tile([0.7, 0.3], (len(df), 1))


def test_current_drifts_from_reference():
    ref, cur = export_frames(2000, _ConstantModel())
    assert cur["amount"].median() > ref["amount"].median() * 1.2
    assert cur["ts"].min() > ref["ts"].max()
    assert cur["is_fraud"].notna().all() and ref["is_fraud"].notna().all()
    assert (ref["score"] == 0.3).all()


def test_ab_outcomes_shape():
    ab = ab_outcomes()
    assert set(ab["variant"]) == {"champion", "challenger"} and set(ab["metric"]) == {
        "approval_conversion",
        "chargeback",
    }
    assert (ab["conversions"] <= ab["exposures"]).all()


def test_cli_writes_the_three_files(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--rows", "500"]) == 0
    assert json.loads(capsys.readouterr().out)["scored"] is False
    assert len(pd.read_parquet(tmp_path / "current.parquet")) == 500
    assert (tmp_path / "ab_outcomes.csv").exists() and (tmp_path / "reference.parquet").exists()


def test_cli_scores_with_a_saved_model(tmp_path, tiny_pipeline):
    from fraud.artifacts import save_pipeline

    model = save_pipeline(tiny_pipeline, tmp_path / "m.pt")
    main(["--out", str(tmp_path / "o"), "--rows", "300", "--model", str(model)])
    assert pd.read_parquet(tmp_path / "o" / "current.parquet")["score"].between(0, 1).all()
