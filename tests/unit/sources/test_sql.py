"""SQL sources on real SQLite and PostgreSQL databases: read() and iter_chunks() give the same table (pages
from a server-side cursor on PostgreSQL), read() gives what pandas.read_sql_query gives, the engine is
injected (given, made from a URL, or from a factory), and every failure says what failed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Numeric, create_engine, event, text

from assay.errors import ConfigError
from assay.sources import DataSource, DataSourceError

QUERY = "SELECT * FROM scored WHERE id >= :low ORDER BY id"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request) -> str:
    """A fresh database, once SQLite and once PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def scored(db_url):
    """1,000 rows of every column kind (missing values spread so that every page holds some values)."""
    rng = np.random.default_rng(5)
    n = 1000
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "score": rng.random(n),
            "price": rng.lognormal(size=n).round(4),  # NUMERIC: decimals in the driver, floats in pandas
            "label": rng.choice(["low", "mid", "high"], n),
            "flag": rng.random(n) < 0.3,
            "ts": pd.Timestamp("2026-01-05", tz="UTC") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s"),
        }
    )
    frame.loc[frame.index % 7 == 3, "score"] = np.nan
    frame.loc[frame.index % 11 == 5, "label"] = None
    engine = create_engine(db_url)
    frame.to_sql("scored", engine, index=False, dtype={"price": Numeric(12, 4)})
    yield engine
    engine.dispose()


def whole(chunks) -> pd.DataFrame:
    return pd.concat(list(chunks), ignore_index=True)


@pytest.mark.parametrize("chunk_rows", [13, 64, 5000])
def test_pages_equal_the_whole_result_and_what_pandas_reads(scored, chunk_rows):
    source = DataSource(kind="sql", conn_id="warehouse", query=QUERY, params={"low": 0}, engine=scored)
    pages = list(source.iter_chunks(chunk_rows=chunk_rows))
    assert [len(p) for p in pages] == [min(chunk_rows, 1000 - i) for i in range(0, 1000, chunk_rows)]
    read = source.read()
    pd.testing.assert_frame_equal(whole(pages), read)
    with scored.connect() as conn:
        pd.testing.assert_frame_equal(read, pd.read_sql_query(text(QUERY), conn, params={"low": 0}))
    assert read["price"].dtype == np.float64 and len(read) == 1000


def test_columns_and_an_empty_result(scored):
    source = DataSource(kind="sql", query=QUERY, params={"low": 0}, chunk_rows=300, engine=scored)
    assert list(source.read(["label", "nope", "id"]).columns) == ["label", "id"]
    assert all(list(p.columns) == ["label", "id"] for p in source.iter_chunks(["label", "nope", "id"]))
    empty = DataSource(kind="sql", query=QUERY, params={"low": 10**6}, engine=scored)
    (page,) = empty.iter_chunks(["id", "score"])
    assert len(page) == 0 and list(page.columns) == ["id", "score"]
    assert len(empty.read()) == 0 and "price" in empty.read().columns


def test_pages_come_from_a_server_side_cursor(scored):
    """PostgreSQL: a named (server-side) cursor for the pages, a plain one for the whole read."""
    seen: list[tuple[bool, str | None]] = []

    @event.listens_for(scored, "before_cursor_execute")
    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append((bool(context.execution_options.get("stream_results")), getattr(cursor, "name", None)))

    source = DataSource(kind="sql", query=QUERY, params={"low": 0}, chunk_rows=100, engine=scored)
    list(source.iter_chunks())
    source.read()
    assert [s[0] for s in seen] == [True, False]
    if scored.dialect.name == "postgresql":
        assert seen[0][1] is not None and seen[1][1] is None


def test_the_engine_given_stays_open_one_made_here_is_disposed(scored, db_url):
    made, first_pools = [], []

    def factory():
        made.append(create_engine(db_url))
        first_pools.append(made[-1].pool)
        return made[-1]

    source = DataSource(kind="sql", conn_id="wh", query=QUERY, params={"low": 990}, engine=factory)
    assert len(source.read()) == 10 and len(whole(source.iter_chunks(chunk_rows=4))) == 10
    assert len(made) == 2 and all(
        e.pool is not p for e, p in zip(made, first_pools, strict=True)
    )  # dispose() replaced the pool
    DataSource(kind="sql", query=QUERY, params={"low": 0}, engine=scored).read()
    with scored.connect() as conn:  # the caller's engine still works
        assert conn.execute(text("SELECT count(*) FROM scored")).scalar() == 1000


def test_sql_source_pages_and_errors(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=1000), "b": rng.choice(["x", "y"], 1000), "c": np.arange(1000)})
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    frame.to_sql("t", url, index=False)
    source = DataSource(kind="sql", query="SELECT a, b FROM t ORDER BY c", chunk_rows=256, engine=url)
    parts = list(source.iter_chunks(["b", "a", "zzz"]))
    assert [len(p) for p in parts] == [256, 256, 256, 232] and list(parts[0].columns) == ["b", "a"]
    with pytest.raises(DataSourceError, match="returns no rows; give a SELECT"):
        list(DataSource(kind="sql", query="CREATE TABLE u (x INTEGER)", engine=url).iter_chunks())
    with pytest.raises(DataSourceError, match="bad database URL"):
        list(DataSource(kind="sql", query="SELECT 1", engine="nodb://").iter_chunks())
    with pytest.raises(ConfigError, match="the query is empty"):
        DataSource(kind="sql", query="  ", engine=url)


def test_failures_say_what_failed(scored):
    def broken():
        raise RuntimeError("vault sealed")

    for source, message in [
        (DataSource(kind="sql", query="SELECT * FROM no_such_table", engine=scored), r"query failed: .*no_such_table"),
        (
            DataSource(kind="sql", query="SELECT id, id FROM scored", engine=scored),
            r"duplicate column name\(s\) \['id'\]",
        ),
        (DataSource(kind="sql", conn_id="wh", query="SELECT 1", engine=broken), "could not create the database engine"),
    ]:
        for read in (source.read, lambda source=source: list(source.iter_chunks())):
            with pytest.raises(DataSourceError, match=message):
                read()
    with pytest.raises(ConfigError, match="needs a SQLAlchemy engine .*connection 'wh'"):
        DataSource(kind="sql", conn_id="wh", query="SELECT 1").read()
    with pytest.raises(ConfigError, match="read_options: .*unexpected keyword argument 'coerce'"):
        DataSource(kind="sql", query=QUERY, params={"low": 0}, read_options={"coerce": True}, engine=scored).read()
