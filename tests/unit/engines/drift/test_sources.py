"""Data sources: chunking, column selection, error messages, and config specs."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from assay.engines.drift import (
    CsvSource,
    DataSourceError,
    FrameSource,
    ParquetSource,
    SqlSource,
    as_source,
    run_drift,
    source_from_spec,
    sql_source,
)
from assay.errors import ConfigError
from assay.status import Status


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=1000), "b": rng.choice(["x", "y"], 1000), "c": np.arange(1000)})


def test_frame_source_slices_and_selects_existing_columns(frame):
    parts = list(FrameSource(frame, chunk_rows=300).iter_chunks(["c", "missing", "a"]))
    assert [len(p) for p in parts] == [300, 300, 300, 100]
    assert all(list(p.columns) == ["c", "a"] for p in parts)
    assert pd.concat(parts)["c"].tolist() == list(range(1000))


def test_parquet_directory_and_empty_file(frame, tmp_path):
    frame.iloc[:600].to_parquet(tmp_path / "part-0.parquet", row_group_size=200)
    frame.iloc[600:].to_parquet(tmp_path / "part-1.parquet", row_group_size=200)
    parts = list(ParquetSource(str(tmp_path)).iter_chunks(["a"]))
    assert [len(p) for p in parts] == [200, 200, 200, 200, 200] and list(parts[0].columns) == ["a"]
    frame.iloc[:0].to_parquet(tmp_path / "empty.parquet")
    (empty,) = ParquetSource(str(tmp_path / "empty.parquet")).iter_chunks(["a", "b"])
    assert len(empty) == 0 and list(empty.columns) == ["a", "b"]
    (tmp_path / "none").mkdir()
    with pytest.raises(DataSourceError, match=r"holds no \*.parquet file"):
        list(ParquetSource(str(tmp_path / "none")).iter_chunks())


def test_csv_options_reach_pandas(frame, tmp_path):
    frame.to_csv(tmp_path / "semi.csv", sep=";", index=False)
    parts = list(CsvSource(str(tmp_path / "semi.csv"), chunk_rows=400, options={"sep": ";"}).iter_chunks(["b"]))
    assert [len(p) for p in parts] == [400, 400, 200] and list(parts[0].columns) == ["b"]


def test_sql_source_pages_and_errors(frame, tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    frame.to_sql("t", url, index=False)
    parts = list(sql_source(url, "SELECT a, b FROM t ORDER BY c", chunk_rows=256).iter_chunks(["b", "a", "zzz"]))
    assert [len(p) for p in parts] == [256, 256, 256, 232] and list(parts[0].columns) == ["b", "a"]
    with pytest.raises(DataSourceError, match="returns no rows; give a SELECT"):
        list(sql_source(url, "CREATE TABLE u (x INTEGER)").iter_chunks())
    with pytest.raises(DataSourceError, match="bad database URL"):
        list(sql_source("nodb://", "SELECT 1").iter_chunks())
    with pytest.raises(ConfigError, match="the query is empty"):
        sql_source(url, "  ")


def test_sql_label_never_shows_the_password():
    label = SqlSource("postgresql://drift:s3cret@db.internal:5432/features", "SELECT *\n  FROM scored").label
    assert "s3cret" not in label and "***" in label and "SELECT * FROM scored" in label


def test_decimal_objects_count_as_numeric():
    ref = pd.DataFrame({"amount": [Decimal("1.5"), Decimal("2.25"), None, Decimal("3")] * 10})
    cur = pd.DataFrame({"amount": [1.5, 2.25, 3.0, 3.0] * 10})
    (r,) = run_drift(ref, cur).columns
    assert r.status is Status.PASS and r.test == "chisquare" and r.kind == "categorical" and r.n_reference == 30


def test_as_source_and_specs(frame, tmp_path):
    assert isinstance(as_source(frame), FrameSource)
    assert isinstance(as_source(tmp_path / "x.parquet"), ParquetSource)
    assert isinstance(as_source(str(tmp_path / "x.csv.gz")), CsvSource)
    with pytest.raises(ConfigError, match="cannot tell the format"):
        as_source("data.xlsx")
    with pytest.raises(ConfigError, match="unsupported data list"):
        as_source([1, 2])
    assert source_from_spec({"parquet": "r.parquet", "chunk_rows": 500}) == ParquetSource("r.parquet", 500)
    assert source_from_spec({"csv": "r.csv", "options": {"sep": ";"}}) == CsvSource("r.csv", 100_000, {"sep": ";"})
    sql = source_from_spec({"sql": "SELECT 1", "conn_id": "features_db", "params": {"d": 1}}, sql_engine="sqlite://")
    assert sql == SqlSource("sqlite://", "SELECT 1", {"d": 1}, 100_000)
    for spec, message in [
        ({"parquet": "a", "csv": "b"}, "exactly one of"),
        ({"csv": "a", "sep": ";"}, "unknown key 'sep'"),
        ({"sql": "SELECT 1", "conn_id": "x"}, "no database engine was given"),
        ({"parquet": "a", "chunk_rows": 0}, "chunk_rows must be a positive integer"),
    ]:
        with pytest.raises(ConfigError, match=message):
            source_from_spec(spec)
