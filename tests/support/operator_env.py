"""Set-up shared by the operator tests (tests/operators): a config file of the test's own, a real metrics
DB (the ``metrics_url`` fixture: SQLite and PostgreSQL), an outbox and an ASSAY_HOME in the test's
directory, and readers of what an ``execute(context)`` recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from assay.store import MetricsStore


def configure(monkeypatch, tmp_path: Path, metrics_url: str, **sections: Any) -> dict[str, Any]:
    """Write ``assay.yaml`` with ``sections`` (a placeholder target unless ``targets`` is given) and point
    Assay at it, at ``metrics_url`` and at an outbox under ``tmp_path``. Returns the config written."""
    cfg = {"targets": {"placeholder": {"repo": str(tmp_path / "no-repo")}}} | sections
    path = tmp_path / "assay.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    monkeypatch.setenv("ASSAY_CONFIG", str(path))
    monkeypatch.setenv("ASSAY_METRICS_DB_URL", metrics_url)
    monkeypatch.setenv("ASSAY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ASSAY_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("ASSAY_METRICS_DB_ATTEMPTS", "2")
    monkeypatch.setenv("ASSAY_METRICS_DB_BACKOFF_S", "0.05")
    return cfg


def recorded(url: str, dag_id: str, run_id: str) -> dict[str, Any]:
    """Suite name -> the newest try's suite run of that DAG run (test cases, checks and metrics loaded)."""
    store = MetricsStore(url)
    store.ensure_schema()
    rows = {r.name: r for r in store.latest_suite_runs(dag_id, run_id)}
    store.dispose()
    return rows


def checks(row) -> dict[str, Any]:
    return {c.name: c for c in row.checks}


def sql_connection(monkeypatch, conn_id: str, url: str) -> None:
    """Make the database at ``url`` (SQLite or PostgreSQL) the Airflow connection ``conn_id``, as a user
    defines it: type, host, port, login and schema, no SQLAlchemy URL in the extra."""
    import json

    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        conn = {"conn_type": "sqlite", "host": u.database}
    else:
        conn = {"conn_type": "postgres", "host": u.host, "port": u.port, "login": u.username, "schema": u.database}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
