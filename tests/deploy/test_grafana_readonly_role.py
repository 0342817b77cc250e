"""Grafana reads the metrics DB through a read-only role: the SQL airflow-init runs, on real PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy.engine import make_url

from assay.store import MetricsStore

SCRIPT = Path(__file__).resolve().parents[2] / "docker" / "postgres" / "grafana-readonly-role.sql"
pytestmark = pytest.mark.postgres


@pytest.fixture
def metrics_db(postgres_url):
    if shutil.which("psql") is None:
        pytest.skip("no psql on PATH to run docker/postgres/grafana-readonly-role.sql")
    store = MetricsStore(postgres_url)
    store.migrate()
    store.dispose()
    url = make_url(postgres_url)
    role = f"assay_grafana_{uuid.uuid4().hex[:8]}"
    conn = {"host": url.host, "port": url.port, "dbname": url.database}
    yield {"conn": conn, "owner": url.username, "role": role}
    with psycopg2.connect(user=url.username, **conn) as c, c.cursor() as cur:  # privileges in this DB first
        cur.execute(f'DROP OWNED BY "{role}"')
    with psycopg2.connect(user=url.username, **(conn | {"dbname": "postgres"})) as c:
        c.autocommit = True
        with c.cursor() as cur:
            cur.execute(f'DROP ROLE IF EXISTS "{role}"')


def run_script(db) -> subprocess.CompletedProcess[str]:
    c = db["conn"]
    env = {**os.environ, "ASSAY_GRAFANA_DB_USER": db["role"], "ASSAY_GRAFANA_DB_PASSWORD": "s3cret-only-here"}
    return subprocess.run(
        [
            "psql",
            f"postgresql://{db['owner']}@{c['host']}:{c['port']}/{c['dbname']}",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-f",
            str(SCRIPT),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_role_reads_every_metrics_table_and_changes_nothing(metrics_db):
    first, again = run_script(metrics_db), run_script(metrics_db)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr  # idempotent
    assert "s3cret-only-here" not in first.stdout + first.stderr
    with psycopg2.connect(user=metrics_db["owner"], **metrics_db["conn"]) as c, c.cursor() as cur:
        cur.execute("CREATE TABLE assay_later (x int)")  # a table a later migration adds
        cur.execute("INSERT INTO assay_later VALUES (1)")
    ro = psycopg2.connect(user=metrics_db["role"], **metrics_db["conn"])
    ro.autocommit = True
    try:
        with ro.cursor() as cur:
            cur.execute("SELECT count(*) FROM assay_suite_run")
            assert cur.fetchone() == (0,)
            cur.execute("SELECT x FROM assay_later")
            assert cur.fetchall() == [(1,)]
            cur.execute("SHOW default_transaction_read_only")
            assert cur.fetchone() == ("on",)
            for statement in (
                "DELETE FROM assay_later",
                "INSERT INTO assay_suite_run (id) VALUES (1)",
                "CREATE TABLE mine (x int)",
                "DROP TABLE assay_later",
            ):
                with pytest.raises(psycopg2.Error):
                    cur.execute(statement)
            # read-only sessions are a default the role could lift; the missing grants still refuse
            cur.execute("SET default_transaction_read_only = off")
            for statement in ("DELETE FROM assay_later", "CREATE TABLE mine (x int)"):
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cur.execute(statement)
    finally:
        ro.close()
