"""Data for the data-quality engine tests: the committed fraud golden file and the demo generator."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
FRAUD_GOLDEN_CSV = (
    REPO / "include" / "demo_platform" / "assay" / "data_quality" / "golden" / "fraud_transactions_200.csv"
)


def fraud_frame() -> pd.DataFrame:
    """200 rows of the demo fraud dataset (the committed golden file), a fresh copy per call."""
    return pd.read_csv(FRAUD_GOLDEN_CSV)


def demo_fraud_dataset(n_rows: int, seed: int) -> pd.DataFrame:
    """The demo platform's own generator (its package root is include/demo_platform)."""
    root = str(REPO / "include" / "demo_platform")
    if root not in sys.path:
        sys.path.insert(0, root)
    from fraud.data import make_fraud_dataset

    return make_fraud_dataset(n_rows, seed=seed)


def outcome(result, expectation_type: str, column: str):
    """The one outcome of ``expectation_type`` on ``column`` (fails loudly if absent or repeated)."""
    found = [o for o in result.outcomes if o.expectation_type == expectation_type and o.column_label == column]
    assert len(found) == 1, f"{len(found)} outcomes of {expectation_type}({column})"
    return found[0]
