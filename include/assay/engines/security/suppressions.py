"""Suppressions: accepted, time-limited security findings, kept in a versioned YAML file (in the target's
repository or beside assay.yaml), like ``.trivyignore`` with ``exp:``::

    version: 1
    suppressions:
      - id: S-2026-007
        rule: CVE-2024-3651                 # fnmatch glob over the finding's rule id
        scope:                              # optional; each key narrows (fnmatch globs)
          target: my-platform
          scanner: trivy_fs
          location: "requirements*.txt"
          package: idna
        justification: not reachable: we never decode untrusted IDNA
        approver: jane.doe (security)
        expires: 2027-01-31                 # required: valid through that day (UTC)

A live suppression keeps its finding on record (state ``suppressed``) and out of the gates. An expired one
no longer applies: its findings count again and the run says which suppression expired when. Nothing
suppresses a scanner's ERROR: what could not be scanned cannot be accepted as a risk.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assay.engines.security.model import ScanFinding
from assay.errors import ConfigError
from assay.yamlfile import dotted, read_yaml

__all__ = ["Applied", "Suppression", "SuppressionFile", "apply_suppressions", "load_suppressions"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scope(_Strict):
    target: str = "*"
    scanner: str = "*"
    location: str = "*"
    package: str = "*"


class Suppression(_Strict):
    id: str = Field(min_length=1)
    rule: str = Field(min_length=1)
    scope: Scope = Field(default_factory=Scope)
    justification: str = Field(min_length=1)
    approver: str = Field(min_length=1)
    expires: date

    def covers(self, finding: ScanFinding, *, target: str, scanner: str) -> bool:
        s = self.scope
        return (
            fnmatch.fnmatchcase(finding.rule_id, self.rule)
            and fnmatch.fnmatchcase(target, s.target)
            and fnmatch.fnmatchcase(scanner, s.scanner)
            and fnmatch.fnmatchcase(finding.location, s.location)
            and fnmatch.fnmatchcase(finding.package or "", s.package)
        )

    def expired(self, now: datetime) -> bool:
        """Valid through the whole of its expiry day (UTC)."""
        return now.date() > self.expires

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "approver": self.approver, "expires": self.expires.isoformat()}


class SuppressionFile(_Strict):
    version: Literal[1]
    suppressions: list[Suppression] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> SuppressionFile:
        seen: dict[str, int] = {}
        for i, s in enumerate(self.suppressions):
            if s.id in seen:
                raise ValueError(f"suppressions[{i}].id: suppression id {s.id!r} is also suppressions[{seen[s.id]}]")
            seen[s.id] = i
        return self


def load_suppressions(path: str | Path | None) -> SuppressionFile:
    """The suppressions at ``path``; None is none. A missing or invalid file is a ConfigError naming the key."""
    if path is None:
        return SuppressionFile(version=1)
    path = Path(path)
    data = read_yaml(path, "suppression file")
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name}: the top level must be a mapping with 'version' and 'suppressions'")
    try:
        return SuppressionFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            msg = e["msg"].removeprefix("Value error, ")
            if e["type"] == "missing" and e["loc"][-1] == "expires":
                msg = "a suppression needs an expiry date (expires: YYYY-MM-DD); suppressions never last for ever"
            problems.append(f"{path.name}: {dotted(e['loc'])}: {msg}")
        raise ConfigError("\n".join(problems)) from None


@dataclass
class Applied:
    """Findings split by the suppressions: ``open`` count in the gates; ``suppressed`` maps a finding's
    fingerprint to the live suppression that covers it; ``expired`` maps a finding's fingerprint to the
    expired suppression that would have covered it (the finding is open again)."""

    open: list[ScanFinding] = field(default_factory=list)
    suppressed: dict[str, Suppression] = field(default_factory=dict)
    expired: dict[str, Suppression] = field(default_factory=dict)


def apply_suppressions(
    findings: Iterable[ScanFinding], rules: SuppressionFile, *, target: str, scanner: str, now: datetime
) -> Applied:
    out = Applied()
    for f in findings:
        covering = [s for s in rules.suppressions if s.covers(f, target=target, scanner=scanner)]
        live = next((s for s in covering if not s.expired(now)), None)
        if live is not None:
            out.suppressed[f.fingerprint] = live
            continue
        if covering:
            out.expired[f.fingerprint] = covering[0]
        out.open.append(f)
    return out
