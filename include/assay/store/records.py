"""Plain, JSON-safe records that operators hand to the store (and to the outbox when it is down)."""

from __future__ import annotations

import hashlib
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

    def __post_init__(self) -> None:
        _redacted(self, "resource", "title", "evidence")


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

    def __post_init__(self) -> None:
        _status_value(self)
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
        d["findings"] = tuple(FindingRecord(**f) for f in d.get("findings", ()))
        return cls(**d)
