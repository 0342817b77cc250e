"""The SQL source hook turns a connection into a SQLAlchemy engine that really queries the database
(SQLite file and PostgreSQL), and ``sql_engine(conn_id)`` is that hook's engine."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from assay_airflow.hooks.sql import SqlSourceHook, sql_engine


def test_the_hook_declares_its_connection_as_the_providers_do():
    hook = SqlSourceHook()
    assert hook.conn_name_attr == "sql_conn_id" and hook.sql_conn_id == SqlSourceHook.default_conn_name
    assert SqlSourceHook.conn_type and SqlSourceHook.hook_name.startswith("Assay")


def _query(engine) -> list[tuple]:
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE scored (id integer, score float)"))
            conn.execute(text("INSERT INTO scored VALUES (1, 0.25), (2, 0.75)"))
            return [tuple(r) for r in conn.execute(text("SELECT id, score FROM scored ORDER BY id"))]
    finally:
        engine.dispose()


def test_a_sqlite_connection_is_queried(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_CONN_FEATURES_DB", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "f.db")}))
    assert SqlSourceHook("features_db").get_uri() == f"sqlite:///{tmp_path / 'f.db'}"
    assert _query(sql_engine("features_db")) == [(1, 0.25), (2, 0.75)]


@pytest.mark.postgres
def test_a_postgres_connection_is_queried(monkeypatch, postgres_url):
    url = make_url(postgres_url)
    monkeypatch.setenv(
        "AIRFLOW_CONN_FEATURES_PG",
        json.dumps(
            {"conn_type": "postgres", "host": url.host, "port": url.port, "login": url.username, "schema": url.database}
        ),
    )
    assert _query(SqlSourceHook("features_pg").get_sqlalchemy_engine()) == [(1, 0.25), (2, 0.75)]


def test_a_connection_type_without_a_driver_says_what_to_use(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ODD", json.dumps({"conn_type": "http", "host": "x"}))
    with pytest.raises(ValueError, match="use type postgres or sqlite, or set extra 'sqlalchemy_url'"):
        SqlSourceHook("odd").get_uri()
