"""The result every performance engine returns: checks and metrics, with a JSON-safe summary."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from assay.status import Status, worst
from assay.store.records import CheckRecord, MetricRecord


@dataclass
class PerformanceResult:
    """One performance suite run (load test, pipeline load, micro-benchmark or mutation test).

    Its status is the worst of its checks; with no check at all it is ERROR (nothing was judged).
    ``details`` carries engine-specific, JSON-safe facts (argv, window, artefact paths).
    """

    name: str
    kind: str
    started_at: datetime
    finished_at: datetime
    checks: list[CheckRecord] = field(default_factory=list)
    metrics: list[MetricRecord] = field(default_factory=list)
    message: str = ""
    log_path: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> Status:
        return worst(c.status for c in self.checks)

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def counts(self) -> dict[str, int]:
        judged = [c for c in self.checks if c.status != Status.SKIP]
        ok = sum(1 for c in judged if c.status == Status.PASS)
        return {"evaluated": len(judged), "successful": ok, "unsuccessful": len(judged) - ok}

    def metric(self, name: str, **labels: Any) -> float | None:
        """The value of metric ``name`` whose labels include ``labels`` (None when absent)."""
        for m in self.metrics:
            if m.name == name and all(m.labels.get(k) == v for k, v in labels.items()):
                return m.value
        return None

    def check(self, name: str) -> CheckRecord | None:
        return next((c for c in self.checks if c.name == name), None)

    def describe_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status.value,
            "message": self.message,
            "duration_s": round(self.duration_s, 3),
            "counts": self.counts,
            "checks": [asdict(c) for c in self.checks],
            "metrics": [asdict(m) for m in self.metrics],
            "log_path": self.log_path,
            "details": self.details,
        }


def summarise(checks: list[CheckRecord]) -> str:
    """The messages of the checks that did not pass, one per line; when all passed, all of them."""
    bad = [c for c in checks if c.status not in (Status.PASS, Status.SKIP)]
    return "\n".join(f"{c.status}: {c.name}: {c.message}" for c in (bad or checks) if c.message)
