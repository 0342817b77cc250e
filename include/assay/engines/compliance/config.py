"""The ``compliance:`` section of ``assay.yaml`` (pydantic and the standard library only: DAG files load it
at parse time)::

    compliance:
      catalog_dir: ${ASSAY_REPO}/include/compliance      # one <framework>.yaml per framework
      waivers: ${ASSAY_REPO}/include/config/compliance_waivers.yaml   # optional
      frameworks: [gdpr, hipaa, sox]                     # default: every file of catalog_dir
      inventory: ${ASSAY_REPO}/include/config/personal_data.yaml   # assay.inventory
      stores:                                            # name -> SQLAlchemy URL (${VAR} allowed)
        main_db: ${MAIN_DB_URL:-sqlite:////tmp/main.db}
      evidence_days: 2557                                # evidence kept 7 years (SOX §802)
      api:
        base_url: null                                   # null: the target's service started for the audit
        roles: {admin: ASSAY_API_ADMIN_TOKEN}            # role -> name of the env var holding its token
        tokens_file: null                                # or a JSON file {role: token}
      schedule: "0 6 * * 1"                              # Monday 06:00 UTC

``${VAR}`` strings are expanded by :func:`assay.config.parse_config` before this model validates them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assay.errors import ConfigError

__all__ = ["DEFAULT_CATALOG_DIR", "ComplianceApiConfig", "ComplianceConfig"]

DEFAULT_CATALOG_DIR = Path(__file__).resolve().parents[3] / "compliance"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,62}")
_FRAMEWORK = re.compile(r"[a-z0-9][a-z0-9_]{0,62}")
_ENV_VAR = re.compile(r"[A-Z_][A-Z0-9_]*")
_URL = re.compile(r"[a-z][a-z0-9+]*://")
_CRON_FIELD = re.compile(r"[0-9*/,\-A-Za-z?LW#]+")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ComplianceApiConfig(_Strict):
    """How the audit calls the service under test: its base URL and a token per role."""

    base_url: str | None = None
    roles: dict[str, str] = Field(default_factory=dict)
    tokens_file: str | None = None
    timeout_s: float = Field(default=10.0, gt=0, le=300)

    @field_validator("roles")
    @classmethod
    def _roles(cls, roles: dict[str, str]) -> dict[str, str]:
        for role, var in roles.items():
            if not _NAME.fullmatch(role):
                raise ValueError(f"role {role!r} must match {_NAME.pattern}")
            if not _ENV_VAR.fullmatch(var):
                raise ValueError(
                    f"role {role!r}: {var!r} is not an environment variable name; give the NAME of the variable "
                    "holding the token (never the token itself), or use tokens_file"
                )
        return roles

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"https?://", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    def tokens(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """Role -> token: from ``tokens_file`` (a JSON object), then each role's environment variable.
        A variable that is not set, or a file that cannot be read, is a ConfigError naming it."""
        env = os.environ if environ is None else environ
        out: dict[str, str] = {}
        if self.tokens_file:
            try:
                data = json.loads(Path(self.tokens_file).read_text(encoding="utf-8"))
            except OSError as exc:
                raise ConfigError(
                    f"compliance.api.tokens_file: cannot read {self.tokens_file}: {exc.strerror}"
                ) from None
            except json.JSONDecodeError as exc:
                raise ConfigError(f"compliance.api.tokens_file: {self.tokens_file} is not JSON: {exc}") from None
            if not isinstance(data, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in data.items()
            ):
                raise ConfigError(f"compliance.api.tokens_file: {self.tokens_file} must hold an object {{role: token}}")
            out.update(data)
        for role, var in self.roles.items():
            if not env.get(var):
                raise ConfigError(f"compliance.api.roles.{role}: environment variable {var} is not set")
            out[role] = env[var]
        return out


class ComplianceConfig(_Strict):
    """Where the catalog, waivers and inventory are, the stores the checks read, how long evidence is kept."""

    catalog_dir: str = str(DEFAULT_CATALOG_DIR)
    waivers: str | None = None
    frameworks: list[str] | None = None
    inventory: str | None = None
    stores: dict[str, str] = Field(default_factory=dict)
    evidence_days: int = Field(default=2557, ge=1)
    api: ComplianceApiConfig = Field(default_factory=ComplianceApiConfig)
    schedule: str = "0 6 * * 1"

    @field_validator("frameworks")
    @classmethod
    def _frameworks(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("list at least one framework, or leave frameworks unset for every catalog file")
        for name in value:
            if not _FRAMEWORK.fullmatch(name):
                raise ValueError(f"{name!r} is not a framework name (the stem of a catalog file, e.g. 'gdpr')")
        if len(set(value)) != len(value):
            raise ValueError(f"a framework is listed twice: {value}")
        return value

    @field_validator("stores")
    @classmethod
    def _stores(cls, stores: dict[str, str]) -> dict[str, str]:
        for name, url in stores.items():
            if not _NAME.fullmatch(name):
                raise ValueError(f"store name {name!r} must match {_NAME.pattern}")
            if not _URL.match(url):
                raise ValueError(f"store {name!r}: {url!r} is not a SQLAlchemy URL (dialect[+driver]://...)")
        return stores

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        parts = value.split()
        if len(parts) != 5 or not all(_CRON_FIELD.fullmatch(p) for p in parts):
            raise ValueError(f"{value!r} is not a 5-field cron expression (default '0 6 * * 1', Monday 06:00 UTC)")
        return value

    @model_validator(mode="after")
    def _frameworks_exist(self) -> ComplianceConfig:
        directory = Path(self.catalog_dir)
        if self.frameworks and directory.is_dir():
            missing = [f for f in self.frameworks if not (directory / f"{f}.yaml").is_file()]
            if missing:
                have = sorted(p.stem for p in directory.glob("*.yaml"))
                raise ValueError(
                    f"frameworks: {missing[0]!r} has no catalog file {missing[0]}.yaml in {directory} "
                    f"(available: {', '.join(have) or 'none'})"
                )
        return self

    def framework_names(self) -> list[str]:
        """The frameworks to audit: those listed, else every ``*.yaml`` of the catalog directory."""
        if self.frameworks is not None:
            return list(self.frameworks)
        directory = Path(self.catalog_dir)
        if not directory.is_dir():
            raise ConfigError(f"compliance.catalog_dir: {directory} is not a directory")
        return sorted(p.stem for p in directory.glob("*.yaml"))
