"""In-memory data as a source, and as_source: what the drift engine accepts as reference or current data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assay.errors import ConfigError
from assay.sources import DataSource, DataSourceError, FrameSource, TableSource, as_source


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=1000), "b": rng.choice(["x", "y"], 1000), "c": np.arange(1000)})


def test_frame_source_slices_and_selects_existing_columns(frame):
    parts = list(FrameSource(frame, chunk_rows=300).iter_chunks(["c", "missing", "a"]))
    assert [len(p) for p in parts] == [300, 300, 300, 100]
    assert all(list(p.columns) == ["c", "a"] for p in parts)
    assert pd.concat(parts)["c"].tolist() == list(range(1000))
    pd.testing.assert_frame_equal(pd.concat(parts), FrameSource(frame).read(["c", "missing", "a"]))
    assert [len(p) for p in FrameSource(frame).iter_chunks(chunk_rows=400)] == [400, 400, 200]


def test_duplicate_columns_are_an_error():
    dupes = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(DataSourceError, match=r"DataFrame: duplicate column name\(s\) \['a'\]"):
        FrameSource(dupes).read()


def test_as_source(frame, tmp_path):
    assert isinstance(as_source(frame), FrameSource)
    parquet, csv = as_source(tmp_path / "x.parquet"), as_source(str(tmp_path / "x.csv.gz"))
    assert (parquet.kind, csv.kind) == ("parquet", "csv") and isinstance(parquet, DataSource)
    spec = {"kind": "csv", "path": "r.csv", "read_options": {"sep": ";"}}
    assert as_source(spec) == DataSource.from_dict(spec)
    source = FrameSource(frame, chunk_rows=10)
    assert as_source(source) is source and isinstance(DataSource(kind="csv", path="x.csv"), TableSource)
    with pytest.raises(ConfigError, match="cannot tell the format"):
        as_source("data.xlsx")
    with pytest.raises(ConfigError, match="unsupported data list"):
        as_source([1, 2])
