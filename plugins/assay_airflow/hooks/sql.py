"""SQLAlchemy URLs and engines from Airflow connections (metrics DB, dataset and evaluation queries)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

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
