"""What every scanner returns: :class:`ScanFinding` (one finding, normalised across tools) and
:class:`ScanReport` (one scanner's run). The scan (:mod:`.scan`) judges reports into a
:class:`~assay.results.Result`.

A finding never carries a secret's value: a secret is recorded by its rule, file and line only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CATEGORIES", "SEVERITIES", "ScanFinding", "ScanReport", "normalise_severity"]

#: worst first; every tool's severity is mapped onto these
SEVERITIES: tuple[str, ...] = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
CATEGORIES: tuple[str, ...] = ("vulnerability", "secret", "misconfiguration", "license", "code", "api")


def normalise_severity(value: str | None) -> str:
    """A tool's severity as one of :data:`SEVERITIES` (unknown words are UNKNOWN)."""
    v = (value or "").strip().upper()
    aliases = {"ERROR": "HIGH", "WARNING": "MEDIUM", "INFO": "LOW", "MODERATE": "MEDIUM", "NOTE": "LOW"}
    v = aliases.get(v, v)
    return v if v in SEVERITIES else "UNKNOWN"


@dataclass(frozen=True, kw_only=True)
class ScanFinding:
    """One finding of one tool.

    ``location`` is where it is: a file path relative to the scanned root, a package name, an image layer,
    or an API operation (``"POST /models/predict"``). ``line`` is informative only: the fingerprint leaves it
    out (a finding does not become new because code above it moved); a scanner that must tell apart two
    findings of one rule in one file passes ``fingerprint_key`` (e.g. a hash of the offending line's text).
    """

    tool: str
    category: str
    rule_id: str
    severity: str
    title: str
    location: str
    line: int | None = None
    package: str | None = None
    installed_version: str | None = None
    fixed_version: str | None = None
    fingerprint_key: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)  # JSON-safe, never a secret value

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", normalise_severity(self.severity))
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown finding category {self.category!r} (one of {', '.join(CATEGORIES)})")

    @property
    def fingerprint(self) -> str:
        """Stable across scans of the same target: tool, category, rule, location, package and version."""
        parts = [
            self.tool,
            self.category,
            self.rule_id,
            self.location,
            self.package or "",
            self.installed_version or "",
            self.fingerprint_key or "",
        ]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


@dataclass(kw_only=True)
class ScanReport:
    """One scanner's run: what it found and how much it looked at.

    ``scanned`` counts what the tool examined (files, packages, operations): a report that examined nothing
    it was asked to is not a clean bill of health, and the scan makes it ERROR. ``errors`` are problems that
    make the report incomplete (no vulnerability DB, an operation that could not be called): each makes the
    scanner's verdict ERROR while its findings are still recorded."""

    scanner: str  # one of config.ALL_SCANNERS
    tool: str
    tool_version: str | None
    findings: list[ScanFinding] = field(default_factory=list)
    scanned: int = 0
    duration_s: float = 0.0
    report_path: str | None = None
    errors: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    #: why there was nothing of this kind to scan (no Dockerfile or manifest for ``trivy config``): the scan
    #: is then SKIP, not ERROR; None when the target had something to scan
    nothing_to_scan: str | None = None
