"""Model artifacts: save a trained pipeline to one file, load it back, and a CLI that trains versions.

An artifact is a ``torch.save`` of plain data only (tensors, numbers, strings, lists, dicts), so it
loads with ``torch.load(weights_only=True)`` and never runs pickled code. It holds the model's
``state_dict``, the architecture and training arguments, the transformer's mean/std/columns, the
``model_id`` and free-form metadata (for example holdout metrics). Loading re-derives ``model_id``
from the weights and refuses a file whose weights do not match it.

Register a model version from the shell::

    python -m fraud.artifacts train --out models/v1.pt --seed 1 --rows 5000
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from fraud.data import make_fraud_dataset
from fraud.features import FeatureTransformer
from fraud.model import FraudClassifier
from fraud.pipeline import TrainingPipeline

FORMAT = "fraud-pipeline"
FORMAT_VERSION = 1
_REQUIRED = ("format", "format_version", "state_dict", "architecture", "training", "transformer", "model_id")


class ArtifactError(RuntimeError):
    """A model artifact is missing, unreadable, of another format or does not match its model id."""


def save_pipeline(pipeline: TrainingPipeline, path: str | Path, metadata: Mapping[str, Any] | None = None) -> Path:
    """Write a fitted ``pipeline`` to ``path`` (parent folders are created); returns the path."""
    if pipeline.model is None or pipeline.transformer is None or pipeline.model_id is None:
        raise ArtifactError("only a fitted TrainingPipeline can be saved; call fit() first")
    transformer = pipeline.transformer
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "state_dict": pipeline.model.state_dict(),
        "architecture": {"input_dim": pipeline.model.input_dim, "hidden": list(pipeline.hidden)},
        "training": {
            "epochs": pipeline.epochs,
            "batch_size": pipeline.batch_size,
            "lr": pipeline.lr,
            "seed": pipeline.seed,
        },
        "transformer": {
            "columns": list(transformer.columns),
            "mean": torch.from_numpy(transformer.mean_),
            "std": torch.from_numpy(transformer.std_),
        },
        "model_id": pipeline.model_id,
        "metadata": dict(metadata or {}),
    }
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, out)
    return out


def load_pipeline(path: str | Path) -> TrainingPipeline:
    """Read an artifact written by :func:`save_pipeline`; raises :class:`ArtifactError` when it cannot."""
    src = Path(path)
    if not src.is_file():
        raise ArtifactError(f"no model artifact at {src}")
    try:
        payload = torch.load(src, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt zip, truncated file, foreign pickle: all unreadable
        raise ArtifactError(f"{src} is not a readable model artifact (corrupt or not a torch file): {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ArtifactError(f"{src} is not a {FORMAT} artifact")
    missing = [key for key in _REQUIRED if key not in payload]
    if missing:
        raise ArtifactError(f"{src} lacks {', '.join(missing)}")
    if payload["format_version"] != FORMAT_VERSION:
        raise ArtifactError(
            f"{src} has format version {payload['format_version']}; this code reads version {FORMAT_VERSION}"
        )
    return _rebuild(payload, src)


def _rebuild(payload: dict[str, Any], src: Path) -> TrainingPipeline:
    arch, training, tf = payload["architecture"], payload["training"], payload["transformer"]
    pipeline = TrainingPipeline(hidden=arch["hidden"], feature_columns=tf["columns"], **training)
    model = FraudClassifier(arch["input_dim"], arch["hidden"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise ArtifactError(f"{src}: weights do not fit the recorded architecture: {exc}") from exc
    model.eval()
    transformer = FeatureTransformer(tf["columns"])
    transformer.mean_ = tf["mean"].numpy()
    transformer.std_ = tf["std"].numpy()
    actual = pipeline._fingerprint(model)
    if actual != payload["model_id"]:
        raise ArtifactError(f"{src}: weights hash to model id {actual}, the file claims {payload['model_id']}")
    pipeline.model, pipeline.transformer, pipeline.model_id = model, transformer, actual
    pipeline.metadata = dict(payload.get("metadata") or {})  # type: ignore[attr-defined]
    return pipeline


def train_pipeline(
    df: pd.DataFrame, *, seed: int = 0, epochs: int = 10, hidden: Sequence[int] = (32, 16)
) -> TrainingPipeline:
    """Fit a pipeline on ``df``: the ``train_fn`` Assay's statistical validation calls per fold."""
    return TrainingPipeline(hidden=hidden, epochs=epochs, seed=seed).fit(df)


def train_version(
    out: str | Path, *, seed: int, rows: int = 5000, epochs: int = 10, fraud_rate: float = 0.05
) -> dict[str, Any]:
    """Train on seeded data (80% train, 20% holdout), save with holdout metrics; returns the metadata."""
    df = make_fraud_dataset(rows, seed=seed, fraud_rate=fraud_rate)
    cut = int(len(df) * 0.8)
    if cut < 1 or cut == len(df):
        raise ValueError(f"rows must be at least 2 to split train and holdout, got {rows}")
    train, holdout = df.iloc[:cut], df.iloc[cut:]
    pipeline = train_pipeline(train, seed=seed, epochs=epochs)
    metadata = {
        "model_id": pipeline.model_id,
        "trained_at": datetime.now(UTC).isoformat(),
        "data": {"rows": rows, "seed": seed, "fraud_rate": fraud_rate, "train_rows": len(train)},
        "holdout_metrics": pipeline.evaluate(holdout),
        "holdout_rows": len(holdout),
    }
    path = save_pipeline(pipeline, out, metadata)
    return {**metadata, "path": str(path)}


def main(argv: Sequence[str] | None = None) -> int:
    """``train --out PATH --seed N [--rows N] [--epochs N]``: prints the saved version's metadata as JSON."""
    parser = argparse.ArgumentParser(prog="python -m fraud.artifacts", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a model version and save it as an artifact")
    train.add_argument("--out", required=True, help="artifact file to write")
    train.add_argument("--seed", type=int, required=True, help="seed of the data and the training")
    train.add_argument("--rows", type=int, default=5000, help="rows of synthetic data (default 5000)")
    train.add_argument("--epochs", type=int, default=10, help="training epochs (default 10)")
    train.add_argument("--fraud-rate", type=float, default=0.05, help="share of fraud rows (default 0.05)")
    args = parser.parse_args(argv)
    try:
        info = train_version(args.out, seed=args.seed, rows=args.rows, epochs=args.epochs, fraud_rate=args.fraud_rate)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(info, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
