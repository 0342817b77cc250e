"""SQLAlchemy URLs and engines from Airflow connections (metrics DB, dataset and evaluation queries), and
``data_source``: the one place a configured data source gets the engine of its connection."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from assay.errors import ConfigError

if TYPE_CHECKING:
    from assay.sources import DataSource

_DRIVERS = {"postgres": "postgresql+psycopg2", "postgresql": "postgresql+psycopg2", "mysql": "mysql+pymysql"}


def sqlalchemy_url(conn: Any, *, default_database: str | None = None) -> str:
    """The SQLAlchemy URL of an Airflow connection: its extra ``sqlalchemy_url`` if set, a SQLite file
    for type ``sqlite`` (host = path), else driver://login:password@host:port/schema."""
    from sqlalchemy.engine import URL

    extra = conn.extra_dejson
    if extra.get("sqlalchemy_url"):
        return str(extra["sqlalchemy_url"])
    if conn.conn_type == "sqlite":
        return f"sqlite:///{conn.host}"
    driver = _DRIVERS.get(conn.conn_type)
    if driver is None:
        raise ValueError(
            f"connection {conn.conn_id!r} of type {conn.conn_type!r} cannot be used as a SQL source; "
            "use type postgres or sqlite, or set extra 'sqlalchemy_url'"
        )
    return URL.create(
        driver,
        username=conn.login,
        password=conn.password,
        host=conn.host,
        port=conn.port,
        database=conn.schema or default_database,
    ).render_as_string(hide_password=False)


def sql_engine(conn_id: str):
    """A SQLAlchemy engine for the connection ``conn_id`` (for SQL dataset sources)."""
    from sqlalchemy import create_engine

    return create_engine(sqlalchemy_url(BaseHook.get_connection(conn_id)), pool_pre_ping=True)


def data_source(spec: Mapping[str, Any] | DataSource) -> DataSource:
    """A configured data source (``{kind, path | query, conn_id, ...}``, :mod:`assay.sources`), ready to read.

    A sql source gets a factory of its connection's engine (the source makes the engine for each read and
    disposes of it after); the connection is looked up here, so a missing or unusable one is a ConfigError
    before any data is read. A file source is returned as it is.
    """
    from assay.sources import DataSource

    source = DataSource.from_dict(spec)
    if source.kind != "sql" or source.engine is not None:
        return source
    try:
        sqlalchemy_url(BaseHook.get_connection(source.conn_id))
    except AirflowNotFoundException:
        raise ConfigError(
            f"dataset source: connection {source.conn_id!r} is not defined (add it as an Airflow "
            f"connection, e.g. AIRFLOW_CONN_{str(source.conn_id).upper()})"
        ) from None
    except ValueError as exc:
        raise ConfigError(f"dataset source: {exc}") from None
    return source.with_engine(partial(sql_engine, source.conn_id))
