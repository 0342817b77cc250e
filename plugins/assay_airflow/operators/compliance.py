"""Operator of ``assay_weekly_compliance``: audit one framework (GDPR, HIPAA, SOX...) of the compliance catalog.

The audit reads the platform's real stores and calls its running API: when ``compliance.api.base_url`` is not
set, the service of ``compliance.target`` is started for the audit (with ``compliance.service_env`` and
``service_args``, fresh per-run tokens) and always stopped, as the load test does. Record then fail: a
violation is FAIL (final), a store or API that could not be reached is ERROR (retried), a bad catalog,
waiver file or inventory is ERROR (final). The standing alert rule ``compliance_violation`` is a check of
severity ``alert`` on the recorded run, so the failure alert names the violated controls, their citations
and the resources the evidence names.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowSkipException

from assay.errors import ConfigError
from assay.status import Status
from assay.store.records import CheckRecord
from assay_airflow.operators.base import AssayOperator, raise_for, task_work_dir
from assay_airflow.operators.service import target_service

if TYPE_CHECKING:
    from airflow.sdk import Context

    from assay.engines.compliance.config import ComplianceConfig

VIOLATION_RULE = "alert:compliance_violation"
CRITICAL_CHECK = "critical_controls"  # assay.engines.compliance.audit's framework-level check


def violation_check(result: Any) -> CheckRecord:
    """The standing rule: any violated (FAIL) control fires it, whatever else the audit found."""
    failed = [
        c for c in result.checks if c.severity != "alert" and c.status == Status.FAIL.value and c.name != CRITICAL_CHECK
    ]
    return CheckRecord(
        VIOLATION_RULE,
        Status.FAIL if failed else Status.PASS,
        observed=float(len(failed)),
        threshold=0.0,
        comparator="<=",
        severity="alert",
        message=(
            "violated: " + "; ".join(f"{c.name}: {c.message}" for c in failed[:10]) if failed else "no control violated"
        ),
    )


class ComplianceAuditOperator(AssayOperator):
    """Audit ``framework`` (a file of the compliance catalog) and record its controls, findings and evidence.

    :param framework: the catalog file's name (``gdpr``, ``hipaa``, ``sox``...); ``params.framework`` of the
        run, when set and not ``all``, selects one framework and the others skip.
    """

    template_fields = ("framework",)

    def __init__(self, *, framework: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.framework = framework

    def _section(self) -> ComplianceConfig:
        section = self.assay_config.compliance
        if section is None:
            raise ConfigError("assay.yaml has no 'compliance:' section: add one to run compliance audits")
        return section

    def execute(self, context: Context) -> dict[str, Any]:
        wanted = (context.get("params") or {}).get("framework") or "all"
        if wanted not in ("all", self.framework):
            raise AirflowSkipException(f"this run audits {wanted!r} only")
        started = datetime.now(UTC)
        with self.recording_errors(context, kind="compliance", name=self.framework, started_at=started):
            section = self._section()
            result = self._audit(section, task_work_dir(context), context)
        result.add_checks([violation_check(result)])
        reason = self.record_result(context, result, started_at=started, target=section.target)
        raise_for(
            result.status,
            f"{result.name}: {result.status.value}: {reason}",
            retryable=bool(getattr(result, "retryable", False)),
        )
        return result.describe_dict()

    def _audit(self, section: ComplianceConfig, work, context: Context):
        from assay.engines.compliance.audit import audit_from_config

        common = {"work_dir": work / "audit", "metrics_url": self.metrics_hook.store.url}
        if section.api.base_url or section.target is None:
            return audit_from_config(self.framework, section, **common)
        target = self.assay_config.target(section.target)
        with target_service(
            section.target,
            target,
            work / "service",
            extra_env=section.service_env,
            extra_args=section.service_args,
        ) as svc:
            stores = {name: url.format(**svc.fill) for name, url in section.stores.items()}
            return audit_from_config(
                self.framework,
                section,
                api_base_url=svc.base_url,
                api_tokens=svc.tokens,
                stores=stores,
                **common,
            )
