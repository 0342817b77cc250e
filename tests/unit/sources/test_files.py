"""Parquet and CSV sources: read() and iter_chunks() give the same table, read() gives what pandas' own
reader gives, chunks and columns are as asked, and a file that cannot be read is an error naming it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support.data_quality import fraud_frame

from assay.errors import ConfigError
from assay.sources import DataSource, DataSourceError


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=1000), "b": rng.choice(["x", "y"], 1000), "c": np.arange(1000)})


@pytest.fixture
def mixed() -> pd.DataFrame:
    """Every column kind a source meets, missing values spread so that every chunk holds some values."""
    rng = np.random.default_rng(3)
    n = 1000
    out = pd.DataFrame(
        {
            "id": np.arange(n),
            "amount": rng.lognormal(size=n).round(6),
            "label": rng.choice(["low", "mid", "high"], n),
            "flag": rng.random(n) < 0.3,
            "ts": pd.Timestamp("2026-01-05", tz="UTC") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s"),
        }
    )
    out.loc[out.index % 7 == 3, "amount"] = np.nan
    out.loc[out.index % 11 == 5, "label"] = None
    return out


def whole(chunks) -> pd.DataFrame:
    return pd.concat(list(chunks), ignore_index=True)


def test_csv_and_parquet_sources_load_the_same_frame(tmp_path):
    df = fraud_frame()
    df.to_parquet(tmp_path / "tx.parquet", index=False)
    df.to_csv(tmp_path / "tx.csv", index=False)
    from_csv = DataSource(kind="csv", path=str(tmp_path / "tx.csv")).read()
    from_parquet = DataSource.from_dict({"kind": "parquet", "path": str(tmp_path / "tx.parquet")}).read()
    assert from_csv.equals(df) and from_parquet.equals(df)


@pytest.mark.parametrize("chunk_rows", [None, 1, 64, 250, 5000])
def test_parquet_chunks_equal_the_whole_file(mixed, tmp_path, chunk_rows):
    mixed.to_parquet(tmp_path / "m.parquet", row_group_size=300, index=False)
    source = DataSource(kind="parquet", path=tmp_path / "m.parquet")
    chunks = list(source.iter_chunks(chunk_rows=chunk_rows))
    expected_sizes = [300, 300, 300, 100] if chunk_rows is None else None  # no chunk_rows: the row groups
    assert expected_sizes is None or [len(c) for c in chunks] == expected_sizes
    pd.testing.assert_frame_equal(whole(chunks), source.read())
    pd.testing.assert_frame_equal(source.read(), pd.read_parquet(tmp_path / "m.parquet"))  # as pandas reads it
    pd.testing.assert_frame_equal(source.read(), mixed)


@pytest.mark.parametrize("chunk_rows", [7, 64, 999, 5000])  # each block holds some of every column
def test_csv_chunks_equal_the_whole_file(mixed, tmp_path, chunk_rows):
    mixed.to_csv(tmp_path / "m.csv", index=False)
    source = DataSource(kind="csv", path=tmp_path / "m.csv", read_options={"parse_dates": ["ts"]})
    chunks = list(source.iter_chunks(chunk_rows=chunk_rows))
    assert len(chunks) == -(-len(mixed) // chunk_rows)
    pd.testing.assert_frame_equal(whole(chunks), source.read())
    pd.testing.assert_frame_equal(source.read(), pd.read_csv(tmp_path / "m.csv", parse_dates=["ts"]))
    assert source.read()["ts"].dtype.kind == "M"  # read_options reach pandas


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_columns_are_the_requested_ones_that_exist_in_that_order(mixed, tmp_path, kind):
    getattr(mixed, f"to_{kind}")(tmp_path / f"m.{kind}", index=False)
    source = DataSource(kind=kind, path=tmp_path / f"m.{kind}", chunk_rows=300)
    wanted = ["label", "missing", "id"]
    read = source.read(wanted)
    assert list(read.columns) == ["label", "id"] and len(read) == len(mixed)
    assert all(list(c.columns) == ["label", "id"] for c in source.iter_chunks(wanted))
    pd.testing.assert_frame_equal(whole(source.iter_chunks(wanted)), read)


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_an_empty_table_is_one_empty_chunk_with_its_columns(mixed, tmp_path, kind):
    getattr(mixed.iloc[:0], f"to_{kind}")(tmp_path / f"e.{kind}", index=False)
    source = DataSource(kind=kind, path=tmp_path / f"e.{kind}")
    (chunk,) = source.iter_chunks(["id", "label"])
    assert len(chunk) == 0 and list(chunk.columns) == ["id", "label"]
    assert len(source.read()) == 0 and list(source.read().columns) == list(mixed.columns)


def test_parquet_directory_and_empty_file(frame, tmp_path):
    frame.iloc[:600].to_parquet(tmp_path / "part-0.parquet", row_group_size=200)
    frame.iloc[600:].to_parquet(tmp_path / "part-1.parquet", row_group_size=200)
    parts = list(DataSource(kind="parquet", path=str(tmp_path)).iter_chunks(["a"]))
    assert [len(p) for p in parts] == [200, 200, 200, 200, 200] and list(parts[0].columns) == ["a"]
    frame.iloc[:0].to_parquet(tmp_path / "empty.parquet")
    (empty,) = DataSource(kind="parquet", path=str(tmp_path / "empty.parquet")).iter_chunks(["a", "b"])
    assert len(empty) == 0 and list(empty.columns) == ["a", "b"]
    (tmp_path / "none").mkdir()
    with pytest.raises(DataSourceError, match=r"holds no \*.parquet file"):
        list(DataSource(kind="parquet", path=str(tmp_path / "none")).iter_chunks())


def test_a_parquet_directory_reads_whole_as_in_chunks(frame, tmp_path):
    frame.iloc[:600].to_parquet(tmp_path / "part-0.parquet", row_group_size=200, index=False)
    frame.iloc[600:].to_parquet(tmp_path / "part-1.parquet", row_group_size=200, index=False)
    source = DataSource(kind="parquet", path=tmp_path)
    pd.testing.assert_frame_equal(source.read(), frame)
    pd.testing.assert_frame_equal(whole(source.iter_chunks()), frame)


def test_csv_options_reach_pandas(frame, tmp_path):
    frame.to_csv(tmp_path / "semi.csv", sep=";", index=False)
    source = DataSource(kind="csv", path=str(tmp_path / "semi.csv"), chunk_rows=400, read_options={"sep": ";"})
    parts = list(source.iter_chunks(["b"]))
    assert [len(p) for p in parts] == [400, 400, 200] and list(parts[0].columns) == ["b"]


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_a_missing_file_is_an_error_naming_its_path(tmp_path, kind):
    path = tmp_path / "landing" / f"current.{kind}"
    source = DataSource.from_dict({"kind": kind, "path": str(path)})  # no config error: data lands later
    for read in (source.read, lambda: list(source.iter_chunks())):
        with pytest.raises(DataSourceError, match=f"dataset file {path} does not exist") as err:
            read()
        assert err.value.retryable  # ERROR, retried: the file may yet land


def test_unreadable_files_are_errors_that_say_why(tmp_path):
    (tmp_path / "junk.parquet").write_text("not parquet")
    for read in (
        DataSource(kind="parquet", path=tmp_path / "junk.parquet").read,
        lambda: list(DataSource(kind="parquet", path=tmp_path / "junk.parquet").iter_chunks()),
    ):
        with pytest.raises(DataSourceError, match=r"cannot read parquet dataset .*junk.parquet: cannot read junk"):
            read()
    (tmp_path / "zero.csv").write_text("")
    with pytest.raises(DataSourceError, match=r"zero.csv: the file is empty \(no header, no rows\)"):
        DataSource(kind="csv", path=tmp_path / "zero.csv").read()
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(DataSourceError, match="is a directory; a csv source reads one file"):
        DataSource(kind="csv", path=tmp_path / "folder.csv").read()


def test_an_option_pandas_does_not_take_is_a_config_error(frame, tmp_path):
    frame.to_csv(tmp_path / "f.csv", index=False)
    source = DataSource(kind="csv", path=tmp_path / "f.csv", read_options={"seperator": ";"})
    with pytest.raises(ConfigError, match=r"csv .*f.csv: read_options: .*unexpected keyword argument 'seperator'"):
        source.read()
    with pytest.raises(ConfigError, match="unexpected keyword argument 'seperator'"):
        list(source.iter_chunks())
