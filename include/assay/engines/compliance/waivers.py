"""Waivers: approved, time-limited exceptions to a control, kept in a versioned YAML file (in git)::

    version: 1
    waivers:
      - id: W-2026-014
        control: hipaa-312a2iv-encryption-at-rest
        scope: "store:legacy_*"            # fnmatch glob over resources; default "*" (all)
        justification: legacy store is read-only and deleted in Q1
        approver: jane.doe (CISO)
        expires: 2027-03-31                # required: a waiver never lasts for ever

A waiver applies to a FAIL resource of its control while ``now`` is on or before ``expires`` (UTC date); the
resource is then WAIVED (its finding kept, marked waived). An expired waiver no longer applies and the
control's message says ``waiver W-2026-014 expired on 2027-03-31``. ERROR is never waived: what could not
be checked cannot be accepted as a risk.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assay.errors import ConfigError
from assay.yamlfile import dotted, read_yaml

__all__ = ["Waiver", "WaiverFile", "load_waivers", "parse_waivers"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Waiver(_Strict):
    id: str = Field(min_length=1)
    control: str = Field(min_length=1)
    scope: str = Field(default="*", min_length=1)
    justification: str = Field(min_length=1)
    approver: str = Field(min_length=1)
    expires: date

    def covers(self, control_id: str, resource: str) -> bool:
        return self.control == control_id and fnmatch.fnmatchcase(resource, self.scope)

    def expired(self, now: datetime) -> bool:
        """Valid through the whole of its expiry day (UTC)."""
        return now.date() > self.expires

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "control": self.control,
            "scope": self.scope,
            "justification": self.justification,
            "approver": self.approver,
            "expires": self.expires.isoformat(),
        }


class WaiverFile(_Strict):
    version: Literal[1]
    waivers: list[Waiver] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> WaiverFile:
        seen: dict[str, int] = {}
        for i, w in enumerate(self.waivers):
            if w.id in seen:
                raise ValueError(f"waivers[{i}].id: waiver id {w.id!r} is also waivers[{seen[w.id]}]")
            seen[w.id] = i
        return self

    def for_control(self, control_id: str) -> list[Waiver]:
        return [w for w in self.waivers if w.control == control_id]

    def check_controls(self, known: Iterable[str], source: str = "waivers") -> None:
        """Every waiver names a control of the catalog (a typo would otherwise waive nothing, silently)."""
        known = set(known)
        for i, w in enumerate(self.waivers):
            if w.control not in known:
                raise ConfigError(
                    f"{source}: waivers[{i}].control: waiver {w.id!r} names control {w.control!r}, which no "
                    "framework of the catalog has"
                )


def parse_waivers(data: Any, source: str = "waivers") -> WaiverFile:
    if data is None:
        raise ConfigError(f"{source}: empty waiver file; write 'version: 1' and 'waivers: []'")
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping with 'version' and 'waivers'")
    try:
        return WaiverFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            msg = e["msg"].removeprefix("Value error, ")
            if e["type"] == "missing" and e["loc"][-1] == "expires":
                msg = "a waiver needs an expiry date (expires: YYYY-MM-DD); waivers never last for ever"
            problems.append(f"{source}: {dotted(e['loc'])}: {msg}")
        raise ConfigError("\n".join(problems)) from None


def load_waivers(path: str | Path | None) -> WaiverFile:
    """The waivers at ``path``; no path (None) is no waiver. A path that does not exist is a ConfigError."""
    if path is None:
        return WaiverFile(version=1)
    path = Path(path)
    return parse_waivers(read_yaml(path, "waiver file"), path.name)
