"""The rows of a sql :class:`~assay.sources.DataSource`, whole or in pages, through SQLAlchemy and pandas.

The engine is the caller's (the Airflow layer builds it from the source's connection), so no credentials
pass through here. ``read`` is ``pandas.read_sql_query``; ``iter_chunks`` is the same call with
``chunksize`` on a connection with ``stream_results`` and ``yield_per`` (a server-side cursor on
PostgreSQL: pages are fetched as they are consumed, no LIMIT/OFFSET paging). Both convert rows to columns
with pandas' own rules (decimals to floats, time zones to UTC), so a page equals the same rows read whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pandas as pd

from assay.errors import AssayError, ConfigError
from assay.sources.reading import DEFAULT_CHUNK_ROWS, DataSourceError, check_unique, select_columns

if TYPE_CHECKING:
    from assay.sources.spec import DataSource


def _engine(source: DataSource) -> tuple[Any, bool]:
    """The Engine to read with, and whether it was made here (then it is disposed of after the read)."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    given = source.engine
    if given is None:
        raise ConfigError(
            f"sql dataset {source.data_name!r} needs a SQLAlchemy engine (the Airflow layer builds it from "
            f"connection {source.conn_id!r})"
        )
    if hasattr(given, "connect"):
        return given, False
    if callable(given):
        try:
            return given(), True
        except AssayError:
            raise
        except Exception as exc:  # noqa: BLE001 - the factory's own error type is unknown; keep its message
            raise DataSourceError(
                f"{source.label}: could not create the database engine: {type(exc).__name__}: {exc}"
            ) from exc
    try:
        return create_engine(given), True
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise DataSourceError(f"{source.label}: bad database URL: {exc}") from exc


@contextmanager
def _connection(source: DataSource) -> Iterator[Any]:
    """A connection of the source's engine; SQL errors become DataSourceError saying what failed."""
    from sqlalchemy.exc import ResourceClosedError, SQLAlchemyError

    engine, owned = _engine(source)
    try:
        with engine.connect() as conn:
            yield conn
    except ResourceClosedError as exc:
        raise DataSourceError(f"{source.label}: the statement returns no rows; give a SELECT query") from exc
    except (SQLAlchemyError, pd.errors.DatabaseError) as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, SQLAlchemyError) else exc  # pandas may wrap it
        orig = getattr(cause, "orig", None) or cause
        detail = (str(orig).strip().splitlines() or [""])[0]
        raise DataSourceError(f"{source.label}: query failed: {type(orig).__name__}: {detail}") from exc
    finally:
        if owned:
            engine.dispose()


def _query(source: DataSource) -> tuple[Any, dict[str, Any] | None]:
    from sqlalchemy import text

    return text(str(source.query)), dict(source.params) or None


def _selected(frame: pd.DataFrame, source: DataSource, columns: Sequence[str] | None) -> pd.DataFrame:
    check_unique([str(c) for c in frame.columns], source.label)
    return frame if columns is None else frame[select_columns(frame.columns, columns)]


def _read_sql_query(source: DataSource, *args: Any, **kwargs: Any) -> Any:
    try:
        return pd.read_sql_query(*args, **source.read_options, **kwargs)
    except TypeError as exc:  # an argument read_sql_query does not take: the config must change
        raise ConfigError(f"{source.label}: read_options: {exc}") from exc


def read_sql(source: DataSource, columns: Sequence[str] | None) -> pd.DataFrame:
    query, params = _query(source)
    with _connection(source) as conn:
        frame = _read_sql_query(source, query, conn, params=params)
    return _selected(frame, source, columns)


def iter_sql(source: DataSource, columns: Sequence[str] | None, chunk_rows: int | None) -> Iterator[pd.DataFrame]:
    rows = chunk_rows or DEFAULT_CHUNK_ROWS
    query, params = _query(source)
    with _connection(source) as conn:
        streaming = conn.execution_options(stream_results=True, yield_per=rows)
        for page in _read_sql_query(source, query, streaming, params=params, chunksize=rows):
            yield _selected(page, source, columns)
