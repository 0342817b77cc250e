"""Unit tests for model artifacts: save/load round trip, clear errors, the train CLI."""

from __future__ import annotations

import json
import runpy
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from fraud.artifacts import (
    FORMAT,
    FORMAT_VERSION,
    ArtifactError,
    load_pipeline,
    main,
    save_pipeline,
    train_pipeline,
)
from fraud.pipeline import TrainingPipeline

pytestmark = pytest.mark.unit


@pytest.fixture()
def saved(tmp_path: Path, tiny_pipeline: TrainingPipeline) -> Path:
    return save_pipeline(tiny_pipeline, tmp_path / "models" / "v1.pt", {"note": "first"})


def test_round_trip_predicts_identically(saved: Path, small_df: pd.DataFrame, tiny_pipeline: TrainingPipeline) -> None:
    loaded = load_pipeline(saved)
    assert isinstance(loaded, TrainingPipeline)
    assert loaded.model_id == tiny_pipeline.model_id
    assert loaded.metadata == {"note": "first"}
    assert loaded.hidden == tiny_pipeline.hidden and loaded.feature_columns == tiny_pipeline.feature_columns
    assert not loaded.model.training  # type: ignore[union-attr]
    np.testing.assert_array_equal(loaded.predict_proba(small_df), tiny_pipeline.predict_proba(small_df))
    np.testing.assert_array_equal(loaded.transformer.mean_, tiny_pipeline.transformer.mean_)  # type: ignore[union-attr]


def test_artifact_holds_plain_data_only(saved: Path) -> None:
    payload = torch.load(saved, weights_only=True)  # would raise on any pickled object
    assert payload["format"] == FORMAT and payload["format_version"] == FORMAT_VERSION
    assert set(payload["transformer"]) == {"columns", "mean", "std"}


def test_unfitted_pipeline_cannot_be_saved(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="fit"):
        save_pipeline(TrainingPipeline(), tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="no model artifact at"):
        load_pipeline(tmp_path / "absent.pt")


@pytest.mark.parametrize("content", [b"", b"not a torch file", b"PK\x03\x04truncated zip"])
def test_corrupt_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "corrupt.pt"
    path.write_bytes(content)
    with pytest.raises(ArtifactError, match="not a readable model artifact"):
        load_pipeline(path)


def test_truncated_artifact(saved: Path) -> None:
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match="not a readable model artifact"):
        load_pipeline(saved)


def test_pickled_code_is_refused(tmp_path: Path, tiny_pipeline: TrainingPipeline) -> None:
    path = tmp_path / "pickled.pt"
    torch.save(tiny_pipeline, path)  # a whole object: needs unpickling of arbitrary classes
    with pytest.raises(ArtifactError, match="not a readable model artifact"):
        load_pipeline(path)


def _rewrite(saved: Path, **changes: object) -> Path:
    payload = torch.load(saved, weights_only=True)
    for key, value in changes.items():
        if value is None:
            del payload[key]
        else:
            payload[key] = value
    torch.save(payload, saved)
    return saved


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": "something-else"}, "is not a fraud-pipeline artifact"),
        ({"model_id": None, "transformer": None}, "lacks transformer, model_id"),
        ({"format_version": 99}, "format version 99"),
        ({"model_id": "0" * 12}, "weights hash to model id"),
        ({"architecture": {"input_dim": 6, "hidden": [4]}}, "do not fit the recorded architecture"),
    ],
)
def test_wrong_contents(saved: Path, changes: dict, message: str) -> None:
    with pytest.raises(ArtifactError, match=message):
        load_pipeline(_rewrite(saved, **changes))


def test_not_a_dict(tmp_path: Path) -> None:
    path = tmp_path / "list.pt"
    torch.save([1, 2, 3], path)
    with pytest.raises(ArtifactError, match="not a fraud-pipeline artifact"):
        load_pipeline(path)


def test_train_pipeline_is_a_train_fn(small_df: pd.DataFrame) -> None:
    pipeline = train_pipeline(small_df, seed=3, epochs=1, hidden=(4,))
    assert pipeline.model_id and pipeline.seed == 3 and pipeline.hidden == (4,)


def test_cli_trains_and_saves_a_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "registry" / "v7.pt"
    assert main(["train", "--out", str(out), "--seed", "7", "--rows", "300", "--epochs", "1"]) == 0
    info = json.loads(capsys.readouterr().out)
    loaded = load_pipeline(out)
    assert info["path"] == str(out) and info["model_id"] == loaded.model_id
    assert info["data"] == {"rows": 300, "seed": 7, "fraud_rate": 0.05, "train_rows": 240}
    assert info["holdout_rows"] == 60
    assert set(info["holdout_metrics"]) == {"accuracy", "precision", "recall", "f1"}
    assert loaded.metadata["holdout_metrics"] == info["holdout_metrics"]
    assert zipfile.is_zipfile(out)


def test_cli_rejects_too_few_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--out", str(tmp_path / "v.pt"), "--seed", "1", "--rows", "1"]) == 2
    assert "rows must be at least 2" in capsys.readouterr().err
    assert not (tmp_path / "v.pt").exists()


def test_cli_requires_out_and_seed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["train", "--seed", "1"])
    assert exc.value.code == 2
    assert "--out" in capsys.readouterr().err


def test_module_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "v.pt"
    monkeypatch.setattr(
        sys, "argv", ["fraud.artifacts", "train", "--out", str(out), "--seed", "2", "--rows", "50", "--epochs", "1"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # runpy: module already imported
        with pytest.raises(SystemExit) as exc:
            runpy.run_module("fraud.artifacts", run_name="__main__")
    assert exc.value.code == 0
    assert json.loads(capsys.readouterr().out)["path"] == str(out) and out.is_file()
