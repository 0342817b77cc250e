"""SQL sources from Airflow connections: the hook of a dataset's or evaluation query's database, the
SQLAlchemy URL of a connection (shared with the metrics DB hook), and ``data_source``: the one place a
configured data source gets the engine of its connection."""

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


class SqlSourceHook(BaseHook):
    """The database a SQL data source queries (a source's ``conn_id``): connection of type ``postgres``,
    ``mysql`` or ``sqlite`` (host = file path), or any type with extra ``{"sqlalchemy_url": "..."}``.

        engine = SqlSourceHook("features_db").get_sqlalchemy_engine()
    """

    conn_name_attr = "sql_conn_id"
    default_conn_name = "assay_sql_source"
    conn_type = "postgres"
    hook_name = "Assay SQL data source"

    def __init__(self, sql_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.sql_conn_id = sql_conn_id

    def get_uri(self) -> str:
        """The connection's SQLAlchemy URL (with its password: never log it)."""
        return sqlalchemy_url(self.get_connection(self.sql_conn_id))

    def get_sqlalchemy_engine(self):
        """A SQLAlchemy engine on the connection (``pool_pre_ping``: a dropped connection is replaced)."""
        from sqlalchemy import create_engine

        return create_engine(self.get_uri(), pool_pre_ping=True)


def sql_engine(conn_id: str):
    """A SQLAlchemy engine for the connection ``conn_id`` (for SQL dataset sources): ``SqlSourceHook``'s."""
    return SqlSourceHook(conn_id).get_sqlalchemy_engine()


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
        SqlSourceHook(source.conn_id).get_uri()
    except AirflowNotFoundException:
        raise ConfigError(
            f"dataset source: connection {source.conn_id!r} is not defined (add it as an Airflow "
            f"connection, e.g. AIRFLOW_CONN_{str(source.conn_id).upper()})"
        ) from None
    except ValueError as exc:
        raise ConfigError(f"dataset source: {exc}") from None
    return source.with_engine(partial(sql_engine, source.conn_id))
