"""The result every performance engine returns: an :class:`assay.results.Result` judged by its checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assay.results import Result
from assay.status import Status, worst
from assay.store.records import CheckRecord


@dataclass(kw_only=True)
class PerformanceResult(Result):
    """One performance suite run (``suite_kind``: load test, pipeline load, micro-benchmark or mutation test).

    Its status is the worst of its checks; with no check at all it is ERROR (nothing was judged).
    ``details`` carries engine-specific, JSON-safe facts (argv, window, artefact paths).
    """

    kind: str = "performance"
    suite_kind: str
    log_path: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    status: Status = field(init=False)
    summary: dict[str, Any] = field(init=False)

    def derive(self) -> None:
        self.status = worst(c.status for c in self.checks)
        self.summary = {
            "suite_kind": self.suite_kind,
            "counts": self.counts,
            "log_path": self.log_path,
            "details": self.details,
        }

    @property
    def counts(self) -> dict[str, int]:
        judged = [c for c in self.checks if c.status != Status.SKIP]
        ok = sum(1 for c in judged if c.status == Status.PASS)
        return {"evaluated": len(judged), "successful": ok, "unsuccessful": len(judged) - ok}


def summarise(checks: list[CheckRecord]) -> str:
    """The messages of the checks that did not pass, one per line; when all passed, all of them."""
    bad = [c for c in checks if c.status not in (Status.PASS, Status.SKIP)]
    return "\n".join(f"{c.status}: {c.name}: {c.message}" for c in (bad or checks) if c.message)
