"""Plain, JSON-safe records that operators hand to the store (and to the outbox when it is down)."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from assay.redaction import redact
from assay.status import Status


def _status_value(obj: object) -> None:
    """Store statuses as their plain vocabulary word, whatever the caller passed (str or Status)."""
    object.__setattr__(obj, "status", Status(obj.status).value)  # type: ignore[attr-defined]


def _redacted(obj: object, *fields: str) -> None:
    """No credential in a URL reaches the DB, the outbox or an alert (``assay.redaction``)."""
    for name in fields:
        object.__setattr__(obj, name, redact(getattr(obj, name)))


@dataclass(frozen=True)
class RunKey:
    """Which task try wrote a record; writes are idempotent on this key plus the suite name."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1
    try_number: int = 1


@dataclass(frozen=True)
class TestCaseRecord:
    __test__ = False

    node_id: str
    outcome: str
    duration_s: float = 0.0
    message: str | None = None

    def __post_init__(self) -> None:
        _redacted(self, "message")


@dataclass(frozen=True)
class CheckRecord:
    name: str
    status: str
    observed: float | None = None
    threshold: float | None = None
    comparator: str | None = None
    severity: str = "error"
    message: str | None = None

    def __post_init__(self) -> None:
        _status_value(self)
        _redacted(self, "message")


@dataclass(frozen=True)
class MetricRecord:
    name: str
    value: float
    unit: str | None = None
    labels: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FindingRecord:
    source: str
    rule_id: str
    severity: str
    resource: str | None = None
    title: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    #: security findings: stable across scans of a target (lifecycle); state new / existing / suppressed
    fingerprint: str | None = None
    state: str | None = None
    first_seen_at: datetime | None = None

    def __post_init__(self) -> None:
        _redacted(self, "resource", "title", "evidence")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["first_seen_at"] = self.first_seen_at.isoformat() if self.first_seen_at else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FindingRecord:
        d = dict(data)
        if d.get("first_seen_at"):
            d["first_seen_at"] = datetime.fromisoformat(d["first_seen_at"])
        return cls(**d)


def evidence_sha256(content: Any) -> str:
    """SHA-256 of evidence content as canonical JSON (sorted keys, no spaces, unknown types as ``str``)."""
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def evidence_content(content: Any) -> Any:
    """Evidence content as it is stored and hashed: plain JSON (unknown types as their ``str``, as the hash
    takes them; NaN and infinities as null, which PostgreSQL's JSON cannot hold), URL credentials redacted.
    For content that is already plain JSON without credentials this is the content itself."""
    return _finite(redact(json.loads(json.dumps(content, default=str))))


@dataclass(frozen=True)
class DeletionRecord:
    """One thing Assay deleted because its retention ran out (table ``assay_deletion``): what (a dataset's
    snapshot at ``path``), when it was made and deleted, why, and how much."""

    dataset: str
    item: str  # e.g. "sample/20261101T020000Z-1a2b3c"
    path: str
    created_at: datetime
    deleted_at: datetime
    reason: str
    bytes: int = 0
    rows: int | None = None
    sha256: str | None = None

    def __post_init__(self) -> None:
        _redacted(self, "path", "reason")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["deleted_at"] = self.deleted_at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeletionRecord:
        d = dict(data)
        d["created_at"] = datetime.fromisoformat(d["created_at"])
        d["deleted_at"] = datetime.fromisoformat(d["deleted_at"])
        return cls(**d)


@dataclass(frozen=True)
class EvidenceRecord:
    """What a compliance check collected for one resource of one control (table ``assay_evidence``).

    ``finding_index`` is the index, in the same suite run's ``findings``, of the finding this evidence
    supports (None: evidence of a passing resource); the store turns it into ``assay_evidence.finding_id``.
    ``sha256`` is always the hash of ``content`` as stored (computed here, after redaction), so anyone can
    verify the row; the finding's ``evidence["evidence_sha256s"]`` lists the same hashes.
    """

    check_id: str
    control_id: str
    resource: str
    name: str
    method: str
    source: str
    collected_at: datetime
    expires_at: datetime
    content: Any = None
    finding_index: int | None = None
    sha256: str = ""

    def __post_init__(self) -> None:
        _redacted(self, "resource", "name", "source")
        object.__setattr__(self, "content", evidence_content(self.content))
        object.__setattr__(self, "sha256", evidence_sha256(self.content))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["collected_at"] = self.collected_at.isoformat()
        data["expires_at"] = self.expires_at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvidenceRecord:
        d = dict(data)
        d["collected_at"] = datetime.fromisoformat(d["collected_at"])
        d["expires_at"] = datetime.fromisoformat(d["expires_at"])
        return cls(**d)


@dataclass(frozen=True)
class SuiteRunRecord:
    key: RunKey
    kind: str
    name: str
    status: str
    started_at: datetime
    finished_at: datetime
    target: str | None = None
    commit_sha: str | None = None
    branch: str | None = None
    model_version: str | None = None
    dataset: str | None = None
    message: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    test_cases: tuple[TestCaseRecord, ...] = ()
    checks: tuple[CheckRecord, ...] = ()
    metrics: tuple[MetricRecord, ...] = ()
    findings: tuple[FindingRecord, ...] = ()
    evidence: tuple[EvidenceRecord, ...] = ()
    deletions: tuple[DeletionRecord, ...] = ()

    def __post_init__(self) -> None:
        _status_value(self)
        for i, ev in enumerate(self.evidence):
            if ev.finding_index is not None and not 0 <= ev.finding_index < len(self.findings):
                raise ValueError(
                    f"evidence [{i}] {ev.name!r} refers to finding {ev.finding_index}, but the run has "
                    f"{len(self.findings)} findings"
                )
        _redacted(self, "message", "summary")

    @property
    def idempotency_key(self) -> str:
        k = self.key
        raw = f"{k.dag_id}\x00{k.run_id}\x00{k.task_id}\x00{k.map_index}\x00{k.try_number}\x00{self.name}"
        return hashlib.sha256(raw.encode()).hexdigest()[:32]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["finished_at"] = self.finished_at.isoformat()
        data["findings"] = [f.to_dict() for f in self.findings]
        data["evidence"] = [e.to_dict() for e in self.evidence]
        data["deletions"] = [d.to_dict() for d in self.deletions]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SuiteRunRecord:
        d = dict(data)
        d["key"] = RunKey(**d["key"])
        d["started_at"] = datetime.fromisoformat(d["started_at"])
        d["finished_at"] = datetime.fromisoformat(d["finished_at"])
        d["test_cases"] = tuple(TestCaseRecord(**t) for t in d.get("test_cases", ()))
        d["checks"] = tuple(CheckRecord(**c) for c in d.get("checks", ()))
        d["metrics"] = tuple(MetricRecord(**m) for m in d.get("metrics", ()))
        d["findings"] = tuple(FindingRecord.from_dict(f) for f in d.get("findings", ()))
        d["evidence"] = tuple(EvidenceRecord.from_dict(e) for e in d.get("evidence", ()))
        d["deletions"] = tuple(DeletionRecord.from_dict(x) for x in d.get("deletions", ()))
        return cls(**d)
