"""The seeded synthetic customer generator: deterministic, vectorised, PII-shaped, streamed to Parquet."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest
from fraud.customers import (
    BLOCK_ROWS,
    COLUMNS,
    PERSONAL_COLUMNS,
    generate_customers,
    write_customers_parquet,
)

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    return generate_customers(BLOCK_ROWS + 10_000, seed=5)  # spans two blocks


def test_same_seed_same_frame_and_smaller_n_is_a_prefix(customers):
    again = generate_customers(BLOCK_ROWS + 10_000, seed=5)
    pd.testing.assert_frame_equal(customers, again)
    pd.testing.assert_frame_equal(generate_customers(1234, seed=5), customers.iloc[:1234])
    other = generate_customers(1234, seed=6)
    assert (other["email"] != customers["email"].iloc[:1234]).mean() > 0.9


def test_columns_types_and_personal_fields(customers):
    assert tuple(customers.columns) == COLUMNS
    assert set(PERSONAL_COLUMNS) <= set(customers.columns)
    assert customers.index.equals(pd.RangeIndex(len(customers)))
    assert customers["customer_id"].is_unique and customers["email"].is_unique
    assert customers.notna().all().all()
    assert customers["consent_marketing"].dtype == bool and 0.55 < customers["consent_marketing"].mean() < 0.7
    assert str(customers["date_of_birth"].dtype) == "datetime64[ms]"
    age_years = (pd.Timestamp("2025-01-01") - customers["date_of_birth"]).dt.days / 365.25
    assert age_years.between(18, 90).all()
    assert customers["email"].str.endswith(("@example.com", "@example.org", "@example.net")).all()
    assert customers["national_id"].str.fullmatch(r"9\d{2}-\d{2}-\d{4}").all()
    assert 0.03 < customers["is_fraud"].mean() < 0.07


def test_parquet_is_written_in_row_groups_and_equals_the_frame(tmp_path, customers):
    path = write_customers_parquet(
        tmp_path / "out" / "customers.parquet", len(customers), seed=5, row_group_size=25_000
    )
    meta = pq.ParquetFile(path).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [25_000, 25_000, 10_000]
    pd.testing.assert_frame_equal(pd.read_parquet(path), customers)
    assert not list(path.parent.glob("*.partial"))


@pytest.mark.parametrize("n", [0, -1, 2.5, True, 10_000_001])
def test_bad_sizes_are_rejected(n):
    with pytest.raises(ValueError, match="number of synthetic customers must be an integer"):
        generate_customers(n, seed=1)


def test_bad_row_group_size_is_rejected_and_writes_nothing(tmp_path):
    with pytest.raises(ValueError, match="row_group_size must be >= 1"):
        write_customers_parquet(tmp_path / "c.parquet", 10, row_group_size=0)
    assert not list(tmp_path.iterdir())


def test_a_failed_write_leaves_no_partial_file(tmp_path):
    with pytest.raises(ValueError, match="number of synthetic customers"):
        write_customers_parquet(tmp_path / "c.parquet", 0)
    assert not list(tmp_path.iterdir())
