"""The one data-source spec: validated once with errors that say what to fix, names and labels, and an
import that loads no pandas, pyarrow or SQLAlchemy (the config validates every source at DAG parse)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assay.errors import ConfigError
from assay.sources import DataSource

INCLUDE = Path(__file__).resolve().parents[3] / "include"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"kind": "excel", "path": "a.xlsx"}, r"kind 'excel' is not one of"),
        ({"kind": "csv"}, r"csv dataset source needs 'path'"),
        ({"kind": "sql", "query": " "}, r"sql dataset source needs 'query'"),
        ({"kind": "sql", "query": "select 1", "path": "a.csv"}, r"takes 'query', not 'path'"),
        ({"path": "a.csv"}, r"needs 'kind'"),
        ({"kind": "csv", "path": "a.csv", "sep": ";"}, r"unknown key\(s\) \['sep'\]"),
    ],
)
def test_source_config_errors(data, expected):
    with pytest.raises(ConfigError, match=expected):
        DataSource.from_dict(data)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"kind": "parquet", "path": "a", "chunk_rows": 0}, r"chunk_rows must be a positive integer, got 0"),
        ({"kind": "csv", "path": "a.csv", "chunk_rows": True}, r"chunk_rows must be a positive integer"),
        ({"kind": "sql", "query": "SELECT 1"}, r"sql dataset source needs 'conn_id' \(the Airflow connection"),
        ({"kind": "parquet", "path": "a.parquet", "query": "SELECT 1"}, r"takes 'path', not 'query'"),
        ({"kind": "csv", "path": "a.csv", "conn_id": "wh"}, r"csv dataset source takes no 'conn_id'"),
        ({"kind": "csv", "path": "a.csv", "params": {"d": 1}}, r"csv dataset source takes no 'params'"),
        (
            {"kind": "parquet", "path": "a.parquet", "read_options": {"engine": "fastparquet"}},
            r"takes no 'read_options'",
        ),
        ({"kind": "csv", "path": "a.csv", "read_options": {"chunksize": 5}}, r"must not set \['chunksize'\]"),
        ({"kind": "csv", "path": "a.csv", "read_options": {"usecols": ["a"]}}, r"must not set \['usecols'\]"),
        ({"kind": "sql", "conn_id": "wh", "query": "SELECT 1", "read_options": {"params": {}}}, r"must not set"),
        ({"kind": "csv", "path": 7}, r"'path' must be a string, got 7"),
        ({"kind": "sql", "conn_id": "wh", "query": "SELECT 1", "params": [1]}, r"'params' must be a mapping"),
        ({"kind": "csv", "path": "a.csv", "read_options": "sep=;"}, r"'read_options' must be a mapping"),
    ],
)
def test_each_kind_takes_only_what_it_uses(data, expected):
    with pytest.raises(ConfigError, match=expected):
        DataSource.from_dict(data)


def test_a_source_is_a_mapping():
    with pytest.raises(ConfigError, match="a dataset source is a mapping such as"):
        DataSource.from_dict(["parquet", "a.parquet"])


def test_valid_specs_and_their_names():
    parquet = DataSource.from_dict({"kind": "parquet", "path": "r.parquet", "chunk_rows": 500})
    assert parquet == DataSource(kind="parquet", path="r.parquet", chunk_rows=500)
    assert (parquet.label, parquet.data_name) == ("parquet r.parquet", "r.parquet")
    csv = DataSource.from_dict({"kind": "csv", "path": Path("d/r.csv"), "read_options": {"sep": ";"}, "name": "orders"})
    assert (csv.path, csv.read_options, csv.data_name, csv.label) == ("d/r.csv", {"sep": ";"}, "orders", "csv d/r.csv")
    sql = DataSource.from_dict({"kind": "sql", "query": "SELECT 1", "conn_id": "features_db", "params": {"d": 1}})
    assert (sql.params, sql.data_name, sql.engine) == ({"d": 1}, "sql:features_db", None)
    assert sql.label == "sql connection 'features_db': SELECT 1"
    assert DataSource.from_dict({"kind": "csv", "path": "a.csv", "params": None, "read_options": None}).params == {}


def test_an_engine_is_injected_not_configured():
    bare = DataSource.from_dict({"kind": "sql", "query": "SELECT 1"}, engine="sqlite://")  # no conn_id: the engine's
    assert bare.engine == "sqlite://" and bare.data_name == "sql:engine" and bare.label == "sql sqlite://: SELECT 1"
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['engine'\]"):
        DataSource.from_dict({"kind": "sql", "query": "SELECT 1", "engine": "sqlite://"})
    with pytest.raises(ConfigError, match="csv dataset source takes no 'engine'"):
        DataSource(kind="csv", path="a.csv").with_engine("sqlite://")
    source = DataSource(kind="sql", conn_id="wh", query="SELECT 1")
    assert source.with_engine("sqlite://") == source  # the engine is how it is read, not what it is
    assert DataSource.from_dict(source, engine="sqlite://").engine == "sqlite://"


def test_kind_from_a_path(tmp_path):
    assert DataSource.from_path(tmp_path / "x.parquet") == DataSource(kind="parquet", path=str(tmp_path / "x.parquet"))
    assert DataSource.from_path(tmp_path).kind == "parquet"  # a directory of Parquet files
    assert DataSource.from_path(str(tmp_path / "x.CSV.gz")).kind == "csv"
    assert DataSource.from_path("x.csv", chunk_rows=10).chunk_rows == 10
    with pytest.raises(ConfigError, match=r"cannot tell the format of 'data.xlsx'.*\.csv or \.parquet"):
        DataSource.from_path("data.xlsx")


def test_sql_label_never_shows_the_password():
    source = DataSource(
        kind="sql", query="SELECT *\n  FROM scored", engine="postgresql://drift:s3cret@db.internal:5432/f"
    )
    assert "s3cret" not in source.label and "***" in source.label and "SELECT * FROM scored" in source.label
    assert "s3cret" not in repr(source)  # the engine (or its URL) is never shown
    long = DataSource(kind="sql", query="SELECT " + ", ".join(f"c{i}" for i in range(50)), engine=lambda: None)
    assert long.label.startswith("sql <database>: SELECT c0, c1") and long.label.endswith("…")


def test_validating_a_source_loads_no_reader_library():
    code = (
        "import sys\n"
        "from assay.sources import DataSource, as_source\n"
        "DataSource.from_dict({'kind': 'sql', 'conn_id': 'wh', 'query': 'SELECT 1'}).label\n"
        "DataSource.from_dict({'kind': 'parquet', 'path': 'x.parquet'}).label\n"
        "loaded = sorted(m for m in ('pandas', 'pyarrow', 'sqlalchemy', 'numpy') if m in sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(INCLUDE)}
    )
    assert proc.returncode == 0, proc.stderr
