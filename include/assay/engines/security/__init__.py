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
        "assay.engines.security.dast": ("run_fuzz", "run_auth_matrix", "run_injection_probes", "load_openapi"),
    },
)

__all__ = [
    "SEVERITIES",
    "ScanFinding",
    "ScanReport",
    "load_openapi",
    "normalise_severity",
    "run_auth_matrix",
    "run_fuzz",
    "run_injection_probes",
]
