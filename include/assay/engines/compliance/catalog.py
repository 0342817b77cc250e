"""The control catalog: one YAML file per framework in the catalog directory (``gdpr.yaml``, ``hipaa.yaml``,
``sox.yaml``, or any file a user adds), modelled on Prowler's compliance files::

    framework: gdpr                    # = the file's stem
    name: GDPR
    version: "2016/679"
    report_name: gdpr_compliance       # the suite run's and the report's name (default: the framework)
    controls:
      - id: gdpr-art17-erasure         # unique in the catalog directory
        title: Erasure on request
        description: ...
        citations: ["GDPR Art. 17(1)", "GDPR Art. 12(3)"]
        severity: critical             # critical | high | medium | low
        mode: automated                # automated (>= 1 check) | manual (no check; counts in the score)
        checks:
          - id: gdpr.erasure           # a registered check (assay.engines.compliance.registry)
            params: {deadline_days: 30}   # validated against the check's params model
        pass_condition: ...
        evidence_kept: {what: ..., retention_days: 2557}

Loading validates everything and fails with a ConfigError naming the file and the dotted path:
``gdpr.yaml: controls[3].checks[0].id: unknown check 'gdpr.erasur' (known: ...)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assay.engines.compliance.registry import CheckSpec, get_check
from assay.errors import ConfigError
from assay.yamlfile import dotted, read_yaml

__all__ = [
    "CatalogCheck",
    "Control",
    "EvidenceKept",
    "Framework",
    "Mode",
    "Severity",
    "framework_names",
    "load_catalog",
    "load_framework",
]

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}")
_FRAMEWORK = re.compile(r"[a-z0-9][a-z0-9_]{0,62}")


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Mode(StrEnum):
    AUTOMATED = "automated"
    MANUAL = "manual"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CatalogCheck(_Strict):
    """A check a control runs, with its parameters (raw here; validated against the check's model on load)."""

    id: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)


class EvidenceKept(_Strict):
    what: str = Field(min_length=1)
    retention_days: int = Field(gt=0)


class Control(_Strict):
    id: str
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    citations: list[str]
    severity: Severity
    mode: Mode
    checks: list[CatalogCheck] = Field(default_factory=list)
    pass_condition: str = Field(min_length=1)
    evidence_kept: EvidenceKept

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.fullmatch(value):
            raise ValueError(f"{value!r} is not a control id (letters, digits and _ . : -, at most 200)")
        return value

    @field_validator("citations")
    @classmethod
    def _citations(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("missing citation: every control cites at least one requirement (e.g. 'GDPR Art. 17(1)')")
        blank = [i for i, c in enumerate(value) if not c.strip()]
        if blank:
            raise ValueError(f"citation [{blank[0]}] is empty")
        if len(set(value)) != len(value):
            raise ValueError(f"a citation is listed twice: {value}")
        return value

    @model_validator(mode="after")
    def _mode_matches_checks(self) -> Control:
        if self.mode is Mode.AUTOMATED and not self.checks:
            raise ValueError("an automated control maps to at least one check (or make it mode: manual)")
        if self.mode is Mode.MANUAL and self.checks:
            raise ValueError("a manual control has no checks (make it mode: automated to run them)")
        return self


class Framework(_Strict):
    framework: str
    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    description: str = ""
    report_name: str | None = None
    controls: list[Control] = Field(min_length=1)

    @field_validator("framework")
    @classmethod
    def _framework(cls, value: str) -> str:
        if not _FRAMEWORK.fullmatch(value):
            raise ValueError(f"{value!r} is not a framework name (lower-case letters, digits and _)")
        return value

    @property
    def suite_name(self) -> str:
        """The suite run's and report's name (DESIGN.md: gdpr_compliance, hipaa, sox)."""
        return self.report_name or self.framework

    def control(self, control_id: str) -> Control:
        for c in self.controls:
            if c.id == control_id:
                return c
        raise KeyError(f"control {control_id!r} is not in framework {self.framework!r}")


def load_check_params(path: str | Path | None) -> dict[str, dict[str, Any]]:
    """A deployment's own values for the checks' params: a YAML mapping check id -> params, merged over the
    catalog's params of that check wherever a control maps it (its table and column names, say). Unknown
    check ids are named when a framework is loaded with them."""
    if path is None:
        return {}
    path = Path(path)
    data = read_yaml(path, "compliance catalog file")
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, dict | None) for v in data.values()):
        raise ConfigError(f"{path.name}: must map check ids to their params (check id: {{param: value}})")
    return {str(k): dict(v or {}) for k, v in data.items()}


def load_framework(
    path: str | Path,
    *,
    lookup: Callable[[str], CheckSpec] = get_check,
    check_params: Mapping[str, Mapping[str, Any]] | None = None,
) -> Framework:
    """Read and validate one framework file: the schema, unique control ids, every check id registered
    (``lookup``, the registry by default) and its params valid for the check's params model, after
    ``check_params[check id]`` (a deployment's own values, :func:`load_check_params`) is merged over them."""
    path = Path(path)
    data = read_yaml(path, "compliance catalog file")
    where = path.name
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the top level must be a mapping with 'framework' and 'controls'")
    for check_id in check_params or {}:
        try:
            lookup(check_id)
        except KeyError as exc:
            raise ConfigError(f"check params: {exc.args[0] if exc.args else exc}") from None
    if check_params:
        for control in data.get("controls") or []:
            if isinstance(control, dict):
                for chk in control.get("checks") or []:
                    if isinstance(chk, dict) and chk.get("id") in check_params:
                        chk["params"] = {**(chk.get("params") or {}), **check_params[chk["id"]]}
    try:
        framework = Framework.model_validate(data)
    except ValidationError as exc:
        problems = [f"{where}: {dotted(e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
        raise ConfigError("\n".join(problems)) from None
    if framework.framework != path.stem:
        raise ConfigError(
            f"{where}: framework: {framework.framework!r} must match the file name {path.stem!r} "
            "(the file name is how a run selects the framework)"
        )
    seen: dict[str, int] = {}
    for i, control in enumerate(framework.controls):
        if control.id in seen:
            raise ConfigError(
                f"{where}: controls[{i}].id: duplicate control id {control.id!r} (also controls[{seen[control.id]}])"
            )
        seen[control.id] = i
        for j, chk in enumerate(control.checks):
            _validate_check(chk, f"{where}: controls[{i}].checks[{j}]", lookup)
    return framework


def _validate_check(chk: CatalogCheck, where: str, lookup: Callable[[str], CheckSpec]) -> None:
    try:
        spec = lookup(chk.id)
    except KeyError as exc:
        raise ConfigError(f"{where}.id: {exc.args[0] if exc.args else exc}") from None
    if spec.params_model is None:
        if chk.params:
            raise ConfigError(f"{where}.params: check {chk.id!r} takes no params, got {sorted(chk.params)}")
        return
    try:
        spec.params_model.model_validate(chk.params)
    except ValidationError as exc:
        problems = [
            f"{where}.params{('.' + dotted(e['loc'])) if e['loc'] else ''}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        raise ConfigError(f"bad params for check {chk.id!r}:\n" + "\n".join(problems)) from None


def framework_names(catalog_dir: str | Path) -> list[str]:
    """The frameworks of a catalog directory: the stems of its ``*.yaml`` files, sorted."""
    directory = Path(catalog_dir)
    if not directory.is_dir():
        raise ConfigError(f"compliance catalog directory {directory} does not exist")
    return sorted(p.stem for p in directory.glob("*.yaml"))


def load_catalog(
    catalog_dir: str | Path, frameworks: list[str] | None = None, *, lookup: Callable[[str], CheckSpec] = get_check
) -> dict[str, Framework]:
    """Every framework of the catalog directory (or those named), validated; a control id must be unique
    across the whole directory (waivers name controls by id)."""
    directory = Path(catalog_dir)
    available = framework_names(directory)
    wanted = available if frameworks is None else list(frameworks)
    unknown = [f for f in wanted if f not in available]
    if unknown:
        raise ConfigError(
            f"framework {unknown[0]!r} has no catalog file {unknown[0]}.yaml in {directory} "
            f"(frameworks: {', '.join(available) or 'none'})"
        )
    if not wanted:
        raise ConfigError(f"compliance catalog directory {directory} has no framework file (*.yaml)")
    loaded = {name: load_framework(directory / f"{name}.yaml", lookup=lookup) for name in wanted}
    owner: dict[str, str] = {}
    for name, fw in loaded.items():
        for i, control in enumerate(fw.controls):
            if control.id in owner:
                raise ConfigError(
                    f"{name}.yaml: controls[{i}].id: duplicate control id {control.id!r} (also in {owner[control.id]}.yaml)"
                )
            owner[control.id] = name
    return loaded
