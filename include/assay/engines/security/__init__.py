"""Security scanning (``assay_security_scan``): Trivy (dependencies, secrets, misconfigurations, licenses,
images), bandit (Python SAST) and API security tests (schemathesis fuzzing, an authentication /
authorization matrix, injection probes), with findings that have a lifecycle (new, existing, fixed),
suppressions with an expiry, and gates per target.

Pieces, one idea each: :mod:`.model` (ScanFinding, ScanReport), :mod:`.config` (a target's ``security:``
section), one module per tool (:mod:`.trivy`, :mod:`.bandit`, :mod:`.dast`), :mod:`.suppressions`,
:mod:`.lifecycle` and :mod:`.scan` (reports into a Result with gates and posture metrics).
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
    },
)

__all__ = [
    "SEVERITIES",
    "TRIVY_SCANNERS",
    "ScanFinding",
    "ScanReport",
    "bandit_exclude_patterns",
    "db_metadata",
    "db_present",
    "download_db",
    "normalise_severity",
    "parse_bandit_report",
    "parse_trivy_report",
    "redact_bandit_report",
    "redact_trivy_report",
    "resolve_scan_root",
    "run_bandit",
    "trivy_cache_dir",
    "trivy_config",
    "trivy_fs",
    "trivy_image",
]
