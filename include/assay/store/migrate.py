"""Run the Alembic migrations programmatically (no alembic.ini needed).

Concurrent migrations of one database take turns: PostgreSQL through an advisory lock held for the
migration's transaction (``migrations/env.py``), a SQLite file through an exclusive lock on
``<database>.migrate.lock`` beside it.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "assay_alembic_version"
PG_MIGRATION_LOCK = 0x41535341_59_01  # "ASSAY" + 1: the pg_advisory_xact_lock key of Assay's migrations


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    try:
        lock = open(Path(database).with_name(Path(database).name + ".migrate.lock"), "a")  # noqa: SIM115
    except OSError:  # the database's directory is gone: connecting fails next, as an outage
        yield
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def upgrade(engine: Engine, revision: str = "head") -> None:
    with _sqlite_file_lock(engine):
        command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with _sqlite_file_lock(engine):
        command.downgrade(alembic_config(engine), revision)
