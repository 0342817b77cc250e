"""The result every performance engine returns: an :class:`assay.results.Result` judged by its checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assay.engines.performance.machine_load import CHECK_NAME, DISTURBED, set_aside_noise
from assay.results import Result
from assay.status import Status, worst
from assay.store.records import CheckRecord


@dataclass(kw_only=True)
class PerformanceResult(Result):
    """One performance suite run (``suite_kind``: load test, pipeline load, micro-benchmark or mutation test).

    Its status is the worst of its checks; with no check at all it is ERROR (nothing was judged).
    ``details`` carries engine-specific, JSON-safe facts (argv, window, artefact paths).

    A run whose ``machine.undisturbed`` check is WARN (other work used more of the cores than configured:
    :mod:`~assay.engines.performance.machine_load`) does not let the noise decide: each noise-sensitive
    FAIL (latency, throughput, their regression) becomes WARN, checks added later (regression, the
    client/server comparison) included, and the message starts with "measurement disturbed: ...". A
    FAIL that contention cannot explain (error rate, completion rate, peak memory) stays FAIL.
    """

    kind: str = "performance"
    suite_kind: str
    log_path: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # noise-sensitive check names that contention cannot explain in this run (e.g. CPU of the run's own tree)
    noise_exempt: tuple[str, ...] = ()
    status: Status = field(init=False)
    summary: dict[str, Any] = field(init=False)

    def derive(self) -> None:
        self.checks = set_aside_noise(list(self.checks), self.noise_exempt)
        self.status = worst(c.status for c in self.checks)
        self.message = _lead_with_disturbance(self.message or "", self.checks, self.status)
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


def _lead_with_disturbance(message: str, checks: list[CheckRecord], status: Status) -> str:
    """For a disturbed run, the message said again from its checks (set-aside ones as WARN), the
    disturbance line first when it is what made the run WARN, after the FAIL or ERROR reasons otherwise;
    an undisturbed run's message unchanged."""
    gate = next((c for c in checks if c.name == CHECK_NAME), None)
    if gate is None or Status(gate.status) != Status.WARN:
        return message
    line = gate.message or DISTURBED
    others = sorted((c for c in checks if c is not gate), key=lambda c: -Status(c.status).severity)
    rest = [ln for ln in summarise(others).splitlines() if ln.strip()]
    if not [c for c in checks if c is not gate and Status(c.status) not in (Status.PASS, Status.SKIP)]:
        rest = []  # summarise lists every check when all passed: the disturbance is the whole story
    return "\n".join([line, *rest] if status == Status.WARN else [*rest, line])
