"""The audit trail: one record per API action, written for successes, denials and failures alike.

``AuditMiddleware`` turns every request except ``/health`` into an :class:`AuditEntry` once the
response status is known, and a writer thread inserts the entries in batches before the responses
leave. While the database is unreachable, entries wait in a bounded in-memory queue and are written,
in order, by the first write that succeeds again, so an outage leaves no gap. When the queue is full the
middleware refuses new requests with 503 (and logs it) rather than drop an entry.

Each record gets the next sequence number and a hash over its fields and the previous record's hash
(:func:`chain_hash`), so deleting or editing a row breaks the chain where it happened.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from starlette.datastructures import URL, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.db import Database
from serving.errors import DatabaseUnavailable
from serving.tables import AuditChainHead, AuditRecord, as_utc, utcnow

log = logging.getLogger(__name__)
UNAUDITED_PATHS = frozenset({"/health"})
ANONYMOUS = "anonymous"
GENESIS_HASH = "0" * 64
# The fields each record's hash covers, in this order, after the previous record's hash.
CHAIN_FIELDS = ("seq", "occurred_at", "actor", "action", "resource", "outcome", "status_code", "method", "request_id")


def _canonical(value: object) -> object:
    if isinstance(value, datetime):
        return as_utc(value).isoformat(timespec="microseconds")
    return value


def chain_hash(prev_hash: str, values: Sequence[object]) -> str:
    """SHA-256 hex of the JSON array ``[prev_hash, *values]`` (datetimes as UTC ISO 8601 with microseconds,
    compact separators): what an auditor recomputes to verify the chain."""
    payload = json.dumps([prev_hash, *(_canonical(v) for v in values)], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def outcome_for(status_code: int) -> str:
    """Classify a response status for the audit trail."""
    if status_code < 400:
        return "success"
    if status_code in (401, 403):
        return "denied"
    if status_code == 429:
        return "throttled"
    if status_code < 500:
        return "rejected"
    if status_code == 503:
        return "unavailable"
    return "error"


@dataclass(frozen=True)
class AuditEntry:
    occurred_at: datetime
    actor: str
    action: str
    resource: str
    outcome: str
    status_code: int
    method: str
    request_id: str
    subject_id: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "occurred_at": as_utc(self.occurred_at).isoformat(),
            "actor": self.actor,
            "action": self.action,
            "resource": self.resource,
            "outcome": self.outcome,
            "status_code": self.status_code,
            "method": self.method,
            "request_id": self.request_id,
        }


class AuditLog:
    """Writes audit entries to the database in arrival order, queueing them while it is down.

    Entries join one in-memory queue, and a write takes everything queued so far and inserts it in one
    transaction, so entries that arrive together share a commit. The API hands its entries to
    :meth:`submit`: a writer thread does the writes, off the event loop, and the request awaits the write
    that holds its entry, so the entry is in the database before the response leaves. When that write
    fails (database down), the entries stay queued, in order, for the next write: the next entry's, or
    :meth:`flush` once the database is back.
    """

    def __init__(self, db: Database, max_pending: int = 10_000) -> None:
        self._db = db
        self.max_pending = max_pending
        self._pending: deque[AuditEntry] = deque()
        self._waiters: list[asyncio.Future[bool]] = []  # submit() callers whose entries are queued
        self._queue_lock = threading.Lock()  # guards _pending, _waiters and _writer; never held while writing
        self._write_lock = threading.Lock()  # one write at a time, so batches reach the database in order
        self._wake = threading.Event()
        self._writer: threading.Thread | None = None
        self._stop: threading.Event | None = None

    def ensure_chain_head(self) -> None:
        """Create the chain's head row if it is missing (workers starting together: the first one wins)."""
        from sqlalchemy.exc import IntegrityError

        try:
            with self._db.connection() as connection:
                if connection.execute(select(AuditChainHead.id).where(AuditChainHead.id == 1)).first() is None:
                    connection.execute(insert(AuditChainHead).values(id=1, seq=0, row_hash=GENESIS_HASH))
        except IntegrityError:
            pass
        except DatabaseUnavailable:
            log.warning("audit chain head not checked: the database is unavailable (the first write creates it)")

    @property
    def pending(self) -> int:
        """Entries not yet in the database (queued while it is down, or about to be written)."""
        return len(self._pending)

    @property
    def full(self) -> bool:
        """True when the queue holds ``max_pending`` entries: new requests are refused (503), none dropped."""
        return len(self._pending) >= self.max_pending

    def submit(self, entry: AuditEntry) -> asyncio.Future[bool]:
        """Queue the entry for the writer thread (from the event loop; never blocks on the database).

        The future resolves once a write that included the entry ended: True if it is in the database,
        False if the database was unavailable (the entry stays queued); an unexpected database error is
        raised from it.
        """
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        with self._queue_lock:
            self._enqueue_locked(entry)
            self._waiters.append(future)
            if self._writer is None:
                self._stop = threading.Event()
                self._writer = threading.Thread(
                    target=self._write_until_stopped, args=(self._stop,), name="audit-writer", daemon=True
                )
                self._writer.start()
        self._wake.set()
        return future

    def flush(self) -> bool:
        """Write everything queued, in this thread; False if the database is unavailable (all stays queued)."""
        with self._write_lock:
            with self._queue_lock:
                batch = list(self._pending)
                waiters, self._waiters = self._waiters, []
            try:
                written = self._write(batch)
            except Exception as exc:
                _settle(waiters, exc)
                raise
            if written:
                ids = {id(e) for e in batch}  # the queue may have dropped or gained entries meanwhile
                with self._queue_lock:
                    while self._pending and id(self._pending[0]) in ids:
                        self._pending.popleft()
        _settle(waiters, written)
        return written

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the writer thread (a later ``submit`` starts another) and write what is queued, if possible."""
        with self._queue_lock:
            writer, stop, self._writer, self._stop = self._writer, self._stop, None, None
        if writer is not None and stop is not None:
            stop.set()
            self._wake.set()
            writer.join(timeout_s)
        try:
            self.flush()
        except Exception:
            log.exception("writing the audit trail failed")
        if self._pending:
            log.error("%d audit entries could not be written before shutdown", self.pending)

    def _enqueue_locked(self, entry: AuditEntry) -> None:
        # Never dropped: the middleware refuses requests while the queue is full, so it exceeds max_pending
        # by at most the requests already in flight.
        self._pending.append(entry)

    def _write(self, batch: list[AuditEntry]) -> bool:
        if not batch:
            return True
        try:
            with self._db.connection() as connection:
                # Take the chain's write lock first: the head row's UPDATE waits for any other writer (another
                # worker process) and holds it until commit, on PostgreSQL (row lock) and on SQLite (where
                # SELECT ... FOR UPDATE is a no-op and a read-then-write transaction would race: two workers
                # read the same head and both write its next seq).
                connection.execute(update(AuditChainHead).where(AuditChainHead.id == 1).values(seq=AuditChainHead.seq))
                head = connection.execute(
                    select(AuditChainHead.seq, AuditChainHead.row_hash).where(AuditChainHead.id == 1).with_for_update()
                ).first()
                if head is None:
                    connection.execute(insert(AuditChainHead).values(id=1, seq=0, row_hash=GENESIS_HASH))
                    seq, prev = 0, GENESIS_HASH
                else:
                    seq, prev = head.seq, head.row_hash
                rows = []
                for entry in batch:
                    seq += 1
                    row = _columns(entry) | {"seq": seq, "prev_hash": prev}
                    row["row_hash"] = prev = chain_hash(prev, [row[f] for f in CHAIN_FIELDS])
                    rows.append(row)
                connection.execute(insert(AuditRecord), rows)
                connection.execute(update(AuditChainHead).where(AuditChainHead.id == 1).values(seq=seq, row_hash=prev))
        except DatabaseUnavailable:
            return False
        return True

    def _write_until_stopped(self, stop: threading.Event) -> None:
        while True:
            self._wake.wait()
            if stop.is_set():
                return
            self._wake.clear()  # before taking the batch: an entry queued after this wakes the next round
            try:
                self.flush()
            except Exception:  # already raised to the requests that waited; keep writing the next ones
                log.exception("writing the audit trail failed")

    def query(
        self, *, limit: int, actor: str | None = None, action: str | None = None, outcome: str | None = None
    ) -> list[AuditEntry]:
        """Most recent entries first, optionally filtered."""
        stmt = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
        if actor is not None:
            stmt = stmt.where(AuditRecord.actor == actor)
        if action is not None:
            stmt = stmt.where(AuditRecord.action == action)
        if outcome is not None:
            stmt = stmt.where(AuditRecord.outcome == outcome)
        with self._db.session() as session:
            return [_entry(r) for r in session.scalars(stmt)]


def _columns(entry: AuditEntry) -> dict[str, object]:
    return {
        "occurred_at": entry.occurred_at,
        "actor": entry.actor[:128],
        "action": entry.action[:64],
        "resource": entry.resource[:512],
        "outcome": entry.outcome,
        "status_code": entry.status_code,
        "method": entry.method[:8],
        "request_id": entry.request_id,
        "subject_id": entry.subject_id[:128] if entry.subject_id else None,
    }


def _entry(row: AuditRecord) -> AuditEntry:
    return AuditEntry(
        occurred_at=as_utc(row.occurred_at),
        actor=row.actor,
        action=row.action,
        resource=row.resource,
        outcome=row.outcome,
        status_code=row.status_code,
        method=row.method,
        request_id=row.request_id,
        subject_id=row.subject_id,
    )


def _settle(waiters: list[asyncio.Future[bool]], outcome: bool | BaseException) -> None:
    """Resolve ``submit`` futures from any thread, each on its own event loop."""
    for future in waiters:
        try:
            future.get_loop().call_soon_threadsafe(_settle_one, future, outcome)
        except RuntimeError:  # that loop is closed: its server has stopped, nobody waits any more
            pass


def _settle_one(future: asyncio.Future[bool], outcome: bool | BaseException) -> None:
    if future.done():  # the request was cancelled meanwhile; its entry is written or queued all the same
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


class AuditMiddleware:
    """Pure ASGI middleware: record every request as an action (the route's name, the caller, the outcome).

    The entry is written, by the audit log's writer thread, before the response starts, and the response
    carries the request's id in ``X-Request-ID``; an exception that escapes the app is recorded as 500.
    """

    def __init__(self, app: ASGIApp, audit_log: AuditLog, skip_outcomes: frozenset[str] = frozenset()) -> None:
        self.app = app
        self._audit = audit_log
        self._skip_outcomes = skip_outcomes  # a demo compliance fault: these outcomes go unrecorded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        resource = URL(scope=scope).path  # what Request.url.path gives
        if resource in UNAUDITED_PATHS:
            await self.app(scope, receive, send)
            return
        if self._audit.full:
            log.error(
                "audit queue full (%d entries waiting for the database): refusing %s %s with 503",
                self._audit.pending,
                scope["method"],
                resource,
            )
            await _refuse(send)
            return
        request_id = uuid.uuid4().hex
        state = scope.setdefault("state", {})  # Request.state of every handler: the actor lands here
        state["request_id"] = request_id
        recorded = False

        async def record(status_code: int) -> None:
            nonlocal recorded
            recorded = True
            route = scope.get("route")
            subject_id = state.get("subject_id")
            hidden = subject_id or state.get("redact")  # a subject id in the path is never kept in the trail
            entry = AuditEntry(
                occurred_at=utcnow(),
                actor=state.get("actor", ANONYMOUS),
                action=getattr(route, "name", None) or "unknown-route",
                # the subject is referenced only by subject_id (which erasure clears), never inside the path
                resource=resource.replace(hidden, "{subject_id}") if hidden else resource,
                outcome=outcome_for(status_code),
                status_code=status_code,
                method=scope["method"],
                request_id=request_id,
                subject_id=subject_id,
            )
            if entry.outcome in self._skip_outcomes and status_code in (401, 403):
                return
            await self._audit.submit(entry)

        async def send_with_audit(message: Message) -> None:
            if message["type"] == "http.response.start" and not recorded:
                await record(message["status"])
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_audit)
        finally:
            if not recorded:  # the app raised (or sent nothing): the server answers 500
                await record(500)


async def _refuse(send: Send) -> None:
    body = json.dumps({"detail": "audit trail backlog is full; request refused rather than left unaudited"}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"retry-after", b"5"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
