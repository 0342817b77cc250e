"""Prepare the embedded deployment (called by `make run`; safe to run again).

Migrates Airflow's metadata DB and the metrics DB, creates the default connections and the measurement
pool, and writes the login. Environment comes from the Makefile. The login file and both SQLite databases are owner-only
(0600). The bundled demo target is prepared after this by its own scripts (Makefile ``setup``).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from assay.store import MetricsStore

AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def airflow(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AIRFLOW, *args], check=check, capture_output=True, text=True)


def ensure_connection(conn_id: str, uri_or_json: str) -> None:
    if airflow("connections", "get", conn_id, check=False).returncode == 0:
        print(f"  connection {conn_id}: exists, kept")
        return
    flag = "--conn-json" if uri_or_json.startswith("{") else "--conn-uri"
    airflow("connections", "add", conn_id, flag, uri_or_json)
    print(f"  connection {conn_id}: created")


MEASUREMENT_POOL_DESCRIPTION = (
    "Assay's timing measurements (load test, micro-benchmarks, pipeline load) run one at a time: "
    "performance_isolation.pool in assay.yaml"
)


def ensure_measurement_pool(name: str) -> None:
    """The one-slot pool of the timing measurements (``performance_isolation.pool``), set on every run:
    a task whose pool does not exist is never scheduled, and a pool of more slots would let two
    measurements share the machine."""
    airflow("pools", "set", name, "1", MEASUREMENT_POOL_DESCRIPTION)
    print(f"  pool {name}: 1 slot")


def private_file(path: Path, content: str | None = None) -> Path:
    """Make ``path`` readable by its owner only (0600): created so if absent (with ``content``, if given),
    else tightened, so a file an earlier version left world-readable is fixed too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        return path
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        if content is not None:
            f.write(content)
    return path


def airflow_sqlite_path(home: Path) -> Path | None:
    """The SQLite file of Airflow's metadata DB (None when it is not SQLite)."""
    url = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'airflow.db'}")
    return Path(url.split("///", 1)[1]) if url.startswith("sqlite:///") else None


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value in _TRUE | _FALSE:
        return value in _TRUE
    raise ValueError(f"{name}={env[name]!r} is not a boolean; use true or false")


def smtp_connection(env: Mapping[str, str]) -> dict[str, Any]:
    """The ``assay_smtp`` connection from ``ASSAY_SMTP_*``: STARTTLS on port 587 unless told otherwise.

    ``ASSAY_SMTP_STARTTLS=false`` (with ``ASSAY_SMTP_PORT=25``) for a local relay without TLS;
    ``ASSAY_SMTP_SSL=true`` for implicit TLS (SMTPS, port 465). The server certificate is verified
    against the system's CAs (the provider's ``ssl_context`` extra, ``default``).
    """
    use_ssl = _flag(env, "ASSAY_SMTP_SSL", False)
    starttls = _flag(env, "ASSAY_SMTP_STARTTLS", not use_ssl)
    if use_ssl and starttls:
        raise ValueError(
            "ASSAY_SMTP_SSL=true and ASSAY_SMTP_STARTTLS=true: choose one (SMTPS on 465 or STARTTLS on 587)"
        )
    default_port = 465 if use_ssl else 587 if starttls else 25
    try:
        port = int(env.get("ASSAY_SMTP_PORT") or default_port)
    except ValueError:
        raise ValueError(f"ASSAY_SMTP_PORT={env['ASSAY_SMTP_PORT']!r} is not a port number") from None
    return {
        "conn_type": "smtp",
        "host": env["ASSAY_SMTP_HOST"],
        "port": port,
        "login": env.get("ASSAY_SMTP_USER") or None,
        "password": env.get("ASSAY_SMTP_PASSWORD") or None,
        # the provider's extras: disable_ssl turns off implicit TLS, disable_tls turns off STARTTLS
        "extra": {
            "from_email": env.get("ASSAY_SMTP_FROM", "assay@localhost"),
            "disable_ssl": not use_ssl,
            "disable_tls": not starttls,
        },
    }


def port_in_use(host: str, port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


def main() -> None:
    port = int(os.environ.get("AIRFLOW__API__PORT", "8080"))
    if port_in_use("127.0.0.1", port):
        sys.exit(
            f"port {port} on 127.0.0.1 is already in use (another Airflow?); stop it or set "
            f"AIRFLOW__API__PORT, AIRFLOW__API__BASE_URL and AIRFLOW__CORE__EXECUTION_API_SERVER_URL"
        )
    home = Path(os.environ["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    passwords = Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    private_file(passwords, json.dumps({"admin": os.environ.get("ASSAY_ADMIN_PASSWORD", "admin")}))
    # SQLite files are made here, owner-only, before Airflow and the store open them (SQLite keeps the
    # mode, and gives its -wal/-shm files the same one)
    metrics_db = home / "assay_metrics.db"
    for db in (airflow_sqlite_path(home), metrics_db):
        if db is not None:
            private_file(db)
    print("migrating Airflow's metadata DB ...")
    airflow("db", "migrate")
    MetricsStore(f"sqlite:///{metrics_db}").migrate()
    print(f"metrics DB ready: {metrics_db}")
    ensure_connection("assay_metrics", json.dumps({"conn_type": "sqlite", "host": str(metrics_db)}))
    from assay.config import load_config
    from assay.errors import ConfigError

    try:
        ensure_measurement_pool(load_config().performance_isolation.pool)
    except ConfigError as exc:
        sys.exit(f"cannot read the Assay config for the measurement pool: {exc}")
    # the key of keyed pseudonymisation (assay_test_data): random once, then kept (a new key would give every
    # customer a new pseudonym); ASSAY_PSEUDONYM_KEY sets your own
    key = os.environ.get("ASSAY_PSEUDONYM_KEY") or secrets.token_urlsafe(32)
    ensure_connection("assay_pseudonym_key", json.dumps({"conn_type": "generic", "password": key}))
    if os.environ.get("ASSAY_SLACK_WEBHOOK_URL"):
        ensure_connection(
            "assay_slack", json.dumps({"conn_type": "slackwebhook", "password": os.environ["ASSAY_SLACK_WEBHOOK_URL"]})
        )
    if os.environ.get("ASSAY_SMTP_HOST"):
        try:
            smtp = smtp_connection(os.environ)
        except ValueError as exc:
            sys.exit(str(exc))
        ensure_connection("assay_smtp", json.dumps(smtp))


if __name__ == "__main__":
    main()
