"""Judge one scanner's report into a :class:`~assay.results.Result`: suppressions, lifecycle, gates, metrics.

Lifecycle (per target and scanner, against the newest earlier *complete* scan, i.e. one that was not ERROR):

* ``new``: not in that scan (on the first scan of a target everything is new; a finding fixed once and back
  again is new, with ``reopened`` set and its original ``first_seen_at``);
* ``existing``: in that scan too;
* ``fixed``: in that scan, absent from this one; judged only when this scan is complete (a scan that could not
  read the vulnerability DB fixes nothing);
* ``suppressed``: covered by a live suppression (kept on record, out of the gates).

The previous scan is found by the caller (the operator reads the metrics DB), so a retried task compares with
the same scan and records the same states. Checks (per scanner):

* ``scan_complete``: ERROR when the report has errors or examined nothing;
* ``critical_findings`` (open CRITICAL > ``critical_max``: FAIL), ``high_findings`` (open HIGH >
  ``high_warn_max``: WARN), ``secrets`` (open secrets > ``secrets_max``: FAIL; scanners that look for secrets);
* ``suppressions_expired``: WARN naming each expired suppression that matched a finding;
* alert rules (severity ``alert``): ``alert:new_critical_findings`` and ``alert:secrets_leaked`` fire on *new*
  open findings only, so the same finding does not alert every night while the gates keep failing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assay.engines.security.config import SERVICE_SCANNERS, SecurityGates, SecurityTargetConfig
from assay.engines.security.model import SEVERITIES, ScanFinding, ScanReport
from assay.engines.security.suppressions import SuppressionFile, apply_suppressions, load_suppressions
from assay.errors import ConfigError
from assay.results import Result
from assay.status import Status, worst
from assay.store.records import CheckRecord, FindingRecord, MetricRecord

__all__ = [
    "KIND",
    "NEW_CRITICAL_RULE",
    "SECRETS_RULE",
    "PreviousScan",
    "ServiceAccess",
    "judge_report",
    "run_security_scan",
    "scan_report",
]

KIND = "security"
NEW_CRITICAL_RULE = "alert:new_critical_findings"
SECRETS_RULE = "alert:secrets_leaked"
SECRET_SCANNERS = ("trivy_fs", "trivy_image")


@dataclass(frozen=True)
class PreviousScan:
    """What the metrics DB knows before this scan: the newest earlier complete scan of the same target and
    scanner (``run_id``; ``findings``: fingerprint -> {rule_id, location, severity}) and, for the current
    fingerprints seen in any earlier scan, when each was first seen."""

    run_id: str | None = None
    findings: Mapping[str, Mapping[str, Any]] | None = None
    first_seen: Mapping[str, datetime] | None = None


@dataclass(frozen=True)
class ServiceAccess:
    """How the API security tests reach the target's service: its base URL, a token allowed everything the
    fuzzer and the probes call, a token per role (the authorization matrix) and an expired token."""

    base_url: str
    token: str | None
    roles: Mapping[str, str] = field(default_factory=dict)
    expired_token: str | None = None

    def __repr__(self) -> str:  # never the tokens
        return f"ServiceAccess({self.base_url!r}, roles={sorted(self.roles)})"


def scan_report(
    scanner: str, *, root: Path, cfg: SecurityTargetConfig, work_dir: Path, service: ServiceAccess | None = None
) -> ScanReport:
    """Run one scanner (a name of :data:`~assay.engines.security.config.ALL_SCANNERS`) and return its report."""
    work_dir = Path(work_dir)
    if scanner == "trivy_fs":
        from assay.engines.security.trivy import trivy_fs

        return trivy_fs(root, cfg.trivy, work_dir)
    if scanner == "trivy_config":
        from assay.engines.security.trivy import trivy_config

        return trivy_config(root, cfg.trivy, work_dir)
    if scanner == "trivy_image":
        from assay.engines.security.trivy import trivy_image

        return trivy_image(cfg.trivy, work_dir)
    if scanner == "bandit":
        from assay.engines.security.bandit import run_bandit

        return run_bandit(root, cfg.bandit, work_dir)
    if scanner in SERVICE_SCANNERS:
        if service is None:
            raise ConfigError(f"{scanner} calls the target's service: configure its 'service' or 'api_conn_id'")
        from assay.engines.security import dast

        if scanner == "dast_fuzz":
            return dast.run_fuzz(service.base_url, service.token, cfg.dast, work_dir / "fuzz")
        if scanner == "dast_authz":
            roles = dict(service.roles) or ({"default": service.token} if service.token else {})
            return dast.run_auth_matrix(service.base_url, roles, service.expired_token, cfg.dast)
        return dast.run_injection_probes(service.base_url, service.token, cfg.dast)
    raise ConfigError(f"unknown scanner {scanner!r}")


def run_security_scan(
    scanner: str,
    *,
    target: str,
    root: Path,
    cfg: SecurityTargetConfig,
    work_dir: Path,
    history: Callable[[Sequence[str]], PreviousScan],
    service: ServiceAccess | None = None,
    started_at: datetime | None = None,
    allowed_roots: Sequence[Path] | None = None,
) -> Result:
    """Scan ``target``'s checkout ``root`` (or its service) with ``scanner`` and judge the report:
    ``cfg.suppressions`` (relative to ``root`` unless absolute), the lifecycle against ``history(fingerprints)``
    (what the metrics DB knows: :class:`PreviousScan`), and ``cfg.gates``. With ``allowed_roots`` (the
    workspace of checkouts), a ``root`` outside them (after resolving links and ``..``) is a ConfigError."""
    started_at = started_at or datetime.now(UTC)
    if allowed_roots is not None:
        from assay.engines.security.trivy import resolve_scan_root

        root = resolve_scan_root(root, allowed_roots)
    path = None
    if cfg.suppressions:
        path = Path(cfg.suppressions) if Path(cfg.suppressions).is_absolute() else Path(root) / cfg.suppressions
    suppressions = load_suppressions(path)  # before the scan: a bad file fails fast
    report = scan_report(scanner, root=Path(root), cfg=cfg, work_dir=work_dir, service=service)
    previous = history([f.fingerprint for f in report.findings])
    return judge_report(
        report, target=target, gates=cfg.gates, suppressions=suppressions, previous=previous, started_at=started_at
    )


def _resource(f: ScanFinding) -> str:
    where = f"{f.package} {f.installed_version or ''}".strip() if f.package and f.category != "code" else f.location
    if f.category == "vulnerability" and f.package and f.location and f.location != f.package:
        where = f"{where} ({f.location})"
    return f"{where}:{f.line}" if f.line and f.category != "vulnerability" else where


def judge_report(
    report: ScanReport,
    *,
    target: str,
    gates: SecurityGates,
    suppressions: SuppressionFile,
    previous: PreviousScan,
    started_at: datetime,
    now: datetime | None = None,
) -> Result:
    """The Result of ``report`` for ``target`` (see the module docstring)."""
    now = now or datetime.now(UTC)
    applied = apply_suppressions(report.findings, suppressions, target=target, scanner=report.scanner, now=now)
    before = dict(previous.findings or {})
    first_seen = dict(previous.first_seen or {})
    complete = not report.errors and report.scanned > 0

    records: list[FindingRecord] = []
    states: Counter[str] = Counter()
    new_open: list[ScanFinding] = []
    seen_now: set[str] = set()
    for f in report.findings:
        fp = f.fingerprint
        if fp in seen_now:  # a tool that reports one thing twice (two layers, two lock files) counts it once
            continue
        seen_now.add(fp)
        if fp in applied.suppressed:
            state = "suppressed"
        elif previous.run_id is not None and fp in before:
            state = "existing"
        else:
            state = "new"
            new_open.append(f)
        states[state] += 1
        first = first_seen.get(fp, now)
        alert = state == "new" and (f.severity == "CRITICAL" or f.category == "secret")
        evidence: dict[str, Any] = {
            "scanner": report.scanner,
            "category": f.category,
            "state": state,
            "first_seen_at": first.isoformat(),
            "alert": alert,
            "location": f.location,
            "line": f.line,
            "package": f.package,
            "installed_version": f.installed_version,
            "fixed_version": f.fixed_version,
            **({"reopened": True} if state == "new" and fp in first_seen else {}),
            **({"suppressed_by": applied.suppressed[fp].describe()} if fp in applied.suppressed else {}),
            **({"expired_suppression": applied.expired[fp].describe()} if fp in applied.expired else {}),
            **({"detail": f.detail} if f.detail else {}),
        }
        records.append(
            FindingRecord(
                source=f.tool,
                rule_id=f.rule_id,
                severity=f.severity,
                resource=_resource(f),
                title=f.title,
                evidence={k: v for k, v in evidence.items() if v is not None},
                fingerprint=fp,
                state=state,
                first_seen_at=first,
            )
        )

    open_ = list({f.fingerprint: f for f in applied.open}.values())  # a finding reported twice counts once
    by_sev = Counter(f.severity for f in open_)
    secrets = [f for f in open_ if f.category == "secret"]
    fixed = sorted(set(before) - seen_now) if complete and previous.run_id is not None else []

    checks = [_complete_check(report)]
    checks.append(_limit("critical_findings", by_sev["CRITICAL"], gates.critical_max, Status.FAIL, "open CRITICAL"))
    checks.append(_limit("high_findings", by_sev["HIGH"], gates.high_warn_max, Status.WARN, "open HIGH"))
    if report.scanner in SECRET_SCANNERS:
        checks.append(_limit("secrets", len(secrets), gates.secrets_max, Status.FAIL, "leaked secrets"))
    expired = {s.id: s for s in applied.expired.values()}
    if expired:
        checks.append(
            CheckRecord(
                "suppressions_expired",
                Status.WARN,
                observed=float(len(expired)),
                threshold=0.0,
                comparator="<=",
                message="no longer applied: "
                + "; ".join(f"{s.id} ({s.rule}) expired on {s.expires.isoformat()}" for s in expired.values()),
            )
        )
    new_critical = [f for f in new_open if f.severity == "CRITICAL" and f.fingerprint not in applied.suppressed]
    new_secrets = [f for f in new_open if f.category == "secret" and f.fingerprint not in applied.suppressed]
    checks.append(_alert(NEW_CRITICAL_RULE, new_critical, "new CRITICAL finding"))
    if report.scanner in SECRET_SCANNERS:
        checks.append(_alert(SECRETS_RULE, new_secrets, "new leaked secret"))

    metrics = [MetricRecord("security.findings_open", float(by_sev[s]), "count", {"severity": s}) for s in SEVERITIES]
    metrics += [
        MetricRecord(
            "security.findings_new", float(sum(1 for f in new_open if f.severity == s)), "count", {"severity": s}
        )
        for s in SEVERITIES
    ]
    metrics += [
        MetricRecord("security.secrets_open", float(len(secrets)), "count"),
        MetricRecord("security.findings_fixed", float(len(fixed)), "count"),
        MetricRecord("security.findings_suppressed", float(states["suppressed"]), "count"),
        MetricRecord("security.scanned", float(report.scanned), "count"),
        MetricRecord("security.scan_duration_s", float(report.duration_s), "s"),
    ]
    status = worst(c.status for c in checks if c.severity != "alert")
    if checks[0].status == Status.SKIP.value:  # nothing of this kind to scan: the gates have nothing to say
        status = Status.SKIP
    summary = {
        "scanner": report.scanner,
        "tool": report.tool,
        "tool_version": report.tool_version,
        "report": report.report_path,
        "scanned": report.scanned,
        "errors": list(report.errors),
        "open_by_severity": {s: by_sev[s] for s in SEVERITIES if by_sev[s]},
        "states": dict(states),
        "previous_run_id": previous.run_id,
        "fixed": [{"fingerprint": fp, **dict(before[fp])} for fp in fixed[:200]],
        "fixed_total": len(fixed),
        **({"fixed_not_judged": "this scan is incomplete"} if not complete and previous.run_id else {}),
        **report.summary,
    }
    tally = ", ".join(f"{by_sev[s]} {s.lower()}" for s in SEVERITIES if by_sev[s]) or "no open finding"
    message = f"{report.scanner}: {tally}; {states['new']} new, {len(fixed)} fixed, {states['suppressed']} suppressed"
    broken = [c for c in checks if c.severity != "alert" and c.status not in (Status.PASS.value, Status.SKIP.value)]
    if broken:
        message += "; " + "; ".join(f"{c.name} {c.status}: {c.message}" for c in broken if c.name != "scan_complete")
    if status is Status.SKIP:
        message = f"{report.scanner}: nothing to scan: {report.nothing_to_scan}"
    if report.errors:
        message = f"{report.scanner}: incomplete: {'; '.join(report.errors)[:400]} ({tally})"
    return Result(
        name=report.scanner,
        kind=KIND,
        status=status,
        message=message,
        started_at=started_at,
        finished_at=now,
        checks=checks,
        metrics=metrics,
        findings=records,
        summary=summary,
    )


def _complete_check(report: ScanReport) -> CheckRecord:
    if report.nothing_to_scan and not report.errors and not report.findings:
        return CheckRecord("scan_complete", Status.SKIP, observed=0.0, message=report.nothing_to_scan)
    if report.errors:
        return CheckRecord(
            "scan_complete", Status.ERROR, observed=float(report.scanned), message="; ".join(report.errors)[:1000]
        )
    if report.scanned <= 0:
        return CheckRecord(
            "scan_complete",
            Status.ERROR,
            observed=0.0,
            threshold=1.0,
            comparator=">=",
            message=f"{report.tool} examined nothing: a scan that looked at nothing is not a clean result",
        )
    return CheckRecord("scan_complete", Status.PASS, observed=float(report.scanned), threshold=1.0, comparator=">=")


def _limit(name: str, observed: int, limit: int, bad: Status, what: str) -> CheckRecord:
    over = observed > limit
    return CheckRecord(
        name,
        bad if over else Status.PASS,
        observed=float(observed),
        threshold=float(limit),
        comparator="<=",
        message=f"{observed} {what} (at most {limit})",
    )


def _alert(rule: str, findings: list[ScanFinding], what: str) -> CheckRecord:
    return CheckRecord(
        rule,
        Status.FAIL if findings else Status.PASS,
        observed=float(len(findings)),
        threshold=0.0,
        comparator="<=",
        severity="alert",
        message=(
            f"{len(findings)} {what}(s): "
            + "; ".join(f"{f.rule_id} {f.severity} at {_resource(f)}" for f in findings[:10])
            if findings
            else f"no {what}"
        ),
    )
