"""Hook for the Assay metrics database (connection ``assay_metrics``)."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from assay.config import assay_home
from assay.store import MetricsStore
from assay.store.outbox import Outbox
from assay_airflow.hooks.sql import sqlalchemy_url

URL_ENV = "ASSAY_METRICS_DB_URL"
OUTBOX_ENV = "ASSAY_OUTBOX_DIR"


def outbox_dir() -> Path:
    """Where results wait while the metrics DB is down: ``$ASSAY_OUTBOX_DIR``, else ``$ASSAY_HOME/outbox``.
    With several workers this must be a directory every worker mounts (the shared ``$ASSAY_HOME`` volume
    of docker-compose), so any worker flushes what another one parked."""
    return Path(os.environ[OUTBOX_ENV]) if os.environ.get(OUTBOX_ENV) else assay_home() / "outbox"


def default_sqlite_url() -> str:
    home = Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")
    return f"sqlite:///{home / 'assay_metrics.db'}"


class MetricsDbHook(BaseHook):
    """Resolves the metrics DB: ``$ASSAY_METRICS_DB_URL``, else the ``assay_metrics`` connection, else the
    embedded SQLite file in the Airflow home.

    The connection may be of type ``postgres`` (host, port, login, password, schema = database) or
    carry a full SQLAlchemy URL in its extra as ``{"sqlalchemy_url": "..."}``.
    """

    conn_name_attr = "metrics_conn_id"
    default_conn_name = "assay_metrics"
    conn_type = "postgres"
    hook_name = "Assay metrics DB"

    def __init__(self, metrics_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.metrics_conn_id = metrics_conn_id

    def get_url(self) -> str:
        if os.environ.get(URL_ENV):
            return os.environ[URL_ENV]
        try:
            conn = self.get_connection(self.metrics_conn_id)
        except AirflowNotFoundException:
            return default_sqlite_url()
        return sqlalchemy_url(conn, default_database="assay_metrics")

    @cached_property
    def store(self) -> MetricsStore:
        """The store; no connection is made until it is used (call ``ensure_schema`` before reading).

        Outage handling is tunable: ``ASSAY_METRICS_DB_ATTEMPTS`` (default 5) tries with exponential
        backoff from ``ASSAY_METRICS_DB_BACKOFF_S`` (default 0.5 s, capped at 8 s).
        """
        return MetricsStore(
            self.get_url(),
            attempts=int(os.environ.get("ASSAY_METRICS_DB_ATTEMPTS", "5")),
            backoff_s=float(os.environ.get("ASSAY_METRICS_DB_BACKOFF_S", "0.5")),
        )

    @cached_property
    def outbox(self) -> Outbox:
        return Outbox(outbox_dir())
