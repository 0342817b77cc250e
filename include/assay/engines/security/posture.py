"""A target's security posture after one scan run: what :class:`SecurityPostureOperator` records per target
(kind ``security_posture``), for trends, the Assay page and Grafana."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from assay.engines.security.model import SEVERITIES
from assay.results import Result
from assay.status import worst
from assay.store.records import MetricRecord

__all__ = ["POSTURE_KIND", "posture_result"]

POSTURE_KIND = "security_posture"


def posture_result(target: str, runs: Sequence[Any], started: datetime) -> Result:
    """The posture of ``target`` from the security suite runs one DAG run recorded (the store's ``SuiteRun``
    rows, findings loaded): open findings by severity and tool (suppressed left out, a finding two scanners
    report counted once), new and fixed counts, the mean age in days of open criticals; its status is the worst
    of the scanners' (an ERROR scanner leaves the posture unknown)."""
    now = datetime.now(UTC)
    by_sev: Counter[str] = Counter()
    by_tool: Counter[str] = Counter()
    new = fixed = 0
    ages: list[float] = []
    seen: set[str] = set()  # trivy_fs and trivy_config both report a manifest's misconfiguration: count it once
    for run in runs:
        fixed += int((run.summary or {}).get("fixed_total") or 0)
        for f in run.findings:
            if f.state == "suppressed" or (f.fingerprint and f.fingerprint in seen):
                continue
            seen.add(f.fingerprint or f"row:{f.id}")
            by_sev[f.severity] += 1
            by_tool[f.source] += 1
            new += f.state == "new"
            if f.severity == "CRITICAL" and f.first_seen_at is not None:
                first = f.first_seen_at if f.first_seen_at.tzinfo else f.first_seen_at.replace(tzinfo=UTC)
                ages.append((now - first).total_seconds() / 86400)
    metrics = [MetricRecord("security.posture.open", float(by_sev[s]), "count", {"severity": s}) for s in SEVERITIES]
    metrics += [
        MetricRecord("security.posture.open_by_tool", float(n), "count", {"tool": t})
        for t, n in sorted(by_tool.items())
    ]
    metrics += [
        MetricRecord("security.posture.new", float(new), "count"),
        MetricRecord("security.posture.fixed", float(fixed), "count"),
        MetricRecord("security.posture.critical_mean_age_days", (sum(ages) / len(ages)) if ages else 0.0, "d"),
    ]
    status = worst(r.status for r in runs)
    scanners = sorted({r.name for r in runs})
    tally = ", ".join(f"{by_sev[s]} {s.lower()}" for s in SEVERITIES if by_sev[s]) or "no open finding"
    return Result(
        name="posture",
        kind=POSTURE_KIND,
        status=status,
        message=f"{target}: {tally} open ({new} new, {fixed} fixed) over {len(scanners)} scanner(s)",
        started_at=started,
        finished_at=now,
        metrics=metrics,
        summary={
            "scanners": {r.name: r.status for r in runs},
            "open_by_severity": {s: by_sev[s] for s in SEVERITIES},
            "open_by_tool": dict(by_tool),
        },
    )
