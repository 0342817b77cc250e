"""The repository API operators call: ``record_suite_run`` and the few queries gates and alerts need.

Writes are idempotent on (dag_id, run_id, task_id, map_index, try_number, suite name): the suite run is
one atomic upsert on that unique key (``INSERT ... ON CONFLICT DO UPDATE``), and its children are
replaced in the same transaction, so a retried write, an outbox flush, or several workers writing the
same key at once never duplicate rows. Transient failures (connection lost, server restarting, lock or
serialization conflicts) are retried with exponential backoff (tenacity); if the database stays down,
``StoreUnavailable`` is raised and the caller parks the record in the outbox. A record the database will
never take (a value longer than its column, a constraint it breaks) raises ``RecordRejected`` at once.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, String, Table, create_engine, delete, event, func, insert, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, StatementError
from sqlalchemy.orm import Session, selectinload, sessionmaker
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from assay.errors import AssayError, ConfigError
from assay.store.models import (
    Baseline,
    Check,
    Deletion,
    Evidence,
    Finding,
    Metric,
    SuiteRun,
    TestCase,
    WatchedCommit,
)
from assay.store.records import SuiteRunRecord

log = logging.getLogger(__name__)
T = TypeVar("T")

COVERAGE_METRIC = "coverage.line_percent"
FILE_COVERAGE_METRIC = "coverage.file_line_percent"

# What a baseline of each kind must be: (suite run kind, suite name); its target must be the subject.
BASELINE_SUITES = {"model": ("model_validation", "model_validation"), "performance": ("performance", "load_test")}

# SQLSTATE classes a retry can outlive: connection exception, transaction rollback (serialization
# failure, deadlock), insufficient resources, operator intervention (shutdown, cannot connect now),
# system error. Anything else the server said (data exception 22, integrity 23, program limit 54...)
# is an answer about the statement, which a retry cannot change.
TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57", "58")
TRANSIENT_SQLITE_ERRORS = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_CANTOPEN",
    "SQLITE_IOERR",
    "SQLITE_FULL",
    "SQLITE_PROTOCOL",
    "SQLITE_READONLY",
)
# ... and those that say the record itself cannot be stored (it goes to the dead-letter directory).
REJECTING_SQLSTATE_CLASSES = ("22", "23", "54")


class StoreUnavailable(AssayError):
    """The metrics database could not be reached after every retry (a retry of the task may succeed)."""

    retryable = True


class RecordRejected(AssayError):
    """The metrics database refuses this record for good (a value too long for its column, a broken
    constraint); writing it again cannot succeed, so it is set aside rather than retried."""

    retryable = False


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


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "pgcode", None)


def _is_transient(exc: BaseException) -> bool:
    """A failure a retry can outlive: the server down or restarting, a lost connection, a lock."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    code = _sqlstate(exc)
    if code:
        return code[:2] in TRANSIENT_SQLSTATE_CLASSES
    sqlite_error = getattr(exc.orig, "sqlite_errorname", None)
    if sqlite_error:
        return sqlite_error.startswith(TRANSIENT_SQLITE_ERRORS)
    return isinstance(exc, OperationalError)


def _rejection(exc: BaseException) -> str | None:
    """Why the database refuses the statement's values for good, or None if the failure is not about them."""
    if isinstance(exc, DBAPIError):
        code = _sqlstate(exc)
        if (code and code[:2] in REJECTING_SQLSTATE_CLASSES) or (not code and isinstance(exc, IntegrityError)):
            return str(exc.orig).strip().splitlines()[0]
        return None
    if isinstance(exc, StatementError):  # a value the driver could not even bind (not JSON-safe, wrong type)
        return f"{type(exc.orig).__name__}: {exc.orig}"
    return None


def _bounded_columns(table: Table) -> dict[str, int]:
    return {c.key: c.type.length for c in table.columns if isinstance(c.type, String) and c.type.length}


_BOUNDED = {
    m.__table__.name: _bounded_columns(m.__table__)
    for m in (SuiteRun, TestCase, Check, Metric, Finding, Evidence, Deletion)
}


def check_lengths(table: str, values: dict[str, Any]) -> None:
    """Refuse a value longer than its column, on every database: PostgreSQL would refuse it, SQLite
    would silently keep it, and a test on SQLite would never see what production does."""
    for column, limit in _BOUNDED[table].items():
        value = values.get(column)
        if isinstance(value, str) and len(value) > limit:
            raise RecordRejected(
                f"{table}.{column} holds at most {limit} characters; this value has {len(value)}: {value[:80]!r}"
            )


def _storable(values: dict[str, Any]) -> dict[str, Any]:
    """PostgreSQL text cannot hold NUL (psycopg2 refuses the whole statement; SQLite keeps it): a NUL in
    a tool's output is stored as U+FFFD on every database."""
    return {k: v.replace("\x00", "\ufffd") if isinstance(v, str) else v for k, v in values.items()}


def _suite_run_values(rec: SuiteRunRecord) -> dict[str, Any]:
    k = rec.key
    return _storable(
        dict(
            kind=rec.kind,
            name=rec.name,
            target=rec.target,
            commit_sha=rec.commit_sha,
            branch=rec.branch,
            model_version=rec.model_version,
            dataset=rec.dataset,
            dag_id=k.dag_id,
            run_id=k.run_id,
            task_id=k.task_id,
            map_index=k.map_index,
            try_number=k.try_number,
            started_at=rec.started_at,
            finished_at=rec.finished_at,
            status=rec.status,
            message=rec.message,
            summary=rec.summary,
        )
    )


_KEY_COLUMNS = ("dag_id", "run_id", "task_id", "map_index", "try_number", "name")
_CHILDREN = ((TestCase, "test_cases"), (Check, "checks"), (Metric, "metrics"))
_LIFECYCLE = ("fingerprint", "state", "first_seen_at")  # assay_finding columns of revision 0004


def _evidence_values(ev: Any) -> dict[str, Any]:
    """An evidence row's columns; ``finding_index`` becomes ``finding_id`` once the findings are written."""
    values = {k: v for k, v in vars(ev).items() if k != "finding_index"}
    return _storable(values)


class MetricsStore:
    def __init__(
        self,
        url: str,
        *,
        attempts: int = 5,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``attempts`` tries per operation, waiting ``backoff_s`` after the first failure and doubling up
        to ``max_backoff_s``; ``sleep`` is how it waits (injectable for tests)."""
        self.url = url
        self.engine = make_engine(url)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.sleep = sleep
        self._schema_ready = False
        self._tables_seen: set[str] = set()

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
    def read(self, what: str, fn: Callable[[], T]) -> T:
        """Run the read ``fn()`` with this store's retries (for queries that live outside this class: the
        Assay page's, the alert rules'): ``StoreUnavailable`` when the database stays unreachable."""
        return self._retry(what, fn)

    def _retry(self, what: str, fn: Callable[[], T]) -> T:
        """``fn()``, retried with exponential backoff while it fails transiently; ``StoreUnavailable``
        when every attempt did. Any other error is raised at once."""

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "metrics DB %s failed (attempt %d/%d), retrying in %.1fs: %s",
                what,
                state.attempt_number,
                self.attempts,
                state.upcoming_sleep,
                getattr(exc, "orig", exc),
            )
            self.engine.dispose()

        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff_s, max=self.max_backoff_s),
            retry=retry_if_exception(_is_transient),
            before_sleep=before_sleep,
            sleep=self.sleep,
            reraise=True,
        )
        try:
            return retrying(fn)
        except DBAPIError as exc:
            if _is_transient(exc):
                raise StoreUnavailable(
                    f"metrics database unreachable for {what} after {self.attempts} attempts: "
                    f"{getattr(exc, 'orig', exc)}"
                ) from exc
            raise

    # -- writes --------------------------------------------------------------------------------
    def record_suite_run(self, record: SuiteRunRecord) -> int:
        """Write one suite run with its test cases, checks, metrics, findings and evidence (each evidence row
        linked to its finding); return its id.

        Raises ``StoreUnavailable`` when the database stays unreachable and ``RecordRejected`` when it
        refuses the record itself (the message names the column or constraint)."""
        what = f"the metrics DB refused suite run {record.name[:120]!r} of task {record.key.task_id!r}"
        try:
            return self._retry("record_suite_run", lambda: self._write(record))
        except RecordRejected as exc:
            raise RecordRejected(f"{what}: {exc}") from exc
        except (DBAPIError, StatementError) as exc:
            reason = _rejection(exc)
            if reason is None:
                raise
            raise RecordRejected(f"{what}: {reason}") from exc

    def _write(self, rec: SuiteRunRecord) -> int:
        values = _suite_run_values(rec)
        check_lengths(SuiteRun.__tablename__, values)
        children = {model: [_storable(vars(item)) for item in getattr(rec, attr)] for model, attr in _CHILDREN}
        # the lifecycle columns (revision 0004) only where a finding has them: a compliance finding writes
        # none, so it is also stored by a schema that predates them
        findings = [
            {k: v for k, v in _storable(vars(item)).items() if v is not None or k not in _LIFECYCLE}
            for item in rec.findings
        ]
        evidence = [(ev.finding_index, _evidence_values(ev)) for ev in rec.evidence]
        deletions = [_storable(vars(d)) for d in rec.deletions]
        for model, rows in [
            *children.items(),
            (Finding, findings),
            (Evidence, [row for _, row in evidence]),
            (Deletion, deletions),
        ]:
            for row in rows:
                check_lengths(model.__tablename__, row)
        dialect_insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        upsert = dialect_insert(SuiteRun.__table__).values(**values)
        upsert = upsert.on_conflict_do_update(
            index_elements=list(_KEY_COLUMNS),
            set_={c: upsert.excluded[c] for c in values if c not in _KEY_COLUMNS},
        ).returning(SuiteRun.__table__.c.id)
        with self._session.begin() as s:
            # The upsert locks the suite run's row (or waits for a concurrent writer of the same key to
            # commit), so replacing its children below is never interleaved with another writer's.
            run_id = s.execute(upsert).scalar_one()
            # evidence first: it refers to findings; a table of a later revision (evidence 0003, deletions
            # 0005) is only replaced where the schema has it, so a record without such rows is also stored
            # by a schema that predates it
            later = [m for m, rows in ((Evidence, evidence), (Deletion, deletions)) if rows or self._has_table(s, m)]
            replaced = (*later, Finding, *children)
            for model in replaced:
                s.execute(delete(model.__table__).where(model.__table__.c.suite_run_id == run_id))
            for model, rows in children.items():
                if rows:
                    s.execute(insert(model.__table__), [row | {"suite_run_id": run_id} for row in rows])
            finding_ids: list[int] = []
            if findings:
                table = Finding.__table__
                finding_ids = list(
                    s.execute(
                        insert(table).returning(table.c.id, sort_by_parameter_order=True),
                        [row | {"suite_run_id": run_id} for row in findings],
                    ).scalars()
                )
            if evidence:
                rows = [
                    row | {"suite_run_id": run_id, "finding_id": None if index is None else finding_ids[index]}
                    for index, row in evidence
                ]
                s.execute(insert(Evidence.__table__), rows)
            if deletions:
                s.execute(insert(Deletion.__table__), [row | {"suite_run_id": run_id} for row in deletions])
            return run_id

    def _has_table(self, session: Session, model: type) -> bool:
        """Whether the schema has ``model``'s table (one added by a later revision); remembered once it has."""
        name = model.__tablename__
        if name not in self._tables_seen and inspect(session.connection()).has_table(name):
            self._tables_seen.add(name)
        return name in self._tables_seen

    def claim_commit(self, *, target: str, branch: str, sha: str, run_id: str) -> bool:
        """Remember that ``sha`` of ``target`` was handed to a run; False if it already was."""

        def claim() -> bool:
            try:
                with self._session.begin() as s:
                    s.add(
                        WatchedCommit(
                            target=target, branch=branch, sha=sha, seen_at=datetime.now(UTC), triggered_run_id=run_id
                        )
                    )
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
                row = s.scalars(
                    select(WatchedCommit).where(WatchedCommit.target == target, WatchedCommit.sha == sha)
                ).one_or_none()
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
                .join(
                    newest,
                    (SuiteRun.task_id == newest.c.task_id)
                    & (SuiteRun.map_index == newest.c.map_index)
                    & (SuiteRun.name == newest.c.name)
                    & (SuiteRun.try_number == newest.c.t),
                )
                .where(SuiteRun.dag_id == dag_id, SuiteRun.run_id == run_id)
                .options(
                    selectinload(SuiteRun.test_cases),
                    selectinload(SuiteRun.checks),
                    selectinload(SuiteRun.metrics),
                    selectinload(SuiteRun.findings).selectinload(Finding.evidence_rows),
                    selectinload(SuiteRun.evidence),
                    selectinload(SuiteRun.deletions),
                )
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
                    SuiteRun.target == target,
                    SuiteRun.branch == branch,
                    SuiteRun.name == suite_name,
                    SuiteRun.run_id != exclude_run_id,
                    SuiteRun.status.in_(("PASS", "FAIL")),
                    SuiteRun.finished_at < before,
                    Metric.name == metric,
                )
                .order_by(SuiteRun.finished_at.desc(), SuiteRun.id.desc())
                .limit(1)
            )
            with Session(self.engine) as s:
                row = s.execute(q).first()
            return None if row is None else (float(row[0]), row[1] or "")

        return self._retry("previous_metric", read)

    def previous_suite_run(
        self,
        *,
        target: str,
        kind: str,
        name: str,
        exclude_run_id: str,
        statuses: Sequence[str] = ("PASS", "WARN"),
        without_check: tuple[str, str] | None = None,
    ) -> SuiteRun | None:
        """The newest earlier run of suite ``name`` on ``target`` with one of ``statuses`` (metrics loaded);
        ``without_check=(name, status)`` passes over runs that have that check with that status (a load test
        whose ``machine.undisturbed`` was WARN is no baseline: its figures are the noise's)."""

        def read() -> SuiteRun | None:
            conditions = [
                SuiteRun.target == target,
                SuiteRun.kind == kind,
                SuiteRun.name == name,
                SuiteRun.run_id != exclude_run_id,
                SuiteRun.status.in_(tuple(statuses)),
            ]
            if without_check is not None:
                check_name, check_status = without_check
                conditions.append(~SuiteRun.checks.any((Check.name == check_name) & (Check.status == check_status)))
            with Session(self.engine, expire_on_commit=False) as s:
                return s.scalars(
                    select(SuiteRun)
                    .where(*conditions)
                    .options(selectinload(SuiteRun.metrics))
                    .order_by(SuiteRun.finished_at.desc(), SuiteRun.id.desc())
                    .limit(1)
                ).first()

        return self._retry("previous_suite_run", read)

    def security_history(
        self, *, target: str, scanner: str, exclude_run_id: str, fingerprints: Sequence[str]
    ) -> tuple[str | None, dict[str, dict[str, Any]], dict[str, datetime]]:
        """What a security scan of ``scanner`` on ``target`` compares with: the run id of the newest earlier
        complete scan (not ERROR; another DAG run), its findings (fingerprint -> rule_id, location,
        severity) and, for each of ``fingerprints`` ever recorded before, when it was first seen."""

        def read() -> tuple[str | None, dict[str, dict[str, Any]], dict[str, datetime]]:
            scope = (
                SuiteRun.target == target,
                SuiteRun.kind == "security",
                SuiteRun.name == scanner,
                SuiteRun.run_id != exclude_run_id,
            )
            with Session(self.engine, expire_on_commit=False) as s:
                prev = s.scalars(
                    select(SuiteRun)
                    .where(*scope, SuiteRun.status.in_(("PASS", "WARN", "FAIL")))
                    .options(selectinload(SuiteRun.findings))
                    .order_by(SuiteRun.finished_at.desc(), SuiteRun.id.desc())
                    .limit(1)
                ).first()
                findings = {
                    f.fingerprint: {"rule_id": f.rule_id, "location": f.resource, "severity": f.severity}
                    for f in (prev.findings if prev else [])
                    if f.fingerprint
                }
                first_seen: dict[str, datetime] = {}
                wanted = sorted(set(fingerprints))
                for i in range(0, len(wanted), 500):
                    q = (
                        select(Finding.fingerprint, func.min(func.coalesce(Finding.first_seen_at, SuiteRun.started_at)))
                        .join(SuiteRun)
                        .where(*scope, Finding.fingerprint.in_(wanted[i : i + 500]))
                        .group_by(Finding.fingerprint)
                    )
                    for fp, when in s.execute(q):
                        first_seen[fp] = when if when.tzinfo else when.replace(tzinfo=UTC)
            return (prev.run_id if prev else None), findings, first_seen

        return self._retry("security_history", read)

    # -- baselines -----------------------------------------------------------------------------
    def accept_baseline(
        self,
        *,
        kind: str,
        subject: str,
        run_id: str,
        accepted_by: str,
        note: str | None = None,
        suite_name: str | None = None,
    ) -> int:
        """Make the newest try of ``subject``'s suite run in DAG run ``run_id`` the accepted baseline for
        (``kind``, ``subject``); returns its id.

        What a baseline of each kind is comes from ``BASELINE_SUITES``: a ``model`` baseline is a
        ``model_validation`` run whose target is the model, a ``performance`` baseline a ``load_test``
        run of the target. Anything else, and a run that did not pass (PASS or WARN), is refused with a
        ``ConfigError`` that lists what the run did record."""
        if kind not in BASELINE_SUITES:
            raise ConfigError(f"baseline kind {kind!r} is not one of {sorted(BASELINE_SUITES)}")
        suite_kind, suite = BASELINE_SUITES[kind]
        if suite_name not in (None, "", suite):
            raise ConfigError(f"a {kind} baseline is a {suite!r} suite run, not {suite_name!r}")

        def accept() -> int:
            with self._session.begin() as s:
                rows = s.scalars(
                    select(SuiteRun)
                    .where(SuiteRun.run_id == run_id)
                    .order_by(SuiteRun.try_number.desc(), SuiteRun.id.desc())
                ).all()
                row = next((r for r in rows if (r.kind, r.name, r.target) == (suite_kind, suite, subject)), None)
                if row is None:
                    raise ConfigError(_no_matching_run(kind, subject, run_id, rows))
                if row.status not in ("PASS", "WARN"):
                    raise ConfigError(
                        f"run {run_id!r}: the {suite} run of {subject!r} is {row.status}; only a passing run "
                        "(PASS or WARN) can be a baseline"
                    )
                baseline = Baseline(
                    kind=kind,
                    subject=subject,
                    suite_run_id=row.id,
                    accepted_by=accepted_by,
                    accepted_at=datetime.now(UTC),
                    note=note,
                )
                s.add(baseline)
                s.flush()
                return baseline.id

        return self._retry("accept_baseline", accept)

    def duration_runs(self, *, target: str, suite: str, limit: int = 3) -> tuple[list[int], float | None]:
        """The newest ``limit`` complete (PASS or FAIL) runs of pytest suite ``suite`` on ``target`` that
        recorded test cases, newest first, and the total test time of the newest PASS among them (None when
        none passed): what a sharded run balances by (:mod:`assay.engines.per_commit.sharding`)."""

        def read() -> tuple[list[int], float | None]:
            with Session(self.engine) as s:
                runs = s.execute(
                    select(SuiteRun.id, SuiteRun.status)
                    .where(
                        SuiteRun.target == target,
                        SuiteRun.kind == "pytest",
                        SuiteRun.name == suite,
                        SuiteRun.status.in_(("PASS", "FAIL")),
                        SuiteRun.test_cases.any(),
                    )
                    .order_by(SuiteRun.finished_at.desc(), SuiteRun.id.desc())
                    .limit(limit)
                ).all()
                passed = next((rid for rid, status in runs if status == "PASS"), None)
                total = None
                if passed is not None:
                    total = s.scalar(select(func.sum(TestCase.duration_s)).where(TestCase.suite_run_id == passed))
            return [rid for rid, _ in runs], None if total is None else float(total)

        return self._retry("duration_runs", read)

    def test_durations(self, run_ids: Sequence[int]) -> dict[str, float]:
        """Each test's recorded duration (seconds) in the suite runs ``run_ids`` (newest first): the newest
        run that has a test decides its duration."""

        def read() -> dict[str, float]:
            if not run_ids:
                return {}
            with Session(self.engine) as s:
                rows = s.execute(
                    select(TestCase.suite_run_id, TestCase.node_id, TestCase.duration_s).where(
                        TestCase.suite_run_id.in_(list(run_ids))
                    )
                ).all()
            rank = {rid: i for i, rid in enumerate(run_ids)}
            best: dict[str, tuple[int, float]] = {}
            for rid, node, duration in rows:
                if node not in best or rank[rid] < best[node][0]:
                    best[node] = (rank[rid], float(duration or 0.0))
            return {node: d for node, (_, d) in best.items()}

        return self._retry("test_durations", read)

    def current_baseline(self, *, kind: str, subject: str) -> tuple[Baseline, SuiteRun] | None:
        """The newest accepted baseline for (``kind``, ``subject``) and its suite run (metrics loaded).

        Only a baseline whose run is what ``kind`` means for ``subject`` counts (see ``accept_baseline``):
        one accepted before those checks existed from another suite or subject is passed over."""
        suite_kind, suite = BASELINE_SUITES[kind]

        def read() -> tuple[Baseline, SuiteRun] | None:
            with Session(self.engine, expire_on_commit=False) as s:
                found = s.execute(
                    select(Baseline, SuiteRun)
                    .join(SuiteRun, SuiteRun.id == Baseline.suite_run_id)
                    .where(
                        Baseline.kind == kind,
                        Baseline.subject == subject,
                        SuiteRun.kind == suite_kind,
                        SuiteRun.name == suite,
                        SuiteRun.target == subject,
                    )
                    .options(selectinload(SuiteRun.metrics), selectinload(SuiteRun.checks))
                    .order_by(Baseline.accepted_at.desc(), Baseline.id.desc())
                    .limit(1)
                ).first()
                return None if found is None else (found[0], found[1])

        return self._retry("current_baseline", read)


def _no_matching_run(kind: str, subject: str, run_id: str, rows: Sequence[SuiteRun]) -> str:
    suite_kind, suite = BASELINE_SUITES[kind]
    wanted = f"a {kind} baseline of {subject!r} is a {suite!r} run (kind {suite_kind!r}) whose target is {subject!r}"
    if not rows:
        return f"no suite run is recorded for run {run_id!r}; {wanted}"
    seen = sorted({f"{r.name} of {r.target!r} ({r.kind}, {r.status})" for r in rows})
    return f"run {run_id!r} recorded {', '.join(seen)}; {wanted}"
