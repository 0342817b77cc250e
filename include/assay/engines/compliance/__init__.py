"""Compliance audits (``assay_weekly_compliance``): GDPR / HIPAA / SOX controls verified against the platform
under test, with evidence, waivers and a score.

Usage::

    from assay.engines.compliance import run_audit, load_builtin_checks

    load_builtin_checks()
    result = run_audit("gdpr", catalog_dir="include/compliance", waivers_path="include/compliance/waivers.yaml",
                       context_factory=..., work_dir=tmp)
    result.status, result.checks, result.findings, result.evidence

Pieces, one idea each: :mod:`.model` (Outcome, Evidence, ResourceResult, CheckContext, StoreResolver,
ApiClient), :mod:`.registry` (checks registered by id), :mod:`.catalog` (the control files, validated),
:mod:`.waivers`, :mod:`.audit` (runs a framework's controls into a Result), :mod:`.report` (HTML and OSCAL
JSON), :mod:`.config` (the ``compliance:`` section of assay.yaml). The personal-data inventory is
:mod:`assay.inventory` (shared with the test-data engine).
"""

from __future__ import annotations

from assay.lazy import lazy_exports

# imported on first use: the config imports without the engine (assay.lazy)
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "assay.engines.compliance.model": (
            "ApiClient",
            "CheckContext",
            "Evidence",
            "Outcome",
            "ResourceResult",
            "StoreResolver",
        ),
        "assay.engines.compliance.audit": ("AuditResult", "ControlResult", "audit_from_config", "run_audit"),
        "assay.engines.compliance.catalog": ("Control", "Framework", "load_catalog", "load_framework"),
        "assay.engines.compliance.report": ("oscal_assessment_results", "render_html", "write_reports"),
        "assay.engines.compliance.waivers": ("Waiver", "WaiverFile", "load_waivers"),
        "assay.engines.compliance.registry": (
            "CheckSpec",
            "check",
            "check_ids",
            "get_check",
            "load_builtin_checks",
        ),
    },
)

__all__ = [
    "ApiClient",
    "AuditResult",
    "Control",
    "ControlResult",
    "Framework",
    "Waiver",
    "WaiverFile",
    "audit_from_config",
    "load_catalog",
    "load_framework",
    "load_waivers",
    "oscal_assessment_results",
    "render_html",
    "run_audit",
    "write_reports",
    "CheckContext",
    "CheckSpec",
    "Evidence",
    "Outcome",
    "ResourceResult",
    "StoreResolver",
    "check",
    "check_ids",
    "get_check",
    "load_builtin_checks",
]
