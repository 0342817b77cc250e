"""The repository API operators call: ``record_suite_run`` and the few queries gates and alerts need.

Writes are idempotent on (dag_id, run_id, task_id, map_index, try_number, suite name): writing the
same key again replaces that suite run and its children in one transaction, so a retried write or an
outbox flush never duplicates rows. Connection failures are retried with exponential backoff; if the
database stays down, ``StoreUnavailable`` is raised and the caller parks the record in the outbox.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from assay.errors import AssayError
from assay.store.models import Baseline, Check, Finding, Metric, SuiteRun, TestCase, WatchedCommit
from assay.store.records import SuiteRunRecord

log = logging.getLogger(__name__)
T = TypeVar("T")

COVERAGE_METRIC = "coverage.line_percent"
FILE_COVERAGE_METRIC = "coverage.file_line_percent"


class StoreUnavailable(AssayError):
    """The metrics database could not be reached after every retry."""


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1].split("?", 1)[0] if "///" in url else ""
        if path and path != ":memory:":
            _create_private(Path(path))
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2, connect_args=_connect_args(url))


def _create_private(path: Path) -> None:
    """A new SQLite file is made owner-only (0600) before SQLite opens it; SQLite keeps that mode and gives
    its -wal and -shm files the same. An existing file is left as it is."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError:
        pass  # e.g. a directory in the way: SQLite's own error says it when it connects


def _connect_args(url: str) -> dict[str, object]:
    return {"connect_timeout": 5} if url.startswith("postgresql") else {}


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class MetricsStore:
    def __init__(self, url: str, *, attempts: int = 5, backoff_s: float = 0.5, max_backoff_s: float = 8.0) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._schema_ready = False

    def __repr__(self) -> str:
        return f"MetricsStore({self.engine.url.render_as_string(hide_password=True)})"

    def dispose(self) -> None:
        self.engine.dispose()

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (own version table: assay_alembic_version)."""
        from assay.store.migrate import upgrade

        self._retry("migrate", lambda: upgrade(self.engine))
        self._schema_ready = True

    def ensure_schema(self) -> None:
        """Migrate once per store object (operators call this before their first write)."""
        if not self._schema_ready:
            self.migrate()

    # -- retries -------------------------------------------------------------------------------
    def _retry(self, what: str, fn: Callable[[], T]) -> T:
        delay = self.backoff_s
        for attempt in range(1, self.attempts + 1):
            try:
                return fn()
            except Exception as exc:
                if not _is_transient(exc):
                    raise
                if attempt == self.attempts:
                    raise StoreUnavailable(
                        f"metrics database unreachable for {what} after {self.attempts} attempts: "
                        f"{getattr(exc, 'orig', exc)}"
                    ) from exc
                log.warning("metrics DB %s failed (attempt %d/%d), retrying in %.1fs: %s",
                            what, attempt, self.attempts, delay, getattr(exc, "orig", exc))
                self.engine.dispose()
                time.sleep(delay)
                delay = min(delay * 2, self.max_backoff_s)
        raise AssertionError("unreachable")

    # -- writes --------------------------------------------------------------------------------
    def record_suite_run(self, record: SuiteRunRecord) -> int:
        """Write one suite run with its test cases, checks, metrics and findings; return its id."""
        return self._retry("record_suite_run", lambda: self._write(record))

    def _write(self, rec: SuiteRunRecord) -> int:
        k = rec.key
        with self._session.begin() as s:
            existing = s.scalars(
                select(SuiteRun).where(
                    SuiteRun.dag_id == k.dag_id, SuiteRun.run_id == k.run_id, SuiteRun.task_id == k.task_id,
                    SuiteRun.map_index == k.map_index, SuiteRun.try_number == k.try_number,
                    SuiteRun.name == rec.name,
                )
            ).one_or_none()
            if existing is not None:
                s.delete(existing)
                s.flush()
            row = SuiteRun(
                kind=rec.kind, name=rec.name, target=rec.target, commit_sha=rec.commit_sha, branch=rec.branch,
                model_version=rec.model_version, dataset=rec.dataset, dag_id=k.dag_id, run_id=k.run_id,
                task_id=k.task_id, map_index=k.map_index, try_number=k.try_number,
                started_at=rec.started_at, finished_at=rec.finished_at, status=rec.status,
                message=rec.message, summary=rec.summary,
                test_cases=[TestCase(**vars(t)) for t in rec.test_cases],
                checks=[Check(**vars(c)) for c in rec.checks],
                metrics=[Metric(**vars(m)) for m in rec.metrics],
                findings=[Finding(**vars(f)) for f in rec.findings],
            )
            s.add(row)
            s.flush()
            return row.id

    def claim_commit(self, *, target: str, branch: str, sha: str, run_id: str) -> bool:
        """Remember that ``sha`` of ``target`` was handed to a run; False if it already was."""

        def claim() -> bool:
            try:
                with self._session.begin() as s:
                    s.add(WatchedCommit(target=target, branch=branch, sha=sha,
                                        seen_at=datetime.now(UTC), triggered_run_id=run_id))
                return True
            except IntegrityError:
                return False

        return self._retry("claim_commit", claim)

    def watched_commits(self) -> set[tuple[str, str]]:
        """Every (target, sha) already handed to a run by the commit watcher."""

        def read() -> set[tuple[str, str]]:
            with Session(self.engine) as s:
                return {(t, sha) for t, sha in s.execute(select(WatchedCommit.target, WatchedCommit.sha))}

        return self._retry("watched_commits", read)

    def release_commit(self, *, target: str, sha: str) -> None:
        """Forget a claim whose trigger failed, so the next watch tries again."""

        def release() -> None:
            with self._session.begin() as s:
                row = s.scalars(select(WatchedCommit).where(WatchedCommit.target == target, WatchedCommit.sha == sha)).one_or_none()
                if row is not None:
                    s.delete(row)

        self._retry("release_commit", release)

    # -- reads ---------------------------------------------------------------------------------
    def latest_suite_runs(self, dag_id: str, run_id: str, *, kinds: Sequence[str] | None = None) -> list[SuiteRun]:
        """Suite runs of one DAG run, keeping only the newest try of each (task, map index, name)."""

        def read() -> list[SuiteRun]:
            newest = (
                select(SuiteRun.task_id, SuiteRun.map_index, SuiteRun.name, func.max(SuiteRun.try_number).label("t"))
                .where(SuiteRun.dag_id == dag_id, SuiteRun.run_id == run_id)
                .group_by(SuiteRun.task_id, SuiteRun.map_index, SuiteRun.name)
                .subquery()
            )
            q = (
                select(SuiteRun)
                .join(newest, (SuiteRun.task_id == newest.c.task_id) & (SuiteRun.map_index == newest.c.map_index)
                      & (SuiteRun.name == newest.c.name) & (SuiteRun.try_number == newest.c.t))
                .where(SuiteRun.dag_id == dag_id, SuiteRun.run_id == run_id)
                .options(selectinload(SuiteRun.test_cases), selectinload(SuiteRun.checks), selectinload(SuiteRun.metrics))
                .order_by(SuiteRun.started_at, SuiteRun.id)
            )
            if kinds:
                q = q.where(SuiteRun.kind.in_(kinds))
            with Session(self.engine, expire_on_commit=False) as s:
                return list(s.scalars(q))

        return self._retry("latest_suite_runs", read)

    def previous_metric(
        self, *, target: str, branch: str, suite_name: str, metric: str, exclude_run_id: str, before: datetime
    ) -> tuple[float, str] | None:
        """The newest value of ``metric`` for ``suite_name`` on ``branch`` from an earlier DAG run that
        completed (PASS or FAIL), with that run's commit sha; None when there is none."""

        def read() -> tuple[float, str] | None:
            q = (
                select(Metric.value, SuiteRun.commit_sha)
                .join(SuiteRun)
                .where(
                    SuiteRun.target == target, SuiteRun.branch == branch, SuiteRun.name == suite_name,
                    SuiteRun.run_id != exclude_run_id, SuiteRun.status.in_(("PASS", "FAIL")),
                    SuiteRun.finished_at < before, Metric.name == metric,
                )
                .order_by(SuiteRun.finished_at.desc(), SuiteRun.id.desc())
                .limit(1)
            )
            with Session(self.engine) as s:
                row = s.execute(q).first()
            return None if row is None else (float(row[0]), row[1] or "")

        return self._retry("previous_metric", read)

    def previous_suite_run(
        self, *, target: str, kind: str, name: str, exclude_run_id: str, statuses: Sequence[str] = ("PASS", "WARN")
    ) -> SuiteRun | None:
        """The newest earlier run of suite ``name`` on ``target`` with one of ``statuses`` (metrics loaded)."""

        def read() -> SuiteRun | None:
            with Session(self.engine, expire_on_commit=False) as s:
                return s.scalars(
                    select(SuiteRun)
                    .where(SuiteRun.target == target, SuiteRun.kind == kind, SuiteRun.name == name,
                           SuiteRun.run_id != exclude_run_id, SuiteRun.status.in_(tuple(statuses)))
                    .options(selectinload(SuiteRun.metrics))
                    .order_by(SuiteRun.finished_at.desc(), SuiteRun.id.desc())
                    .limit(1)
                ).first()

        return self._retry("previous_suite_run", read)

    # -- baselines -----------------------------------------------------------------------------
    def accept_baseline(
        self, *, kind: str, subject: str, run_id: str, suite_name: str, accepted_by: str, note: str | None = None
    ) -> int:
        """Make the newest try of ``suite_name`` in DAG run ``run_id`` the accepted baseline for
        (``kind``, ``subject``); only a run that passed (PASS or WARN) can become one. Returns its id."""

        def accept() -> int:
            with self._session.begin() as s:
                row = s.scalars(
                    select(SuiteRun)
                    .where(SuiteRun.run_id == run_id, SuiteRun.name == suite_name)
                    .order_by(SuiteRun.try_number.desc(), SuiteRun.id.desc())
                    .limit(1)
                ).first()
                if row is None:
                    raise AssayError(f"no suite run {suite_name!r} recorded for run {run_id!r}")
                if row.status not in ("PASS", "WARN"):
                    raise AssayError(
                        f"run {run_id!r} suite {suite_name!r} is {row.status}; only a passing run can be a baseline"
                    )
                baseline = Baseline(kind=kind, subject=subject, suite_run_id=row.id, accepted_by=accepted_by,
                                    accepted_at=datetime.now(UTC), note=note)
                s.add(baseline)
                s.flush()
                return baseline.id

        return self._retry("accept_baseline", accept)

    def current_baseline(self, *, kind: str, subject: str) -> tuple[Baseline, SuiteRun] | None:
        """The newest accepted baseline for (``kind``, ``subject``) and its suite run (metrics loaded)."""

        def read() -> tuple[Baseline, SuiteRun] | None:
            with Session(self.engine, expire_on_commit=False) as s:
                baseline = s.scalars(
                    select(Baseline).where(Baseline.kind == kind, Baseline.subject == subject)
                    .order_by(Baseline.accepted_at.desc(), Baseline.id.desc()).limit(1)
                ).first()
                if baseline is None:
                    return None
                run = s.scalars(
                    select(SuiteRun).where(SuiteRun.id == baseline.suite_run_id)
                    .options(selectinload(SuiteRun.metrics), selectinload(SuiteRun.checks))
                ).one()
                return baseline, run

        return self._retry("current_baseline", read)
