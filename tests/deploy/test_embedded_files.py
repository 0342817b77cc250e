"""``make run``'s files that hold secrets or results are owner-only (0600): the login file
(``passwords.json``), Airflow's SQLite metadata DB (``airflow.db``) and the metrics DB
(``assay_metrics.db``), with SQLite's -wal/-shm files, under the usual umask 022."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from assay.store import MetricsStore

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def usual_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture(scope="module")
def setup_embedded():
    spec = importlib.util.spec_from_file_location("setup_embedded", REPO / "scripts" / "setup_embedded.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def sqlite_files(db: Path) -> list[Path]:
    return [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]


def test_a_new_metrics_db_and_its_wal_files_are_owner_only(tmp_path):
    db = tmp_path / "airflow" / "assay_metrics.db"
    store = MetricsStore(f"sqlite:///{db}")
    store.migrate()
    with store.engine.connect():  # WAL mode: the -wal and -shm files exist while a connection is open
        files = sqlite_files(db)
        assert len(files) == 3
        assert {p.name: oct(mode(p)) for p in files} == {p.name: "0o600" for p in files}
    store.dispose()


def test_the_login_file_is_written_owner_only_and_an_old_one_is_tightened(setup_embedded, tmp_path):
    new = setup_embedded.private_file(tmp_path / "airflow" / "passwords.json", '{"admin": "s3cret"}')
    assert mode(new) == 0o600 and new.read_text() == '{"admin": "s3cret"}'
    old = tmp_path / "old.json"
    old.write_text('{"admin": "kept"}')
    assert mode(old) == 0o644  # what the earlier version left
    setup_embedded.private_file(old, '{"admin": "replaced?"}')
    assert mode(old) == 0o600 and old.read_text() == '{"admin": "kept"}'  # tightened, never overwritten


def test_airflow_sqlite_path_follows_the_configured_connection(setup_embedded, tmp_path, monkeypatch):
    monkeypatch.delenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", raising=False)
    assert setup_embedded.airflow_sqlite_path(tmp_path) == tmp_path / "airflow.db"
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{tmp_path}/other.db")
    assert setup_embedded.airflow_sqlite_path(tmp_path) == tmp_path / "other.db"
    monkeypatch.setenv("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "postgresql+psycopg2://u@h/db")
    assert setup_embedded.airflow_sqlite_path(tmp_path) is None


@pytest.mark.slow
def test_airflow_db_migrate_keeps_the_owner_only_file(setup_embedded, tmp_path):
    """What make run does: make airflow.db owner-only, then let Airflow create its schema in it."""
    home = tmp_path / "airflow"
    db = setup_embedded.private_file(home / "airflow.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__DATABASE__")}
    env |= {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    airflow = Path(sys.executable).with_name("airflow")
    proc = subprocess.run([str(airflow), "db", "migrate"], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert db.stat().st_size > 0  # Airflow used this file
    assert {p.name: oct(mode(p)) for p in sqlite_files(db)} == {p.name: "0o600" for p in sqlite_files(db)}


def pool_slots(name: str) -> int | None:
    airflow = Path(sys.executable).with_name("airflow")
    proc = subprocess.run(
        [str(airflow), "pools", "get", name, "-o", "json"], capture_output=True, text=True, timeout=300
    )
    if proc.returncode != 0:
        return None
    return int(json.loads(proc.stdout)[0]["slots"])


def test_make_run_sets_the_one_slot_measurement_pool(setup_embedded, airflow_db):
    """A task in a pool that does not exist is never scheduled (dag.test() ignores pools, so only the real
    scheduler would show it): make run's set-up sets performance_isolation.pool, one slot, on every run,
    so a pool someone widened is narrowed again."""
    from assay.config import load_config

    name = load_config().performance_isolation.pool
    setup_embedded.ensure_measurement_pool(name)
    assert pool_slots(name) == 1
    setup_embedded.airflow("pools", "set", name, "3", "widened by hand")
    setup_embedded.ensure_measurement_pool(name)
    assert pool_slots(name) == 1
