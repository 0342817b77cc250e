"""Security scanning (``assay_security_scan``): Trivy (dependencies, secrets, misconfigurations, licenses,
images), bandit (Python SAST) and API security tests (schemathesis fuzzing, an authentication /
authorization matrix, injection probes), with findings that have a lifecycle (new, existing, fixed),
suppressions with an expiry, and gates per target.

Usage::

    from assay.engines.security import run_security_scan, PreviousScan

    result = run_security_scan("trivy_fs", target="shop", root=checkout, cfg=target.security,
                               work_dir=tmp, history=lambda fingerprints: PreviousScan())

Pieces, one idea each: :mod:`.model` (ScanFinding, ScanReport), :mod:`.config` (a target's ``security:``
section), one module per tool (:mod:`.trivy`, :mod:`.bandit`, :mod:`.dast`: each returns a ScanReport),
:mod:`.suppressions`, :mod:`.scan` (runs a scanner and judges its report: lifecycle, gates, metrics) and
:mod:`.posture` (a target's open findings after a scan run).
"""

from __future__ import annotations

from assay.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "assay.engines.security.model": ("ScanFinding", "ScanReport", "SEVERITIES", "normalise_severity"),
        "assay.engines.security.trivy": (
            "TRIVY_SCANNERS",
            "db_metadata",
            "db_present",
            "download_db",
            "parse_trivy_report",
            "posture_result",
            "redact_trivy_report",
            "resolve_scan_root",
            "trivy_cache_dir",
            "trivy_config",
            "trivy_fs",
            "trivy_image",
        ),
        "assay.engines.security.bandit": (
            "bandit_exclude_patterns",
            "parse_bandit_report",
            "redact_bandit_report",
            "run_bandit",
        ),
        "assay.engines.security.dast": ("run_fuzz", "run_auth_matrix", "run_injection_probes", "load_openapi"),
        "assay.engines.security.posture": ("POSTURE_KIND", "posture_result"),
        "assay.engines.security.suppressions": ("Suppression", "SuppressionFile", "load_suppressions"),
        "assay.engines.security.scan": (
            "POSTURE_KIND",
            "PreviousScan",
            "ServiceAccess",
            "judge_report",
            "run_security_scan",
            "scan_report",
        ),
    },
)

__all__ = [
    "SEVERITIES",
    "TRIVY_SCANNERS",
    "PreviousScan",
    "ScanFinding",
    "ScanReport",
    "ServiceAccess",
    "Suppression",
    "SuppressionFile",
    "bandit_exclude_patterns",
    "db_metadata",
    "db_present",
    "download_db",
    "judge_report",
    "load_openapi",
    "load_suppressions",
    "normalise_severity",
    "parse_bandit_report",
    "parse_trivy_report",
    "redact_bandit_report",
    "redact_trivy_report",
    "resolve_scan_root",
    "run_auth_matrix",
    "run_bandit",
    "run_fuzz",
    "run_injection_probes",
    "run_security_scan",
    "scan_report",
    "trivy_cache_dir",
    "trivy_config",
    "trivy_fs",
    "trivy_image",
]
