"""The registry database: engine, sessions, health probe, and the ``db_down`` switch.

``cut()`` disposes the engine's pool and makes every new connection attempt fail with
:class:`DatabaseUnavailable` (a ``do_connect`` hook), which is what a lost database looks like
to the API; ``restore()`` lets connections through again. Real outages (``OperationalError``)
are reported the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from serving.errors import DatabaseUnavailable, SettingsError
from serving.tables import Base

DB_DOWN_MESSAGE = "model registry database is unavailable: connections are refused (db_down fault injected)"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the audit writer
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def build_engine(url: str) -> Engine:
    """Engine for a SQLAlchemy URL; SQLite must be a file (several threads and workers share it)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise SettingsError(f"db_url {url!r} is not a SQLAlchemy URL: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise SettingsError("db_url must name a SQLite file (sqlite:///path/serving.db), not an in-memory DB")
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 5})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=10)


class Database:
    """Owns the engine and hands out transactional sessions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = build_engine(url)
        self._down = threading.Event()
        event.listen(self.engine, "do_connect", self._refuse_when_down)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def _refuse_when_down(self, *_args: Any) -> None:
        if self._down.is_set():
            raise DatabaseUnavailable(DB_DOWN_MESSAGE)

    @property
    def is_cut(self) -> bool:
        return self._down.is_set()

    def create_schema(self) -> None:
        """Create missing tables; tolerate a concurrent worker creating them first."""
        try:
            Base.metadata.create_all(self.engine)
        except OperationalError:
            Base.metadata.create_all(self.engine)  # the other worker won the race; now they exist

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        with self._unavailable_as_error(), self._sessions.begin() as session:
            yield session

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A Core connection in one transaction, for plain bulk inserts (no ORM unit of work); errors as
        for ``session``."""
        with self._unavailable_as_error(), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def _unavailable_as_error(self) -> Iterator[None]:
        """Raise DatabaseUnavailable when the database is cut or unreachable."""
        if self._down.is_set():
            raise DatabaseUnavailable(DB_DOWN_MESSAGE)
        try:
            yield
        except (OperationalError, DBAPIError) as exc:
            if isinstance(exc, OperationalError) or exc.connection_invalidated:
                raise DatabaseUnavailable(f"model registry database is unavailable: {exc.orig}") from exc
            raise

    def ping(self) -> bool:
        """True when a ``SELECT 1`` round trip succeeds."""
        try:
            with self.session() as session:
                session.execute(text("SELECT 1"))
        except DatabaseUnavailable:
            return False
        return True

    def cut(self) -> None:
        """Drop every pooled connection and refuse new ones."""
        self._down.set()
        self.engine.dispose()

    def restore(self) -> None:
        self._down.clear()

    def close(self) -> None:
        self.engine.dispose()
