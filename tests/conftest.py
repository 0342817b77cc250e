"""Session set-up for Assay's tests.

Before anything imports airflow, point Airflow and Assay at a throw-away home for this session, with
this checkout's dags/ and plugins/, and no connections but those the tests define through
``AIRFLOW_CONN_*``. Metrics DB fixtures give a real SQLite file and, where the server is reachable, a
real PostgreSQL database created for the test and dropped after it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="assay-tests-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_SESSION_HOME / "airflow"),
        "ASSAY_HOME": str(_SESSION_HOME / "assay"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        # the session's own sign-in (SimpleAuthManager): never the checkout's .assay, which a clean clone lacks
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(_SESSION_HOME / "airflow" / "passwords.json"),
        "PYTHONPATH": os.pathsep.join([str(REPO / "include"), str(REPO / "plugins")]),
    }
)
(_SESSION_HOME / "airflow").mkdir(parents=True, exist_ok=True)
(_SESSION_HOME / "airflow" / "passwords.json").write_text('{"admin": "admin"}', encoding="utf-8")
for var in [v for v in os.environ if v.startswith("AIRFLOW_CONN_") or v == "ASSAY_METRICS_DB_URL"]:
    del os.environ[var]

import pytest  # noqa: E402
from support.postgres import PG_HOST, PG_PORT  # noqa: E402
from support.postgres import pg_admin as _pg_admin  # noqa: E402


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'metrics.db'}"


@pytest.fixture
def postgres_url():
    """A fresh PostgreSQL database for one test; skipped with the reason when no server answers."""
    try:
        admin, user = _pg_admin()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT}: {exc}")
    name = f"assay_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg2://{user}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def metrics_url(request) -> str:
    """The metrics DB URL, once for SQLite and once for PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def store(metrics_url):
    from assay.store import MetricsStore

    s = MetricsStore(metrics_url, attempts=2, backoff_s=0.05)
    s.migrate()
    yield s
    s.dispose()


@pytest.fixture(scope="session")
def airflow_db():
    """Airflow's metadata DB for this session (``airflow db migrate`` once)."""
    airflow = Path(sys.executable).with_name("airflow")
    proc = subprocess.run([str(airflow), "db", "migrate"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return os.environ["AIRFLOW_HOME"]


@pytest.fixture
def fixtures_dir() -> Path:
    return REPO / "tests" / "fixtures"
