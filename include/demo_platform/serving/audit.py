"""The audit trail: one record per API action, written for successes, denials and failures alike.

``AuditMiddleware`` turns every request except ``/health`` into an :class:`AuditEntry` after the
response is known. While the database is unreachable, entries wait in a bounded in-memory queue
and are written, in order, by the first write that succeeds again, so an outage leaves no gap.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response

from serving.db import Database
from serving.errors import DatabaseUnavailable
from serving.tables import AuditRecord, as_utc, utcnow

log = logging.getLogger(__name__)
UNAUDITED_PATHS = frozenset({"/health"})
ANONYMOUS = "anonymous"


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
    """Writes audit entries to the database, queueing them while it is down."""

    def __init__(self, db: Database, max_pending: int = 10_000) -> None:
        self._db = db
        self._pending: deque[AuditEntry] = deque(maxlen=max_pending)
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def record(self, entry: AuditEntry) -> bool:
        """Store the entry (and any queued ones); False if it had to be queued."""
        with self._lock:
            if len(self._pending) == self._pending.maxlen:
                log.error("audit queue full while the database is down; dropping %s", self._pending[0])
            self._pending.append(entry)
            return self._flush_locked()

    def flush(self) -> bool:
        with self._lock:
            return self._flush_locked()

    def _flush_locked(self) -> bool:
        if not self._pending:
            return True
        batch = list(self._pending)
        try:
            with self._db.session() as session:
                session.add_all(AuditRecord(**_columns(e)) for e in batch)
        except DatabaseUnavailable:
            return False
        for _ in batch:
            self._pending.popleft()
        return True

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
    )


class AuditMiddleware(BaseHTTPMiddleware):
    """Record every request as an action: the route's name, the caller, the outcome."""

    def __init__(self, app: object, audit_log: AuditLog) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self._audit = audit_log

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.url.path in UNAUDITED_PATHS:
            return await call_next(request)
        request_id = uuid.uuid4().hex
        request.state.request_id = request_id
        status_code = 500
        try:
            response = await call_next(request)
            status_code = response.status_code
            response.headers["X-Request-ID"] = request_id
            return response
        finally:
            route = request.scope.get("route")
            entry = AuditEntry(
                occurred_at=utcnow(),
                actor=getattr(request.state, "actor", ANONYMOUS),
                action=getattr(route, "name", None) or "unknown-route",
                resource=request.url.path,
                outcome=outcome_for(status_code),
                status_code=status_code,
                method=request.method,
                request_id=request_id,
            )
            await run_in_threadpool(self._audit.record, entry)
