"""Run one framework's controls against the platform under test and return the shared Result.

Per control (Prowler's and InSpec's rules, with their known weakness fixed: nothing starts as PASS):

* every mapped check runs once per audit (a check serving two controls with the same params runs once);
  a check that raises is ERROR with the exception text; one that returns nothing is ERROR ("checked
  nothing"); a :class:`~assay.errors.TargetError` (a store or the API unreachable) is ERROR and marks the
  result retryable;
* a FAIL resource covered by a valid waiver is WAIVED (the finding is kept, marked waived); an expired
  waiver no longer applies and the control's message says ``waiver W expired on D``;
* the control is FAIL if any resource is FAIL, else ERROR if any is ERROR, else WAIVED if any was waived,
  else PASS if any passed, else NOT_APPLICABLE (with the checks' reasons); a control without checks is MANUAL.

The result (kind ``compliance``, named by the framework's ``report_name``: ``gdpr_compliance``, ``hipaa``,
``sox``) holds one check per control, named by the control id, and a ``critical_controls`` check:

========================  ==========  =====================================================================
control outcome           check       why
========================  ==========  =====================================================================
PASS / FAIL / ERROR       same
MANUAL                    WARN        not verified, and counted in the score's denominator: a visible
                                      shortfall, not a violation (SKIP would read as "did not apply")
NOT_APPLICABLE            SKIP        left out of the score
WAIVED                    WARN        the violation is real and stays visible with its finding, but an
                                      approver accepted it until the expiry: no FAIL, and never a PASS
========================  ==========  =====================================================================

Score = PASS controls / (controls - NOT_APPLICABLE), in percent; MANUAL and WAIVED count in the
denominator only. Any critical control that FAILs makes the framework non-compliant whatever the score
(``critical_controls`` FAIL). The result is FAIL on any FAIL, else ERROR on any ERROR, else PASS.

Findings: one per FAIL / ERROR / WAIVED resource (source ``compliance``, rule_id the control id, the
control's severity); ``evidence`` holds the citations, message, outcome and ``evidence_sha256s``. Evidence
rows (:class:`~assay.store.records.EvidenceRecord`) are kept for every resource, passing ones too, each
linked to its finding by index (``assay_evidence.finding_id`` once stored).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from assay.engines.compliance.catalog import CatalogCheck, Control, Framework, Mode, Severity, load_framework
from assay.engines.compliance.config import ComplianceConfig
from assay.engines.compliance.model import (
    ApiClient,
    CheckContext,
    Outcome,
    ResourceResult,
    StoreResolver,
)
from assay.engines.compliance.registry import CheckSpec, get_check, load_builtin_checks
from assay.engines.compliance.waivers import Waiver, WaiverFile, load_waivers
from assay.errors import AssayError, ConfigError
from assay.inventory import PersonalDataInventory, load_inventory
from assay.results import Result
from assay.status import Status
from assay.store.records import CheckRecord, EvidenceRecord, FindingRecord, MetricRecord

__all__ = [
    "CONTROL_STATUS",
    "AuditResult",
    "ControlResult",
    "ResourceRow",
    "audit_controls",
    "audit_from_config",
    "run_audit",
]

log = logging.getLogger(__name__)

KIND = "compliance"
FINDING_SOURCE = "compliance"
CRITICAL_CHECK = "critical_controls"

CONTROL_STATUS: Mapping[Outcome, Status] = {
    Outcome.PASS: Status.PASS,
    Outcome.FAIL: Status.FAIL,
    Outcome.ERROR: Status.ERROR,
    Outcome.MANUAL: Status.WARN,
    Outcome.NOT_APPLICABLE: Status.SKIP,
    Outcome.WAIVED: Status.WARN,
}

ContextFactory = Callable[[CheckSpec, BaseModel | None], CheckContext]


@dataclass
class ResourceRow:
    """One resource of one control, as judged: what the check said, and the waiver that covered it."""

    check_id: str
    result: ResourceResult
    outcome: Outcome  # the check's status, or WAIVED
    waiver: Waiver | None = None
    retryable_error: bool = False


@dataclass
class ControlResult:
    control: Control
    outcome: Outcome
    message: str
    rows: list[ResourceRow] = field(default_factory=list)
    waivers: list[Waiver] = field(default_factory=list)  # applied
    expired_waivers: list[Waiver] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def status(self) -> Status:
        return CONTROL_STATUS[self.outcome]

    def to_dict(self, *, resources: bool = True) -> dict[str, Any]:
        """JSON-safe detail for the reports (``resources``: every resource with its evidence's metadata and
        hash, never its content, which is in the evidence records) or, without, the summary's compact form."""
        c = self.control
        out: dict[str, Any] = {
            "id": c.id,
            "title": c.title,
            "citations": list(c.citations),
            "severity": c.severity.value,
            "mode": c.mode.value,
            "outcome": self.outcome.value,
            "status": self.status.value,
            "message": self.message,
            "waivers": [w.id for w in self.waivers],
            "expired_waivers": [w.id for w in self.expired_waivers],
            "resources_by_outcome": {o.value: n for o in Outcome if (n := sum(r.outcome is o for r in self.rows))},
            "duration_s": round(self.duration_s, 3),
        }
        if not resources:
            return out
        return out | {
            "description": c.description,
            "pass_condition": c.pass_condition,
            "evidence_kept": c.evidence_kept.model_dump(),
            "waivers": [w.to_dict() for w in self.waivers],
            "expired_waivers": [w.to_dict() for w in self.expired_waivers],
            "resources": [
                {
                    "check": r.check_id,
                    "resource": r.result.resource,
                    "status": r.result.status.value,
                    "outcome": r.outcome.value,
                    "message": r.result.message,
                    "waiver": r.waiver.id if r.waiver else None,
                    "evidence": [{k: v for k, v in e.to_dict().items() if k != "content"} for e in r.result.evidence],
                }
                for r in self.rows
            ],
        }


@dataclass(kw_only=True)
class AuditResult(Result):
    """The audit's Result with its typed detail: the framework, per-control results, the score."""

    framework: str = ""
    controls: list[ControlResult] = field(default_factory=list)
    score: float | None = None
    retryable: bool = False


# -------------------------------------------------------------------------------------------- running checks


def _params_key(chk: CatalogCheck) -> str:
    return chk.id + "\x00" + json.dumps(chk.params, sort_keys=True, default=str)


def _error_row(check_id: str, message: str, *, retryable: bool = False) -> ResourceRow:
    return ResourceRow(
        check_id,
        ResourceResult(f"check:{check_id}", Outcome.ERROR, message),
        Outcome.ERROR,
        retryable_error=retryable,
    )


def _run_check(spec: CheckSpec, chk: CatalogCheck, factory: ContextFactory) -> list[ResourceRow]:
    """Run one check; whatever goes wrong is an ERROR row naming the check, never a PASS."""
    try:
        params = spec.params_model.model_validate(chk.params) if spec.params_model is not None else None
        ctx = factory(spec, params)
        returned = spec.fn(ctx)
    except AssayError as exc:
        kind = "unreachable target" if exc.retryable else type(exc).__name__
        return [_error_row(spec.id, f"check {spec.id} could not run ({kind}): {exc}", retryable=exc.retryable)]
    except Exception as exc:  # noqa: BLE001 - a check's bug is its control's ERROR, not the audit's crash
        log.exception("compliance check %s raised", spec.id)
        return [_error_row(spec.id, f"check {spec.id} raised {type(exc).__name__}: {exc}")]
    if returned is None or (isinstance(returned, list | tuple) and not returned):
        return [_error_row(spec.id, f"check {spec.id} checked nothing (returned no resource result)")]
    if not isinstance(returned, list | tuple):
        return [_error_row(spec.id, f"check {spec.id} returned {type(returned).__name__}, not a list of results")]
    rows = []
    for item in returned:
        if not isinstance(item, ResourceResult):
            rows.append(_error_row(spec.id, f"check {spec.id} returned a {type(item).__name__}, not a ResourceResult"))
        else:
            rows.append(ResourceRow(spec.id, item, item.status))
    return rows


def _judge(control: Control, rows: list[ResourceRow], waivers: WaiverFile, now: datetime) -> ControlResult:
    """Apply the waivers to the FAIL rows and decide the control's outcome and message."""
    mine = waivers.for_control(control.id)
    valid = [w for w in mine if not w.expired(now)]
    expired_seen: dict[str, Waiver] = {}
    applied: dict[str, Waiver] = {}
    for row in rows:
        if row.result.status is not Outcome.FAIL:
            continue
        for w in mine:
            if w.covers(control.id, row.result.resource) and w.expired(now):
                expired_seen.setdefault(w.id, w)
        waiver = next((w for w in valid if w.covers(control.id, row.result.resource)), None)
        if waiver is not None:
            row.outcome, row.waiver = Outcome.WAIVED, waiver
            applied.setdefault(waiver.id, waiver)
    outcomes = {r.outcome for r in rows}
    if Outcome.FAIL in outcomes:
        outcome = Outcome.FAIL
    elif Outcome.ERROR in outcomes:
        outcome = Outcome.ERROR
    elif Outcome.WAIVED in outcomes:
        outcome = Outcome.WAIVED
    elif Outcome.PASS in outcomes:
        outcome = Outcome.PASS
    else:
        outcome = Outcome.NOT_APPLICABLE
    message = _message(outcome, rows)
    expired = [w for w in expired_seen.values() if w.id not in applied]
    if expired:
        message += "; " + "; ".join(f"waiver {w.id} expired on {w.expires.isoformat()}" for w in expired)
    return ControlResult(control, outcome, message, rows, list(applied.values()), expired)


def _message(outcome: Outcome, rows: list[ResourceRow]) -> str:
    def listed(selected: list[ResourceRow], limit: int = 3) -> str:
        text = "; ".join(f"{r.result.resource}: {r.result.message}" for r in selected[:limit])
        return text + (f"; and {len(selected) - limit} more" if len(selected) > limit else "")

    by = {o: [r for r in rows if r.outcome is o] for o in Outcome}
    n = len(rows)
    if outcome is Outcome.FAIL:
        return f"{len(by[Outcome.FAIL])} of {n} resources FAIL: {listed(by[Outcome.FAIL])}"
    if outcome is Outcome.ERROR:
        return f"{len(by[Outcome.ERROR])} of {n} resources could not be checked: {listed(by[Outcome.ERROR])}"
    if outcome is Outcome.WAIVED:
        waived = by[Outcome.WAIVED]
        ids = ", ".join(dict.fromkeys(f"{r.waiver.id} ({r.waiver.approver}, until {r.waiver.expires})" for r in waived))
        return f"{len(waived)} of {n} resources FAIL under waiver {ids}: {listed(waived)}"
    if outcome is Outcome.PASS:
        na = len(by[Outcome.NOT_APPLICABLE])
        return f"{len(by[Outcome.PASS])} of {n} resources PASS" + (f" ({na} not applicable)" if na else "")
    return "not applicable: " + listed(by[Outcome.NOT_APPLICABLE])


def audit_controls(
    framework: Framework,
    *,
    factory: ContextFactory,
    waivers: WaiverFile,
    now: datetime,
    lookup: Callable[[str], CheckSpec] = get_check,
) -> list[ControlResult]:
    """Judge every control of ``framework``: MANUAL without checks, else its checks run (each distinct
    check + params once) and their resources judged with the waivers."""
    cache: dict[str, tuple[list[ResourceRow], float]] = {}
    results = []
    for control in framework.controls:
        if control.mode is Mode.MANUAL:
            results.append(
                ControlResult(control, Outcome.MANUAL, "manual control: not verified by the audit; attest it")
            )
            continue
        rows: list[ResourceRow] = []
        spent = 0.0
        for chk in control.checks:
            key = _params_key(chk)
            if key not in cache:
                t0 = time.perf_counter()
                try:
                    spec = lookup(chk.id)
                except KeyError as exc:
                    found = [_error_row(chk.id, str(exc.args[0] if exc.args else exc))]
                else:
                    found = _run_check(spec, chk, factory)
                cache[key] = (found, time.perf_counter() - t0)
            found, took = cache[key]
            spent += took
            # copies: a waiver decides per control, and the same check may serve another control unwaived
            rows += [ResourceRow(r.check_id, r.result, r.result.status, None, r.retryable_error) for r in found]
        judged = _judge(control, rows, waivers, now)
        judged.duration_s = spent
        results.append(judged)
    return results


# -------------------------------------------------------------------------------------------- the result


def _records(
    framework: Framework, controls: list[ControlResult]
) -> tuple[list[CheckRecord], list[FindingRecord], list[EvidenceRecord]]:
    checks, findings, evidence = [], [], []
    for cr in controls:
        c = cr.control
        judged = [r for r in cr.rows if r.outcome is not Outcome.NOT_APPLICABLE]
        bad = sum(1 for r in judged if r.outcome in (Outcome.FAIL, Outcome.ERROR))
        checks.append(
            CheckRecord(
                name=c.id,
                status=cr.status.value,
                observed=float(bad) if c.mode is Mode.AUTOMATED else None,
                threshold=0.0 if c.mode is Mode.AUTOMATED else None,
                comparator="<=" if c.mode is Mode.AUTOMATED else None,
                severity=c.severity.value,
                message=f"{cr.outcome.value} [{', '.join(c.citations)}]: {cr.message}",
            )
        )
        for row in cr.rows:
            finding_index = None
            if row.outcome in (Outcome.FAIL, Outcome.ERROR, Outcome.WAIVED):
                shas = [_record(row, c.id, e, None).sha256 for e in row.result.evidence]
                findings.append(
                    FindingRecord(
                        source=FINDING_SOURCE,
                        rule_id=c.id,
                        severity=c.severity.value,
                        resource=row.result.resource,
                        title=f"{c.title} ({row.outcome.value})",
                        evidence={
                            "framework": framework.framework,
                            "check": row.check_id,
                            "outcome": row.outcome.value,
                            "waived": row.outcome is Outcome.WAIVED,
                            "waiver": row.waiver.to_dict() if row.waiver else None,
                            "citations": list(c.citations),
                            "message": row.result.message,
                            "evidence_sha256s": shas,
                        },
                    )
                )
                finding_index = len(findings) - 1
            evidence += [_record(row, c.id, e, finding_index) for e in row.result.evidence]
    return checks, findings, evidence


def _record(row: ResourceRow, control_id: str, ev: Any, finding_index: int | None) -> EvidenceRecord:
    return EvidenceRecord(
        check_id=row.check_id,
        control_id=control_id,
        resource=row.result.resource,
        name=ev.name,
        method=ev.method,
        source=ev.source,
        collected_at=ev.collected_at,
        expires_at=ev.expires_at,
        content=ev.content,
        finding_index=finding_index,
    )


def build_result(
    framework: Framework, controls: list[ControlResult], *, started_at: datetime, finished_at: datetime
) -> AuditResult:
    """The Result of a judged framework (see the module docstring for every rule)."""
    checks, findings, evidence = _records(framework, controls)
    counts = {o.value: sum(1 for c in controls if c.outcome is o) for o in Outcome}
    denominator = len(controls) - counts[Outcome.NOT_APPLICABLE.value]
    score = round(100.0 * counts[Outcome.PASS.value] / denominator, 2) if denominator else None
    critical = [c for c in controls if c.control.severity is Severity.CRITICAL]
    critical_fail = [c for c in critical if c.outcome is Outcome.FAIL]
    critical_error = [c for c in critical if c.outcome is Outcome.ERROR]
    critical_status = Status.FAIL if critical_fail else Status.ERROR if critical_error else Status.PASS
    checks.append(
        CheckRecord(
            name=CRITICAL_CHECK,
            status=critical_status.value,
            observed=float(len(critical_fail)),
            threshold=0.0,
            comparator="<=",
            severity=Severity.CRITICAL.value,
            message=(
                f"critical controls FAIL (non-compliant whatever the score): {', '.join(c.control.id for c in critical_fail)}"
                if critical_fail
                else f"critical controls could not be checked: {', '.join(c.control.id for c in critical_error)}"
                if critical_error
                else f"no critical control fails ({len(critical)} critical)"
            ),
        )
    )
    if counts[Outcome.FAIL.value]:
        status = Status.FAIL
    elif counts[Outcome.ERROR.value]:
        status = Status.ERROR
    else:
        status = Status.PASS
    compliant = False if status is Status.FAIL else None if status is Status.ERROR else True
    retryable = status is Status.ERROR and any(r.retryable_error for c in controls for r in c.rows)

    metrics = [
        MetricRecord("compliance.controls", float(n), None, {"framework": framework.framework, "outcome": o})
        for o, n in counts.items()
    ]
    if score is not None:
        metrics.insert(0, MetricRecord("compliance.score", score, "percent", {"framework": framework.framework}))
    metrics.append(MetricRecord("compliance.findings", float(len(findings)), None, {"framework": framework.framework}))

    name = framework.suite_name
    score_text = (
        f"score {score:.1f}% ({counts['PASS']}/{denominator})" if score is not None else "no applicable control"
    )
    worst = next((c for c in controls if c.outcome is Outcome.FAIL), None) or next(
        (c for c in controls if c.outcome is Outcome.ERROR), None
    )
    verdict = {Status.FAIL: "NON-COMPLIANT", Status.ERROR: "INCOMPLETE", Status.PASS: "COMPLIANT"}[status]
    message = f"{name}: {verdict}, {score_text}"
    if critical_fail:
        message += f"; critical control {critical_fail[0].control.id} FAIL"
    if worst is not None:
        message += f"; {worst.control.id} {worst.outcome.value} [{', '.join(worst.control.citations)}]: {worst.message}"
    summary = {
        "framework": framework.framework,
        "framework_name": framework.name,
        "framework_version": framework.version,
        "score": score,
        "compliant": compliant,
        "counts": counts,
        "critical_failures": [c.control.id for c in critical_fail],
        "retryable": retryable,
        "controls": [c.to_dict(resources=False) for c in controls],
    }
    if retryable:
        summary["error"] = "TargetError"
    return AuditResult(
        name=name,
        kind=KIND,
        status=status,
        message=message[:2000],
        started_at=started_at,
        finished_at=finished_at,
        checks=checks,
        metrics=metrics,
        findings=findings,
        evidence=evidence,
        summary=summary,
        framework=framework.framework,
        controls=controls,
        score=score,
        retryable=retryable,
    )


def all_control_ids(catalog_dir: Path) -> set[str]:
    """Every control id written in the catalog directory's files (read, not validated: a waiver of another
    framework's control is recognised without loading that framework)."""
    ids: set[str] = set()
    for path in sorted(catalog_dir.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        for control in (data or {}).get("controls") or [] if isinstance(data, dict) else []:
            if isinstance(control, dict) and isinstance(control.get("id"), str):
                ids.add(control["id"])
    return ids


def run_audit(
    framework: str,
    *,
    catalog_dir: str | Path,
    work_dir: str | Path,
    waivers_path: str | Path | None = None,
    context_factory: ContextFactory | None = None,
    stores: StoreResolver | Mapping[str, str] | None = None,
    api: ApiClient | None = None,
    inventory: PersonalDataInventory | str | Path | None = None,
    metrics_url: str | None = None,
    evidence_days: int = 2557,
    now: datetime | None = None,
    builtin_checks: bool = True,
    report: bool = True,
    lookup: Callable[[str], CheckSpec] = get_check,
) -> AuditResult:
    """Audit ``framework`` (a file of ``catalog_dir``) and return its Result; reports go under ``work_dir``.

    Checks get a :class:`CheckContext` from ``context_factory(spec, params)`` when given, else one built from
    ``stores`` (a resolver, or name -> SQLAlchemy URL), ``api``, ``inventory`` (a model or a path),
    ``metrics_url``, ``evidence_days`` and ``now`` (default: the current UTC time). ``builtin_checks`` imports
    the shipped checks first. A bad catalog, waiver file or inventory raises ConfigError (final)."""
    started = datetime.now(UTC)
    now = (now or started).astimezone(UTC)
    catalog_dir = Path(catalog_dir)
    work_dir = Path(work_dir)
    if builtin_checks:
        load_builtin_checks()
    path = catalog_dir / f"{framework}.yaml"
    if not path.is_file():
        from assay.engines.compliance.catalog import framework_names

        raise ConfigError(
            f"framework {framework!r} has no catalog file {path.name} in {catalog_dir} "
            f"(frameworks: {', '.join(framework_names(catalog_dir)) or 'none'})"
        )
    fw = load_framework(path, lookup=lookup)
    waivers = load_waivers(waivers_path)
    waivers.check_controls(all_control_ids(catalog_dir), Path(waivers_path).name if waivers_path else "waivers")

    own_stores: StoreResolver | None = None
    if context_factory is None:
        resolver = stores if isinstance(stores, StoreResolver) else StoreResolver(stores or {})
        own_stores = None if isinstance(stores, StoreResolver) else resolver
        inv = load_inventory(inventory) if isinstance(inventory, str | Path) else inventory
        work_dir.mkdir(parents=True, exist_ok=True)

        def context_factory(spec: CheckSpec, params: BaseModel | None) -> CheckContext:
            check_dir = work_dir / "checks" / spec.id
            check_dir.mkdir(parents=True, exist_ok=True)
            return CheckContext(
                params=params,
                now=now,
                stores=resolver,
                api=api,
                inventory=inv,
                metrics_url=metrics_url,
                work_dir=check_dir,
                evidence_days=evidence_days,
            )

    try:
        controls = audit_controls(fw, factory=context_factory, waivers=waivers, now=now, lookup=lookup)
    finally:
        if own_stores is not None:
            own_stores.dispose()
    result = build_result(fw, controls, started_at=started, finished_at=datetime.now(UTC))
    if report:
        from assay.engines.compliance.report import write_reports

        paths = write_reports(result, work_dir, now=now)
        result.summary["reports"] = {k: str(v) for k, v in paths.items()}
    return result


def audit_from_config(
    framework: str,
    config: ComplianceConfig,
    *,
    work_dir: str | Path,
    api_base_url: str | None = None,
    metrics_url: str | None = None,
    now: datetime | None = None,
    environ: Mapping[str, str] | None = None,
    builtin_checks: bool = True,
) -> AuditResult:
    """:func:`run_audit` with everything taken from the ``compliance:`` section: catalog, waivers, inventory,
    stores, evidence days, and the API (``api_base_url`` — the service started for the audit — unless
    ``compliance.api.base_url`` names one; role tokens from their environment variables or tokens file)."""
    base_url = config.api.base_url or api_base_url
    api = ApiClient(base_url, config.api.tokens(environ), timeout_s=config.api.timeout_s) if base_url else None
    try:
        return run_audit(
            framework,
            catalog_dir=config.catalog_dir,
            work_dir=work_dir,
            waivers_path=config.waivers,
            stores=config.stores,
            api=api,
            inventory=config.inventory,
            metrics_url=metrics_url,
            evidence_days=config.evidence_days,
            now=now,
            builtin_checks=builtin_checks,
        )
    finally:
        if api is not None:
            api.close()
