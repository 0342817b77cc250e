"""The PostgreSQL server the tests and benchmarks use (``ASSAY_TEST_PG_HOST`` / ``_PORT``, trust auth)."""

from __future__ import annotations

import os

PG_HOST = os.environ.get("ASSAY_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("ASSAY_TEST_PG_PORT", "5432"))


def pg_admin():
    """An autocommit connection to the ``postgres`` database as ``postgres`` or ``root``, and that user;
    RuntimeError with the last refusal when the server does not answer."""
    import psycopg2

    last = None
    for user in ("postgres", "root"):
        try:
            conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=user, dbname="postgres", connect_timeout=3)
            conn.autocommit = True
            return conn, user
        except psycopg2.OperationalError as exc:
            last = exc
    raise RuntimeError(str(last))
