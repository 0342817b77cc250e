"""Unit tests for the synthetic dataset generator."""

from __future__ import annotations

import pandas as pd
import pytest
from fraud.data import FEATURE_COLUMNS, LABEL_COLUMN, PERSONAL_COLUMNS, make_fraud_dataset

pytestmark = pytest.mark.unit


def test_same_seed_gives_identical_frame() -> None:
    pd.testing.assert_frame_equal(make_fraud_dataset(300, seed=7), make_fraud_dataset(300, seed=7))


def test_different_seed_gives_different_frame() -> None:
    a, b = make_fraud_dataset(300, seed=1), make_fraud_dataset(300, seed=2)
    assert not a[list(FEATURE_COLUMNS)].equals(b[list(FEATURE_COLUMNS)])


def test_shape_columns_and_types() -> None:
    df = make_fraud_dataset(250, seed=0)
    assert df.shape == (250, len(PERSONAL_COLUMNS) + len(FEATURE_COLUMNS) + 1)
    assert set(df.columns) == {*PERSONAL_COLUMNS, *FEATURE_COLUMNS, LABEL_COLUMN}
    assert all(pd.api.types.is_numeric_dtype(df[c]) for c in FEATURE_COLUMNS)
    assert set(df[LABEL_COLUMN].unique()) <= {0, 1}
    assert df["customer_id"].is_unique
    assert df["email"].str.endswith("@example.com").all()
    assert df["hour"].between(0, 23).all() and df["merchant_risk"].between(0, 1).all()


@pytest.mark.parametrize("rate", [0.05, 0.3])
def test_fraud_rate_is_respected(rate: float) -> None:
    df = make_fraud_dataset(5000, seed=3, fraud_rate=rate)
    assert df[LABEL_COLUMN].mean() == pytest.approx(rate, abs=0.02)


@pytest.mark.parametrize("kwargs", [{"n_rows": 0}, {"n_rows": 10, "fraud_rate": 1.0}])
def test_invalid_arguments_raise(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        make_fraud_dataset(**kwargs)  # type: ignore[arg-type]


def test_demographics_are_seeded_and_independent_of_the_label():
    from fraud.data import add_demographics, make_evaluation_set

    df = make_evaluation_set(3000, seed=5)
    assert {"age_band", "region"} <= set(df.columns)
    assert set(df["age_band"]) == {"18-34", "35-54", "55+"} and df["region"].nunique() == 4
    pd.testing.assert_frame_equal(df, make_evaluation_set(3000, seed=5))
    rates = df.groupby("age_band")["is_fraud"].mean()
    assert rates.max() - rates.min() < 0.06  # no group carries the label
    base = make_fraud_dataset(50, seed=1)
    assert list(add_demographics(base).columns[: len(base.columns)]) == list(base.columns)
