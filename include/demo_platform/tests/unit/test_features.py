"""Unit tests for FeatureTransformer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fraud.data import FEATURE_COLUMNS
from fraud.features import FeatureTransformer, NotFittedError

pytestmark = pytest.mark.unit


def test_fit_sets_mean_and_std(df: pd.DataFrame) -> None:
    t = FeatureTransformer().fit(df)
    values = df[list(FEATURE_COLUMNS)].to_numpy(dtype=float)
    np.testing.assert_allclose(t.mean_, values.mean(axis=0))
    np.testing.assert_allclose(t.std_, values.std(axis=0))


def test_transform_normalises(df: pd.DataFrame) -> None:
    out = FeatureTransformer().fit_transform(df)
    assert out.dtype == np.float32 and out.shape == (len(df), len(FEATURE_COLUMNS))
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 1.0, atol=1e-4)


def test_transform_before_fit_raises(df: pd.DataFrame) -> None:
    with pytest.raises(NotFittedError, match="fitted"):
        FeatureTransformer().transform(df)


def test_nan_is_filled_with_fitted_mean(df: pd.DataFrame) -> None:
    t = FeatureTransformer().fit(df)
    df.loc[df.index[:5], "amount"] = np.nan
    out = t.transform(df)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[:5, FEATURE_COLUMNS.index("amount")], 0.0, atol=1e-6)


def test_nan_ignored_when_fitting(df: pd.DataFrame) -> None:
    df.loc[df.index[:10], "distance_km"] = np.nan
    t = FeatureTransformer().fit(df)
    assert t.mean_[FEATURE_COLUMNS.index("distance_km")] == pytest.approx(df["distance_km"].iloc[10:].mean())


@pytest.mark.parametrize("constant", [5.0, np.nan])
def test_constant_column_gives_zeros_not_nan(df: pd.DataFrame, constant: float) -> None:
    df["hour"] = constant
    t = FeatureTransformer().fit(df)
    out = t.transform(df)
    assert np.isfinite(out).all()
    assert t.std_[FEATURE_COLUMNS.index("hour")] == 1.0
    assert not out[:, FEATURE_COLUMNS.index("hour")].any()


def test_columns_are_selected_by_name(df: pd.DataFrame) -> None:
    t = FeatureTransformer().fit(df)
    shuffled = df[list(reversed(df.columns))]
    np.testing.assert_array_equal(t.transform(df), t.transform(shuffled))


def test_missing_column_is_named(df: pd.DataFrame) -> None:
    t = FeatureTransformer().fit(df)
    with pytest.raises(ValueError, match="merchant_risk"):
        t.transform(df.drop(columns=["merchant_risk"]))


def test_fit_on_empty_frame_raises(df: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="empty"):
        FeatureTransformer().fit(df.iloc[:0])


def test_transform_values_matches_the_dataframe_path(df: pd.DataFrame) -> None:
    """What the serving API does for a few records (raw values, no DataFrame) equals the pandas path."""
    t = FeatureTransformer().fit(df)
    records = df.loc[:, list(FEATURE_COLUMNS)].to_dict(orient="records")  # Python ints and floats, as parsed JSON
    records[0]["amount"] = np.nan
    records[3]["distance_km"] = np.nan
    values = np.array([[r[c] for c in FEATURE_COLUMNS] for r in records], dtype=np.float64)
    expected = t.transform(pd.DataFrame(records))
    out = t.transform_values(values)
    assert out.dtype == np.float32 and out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(out[0, FEATURE_COLUMNS.index("amount")], 0.0, atol=1e-6)  # NaN: the fitted mean


@pytest.mark.parametrize("shape", [(6,), (2, 5), (1, 7)])
def test_transform_values_of_the_wrong_shape_names_the_columns(df: pd.DataFrame, shape: tuple[int, ...]) -> None:
    t = FeatureTransformer().fit(df)
    with pytest.raises(ValueError, match=r"shape \(n, 6\) in the column order amount, hour"):
        t.transform_values(np.zeros(shape))


def test_transform_values_before_fit_raises() -> None:
    with pytest.raises(NotFittedError, match="fitted"):
        FeatureTransformer().transform_values(np.zeros((1, len(FEATURE_COLUMNS))))
