"""``include/config/assay.yaml``: targets, their suites and gates, datasets, models, alerting.

The composition root of the config: each engine owns its config model (``assay.engines.<engine>.config``,
``assay.alerts.config``, ``assay.service_config``) and this module composes them into one
:class:`AssayConfig`; nothing in ``assay`` imports this module back (tests/unit/test_layering.py). Every
model it imports is light (pydantic and the standard library), so loading the config costs no engine
import: DAG files load it at parse time.

Loaded once per task, validated by pydantic with unknown keys forbidden, so a typo fails loudly with the
dotted path of the bad key. String values may use ``${VAR}`` or ``${VAR:-default}``; ``ASSAY_HOME``
defaults to ``.assay`` beside the repository root, ``ASSAY_REPO`` to the checkout itself.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assay.alerts.config import AlertRulesConfig, AlertsConfig, CommitStatusConfig
from assay.engines.ab_testing.config import parse_ab_config
from assay.engines.chaos.config import experiment_path, validate_chaos_section
from assay.engines.compliance.config import ComplianceConfig
from assay.engines.data_quality.config import DataQualityConfig
from assay.engines.drift.config import DecayConfig, DriftConfig
from assay.engines.model_validation.config import ModelConfig
from assay.engines.per_commit.config import CommitTargetConfig, GateConfig, SuiteConfig
from assay.engines.performance.config import MeasurementIsolationConfig, PerformanceSuitesConfig
from assay.engines.security.config import SecurityTargetConfig
from assay.engines.test_data.config import TestDataConfig
from assay.errors import ConfigError
from assay.isolation_config import IsolationConfig
from assay.paths import REPO_ROOT, assay_home
from assay.service_config import ServiceConfig
from assay.sources import DataSource

__all__ = [
    "ABExperimentConfig",
    "AlertRulesConfig",
    "AlertsConfig",
    "AssayConfig",
    "CommitStatusConfig",
    "DataQualityConfig",
    "DatasetConfig",
    "GateConfig",
    "IsolationConfig",
    "ModelConfig",
    "ServiceConfig",
    "SuiteConfig",
    "TargetConfig",
    "assay_home",
    "load_config",
    "parse_config",
]

DEFAULT_CONFIG_PATH = REPO_ROOT / "include" / "config" / "assay.yaml"
_TARGET_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it: 10x faster
_ENV_REF = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?::-(?P<default>[^{}]*))?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetConfig(CommitTargetConfig):
    """A repository Assay tests: what per-commit testing needs of it (:class:`CommitTargetConfig`: the
    repository, its Python, suites and gates), and what the other engines need: the commit status to post,
    its running service (started by Assay, or reached through ``api_conn_id``), performance and chaos."""

    commit_status: CommitStatusConfig | None = None
    service: ServiceConfig | None = None
    api_conn_id: str | None = None  # an already running service: HTTP connection (password = token)
    performance: dict[str, Any] | None = None  # assay.engines.performance PerformanceSuitesConfig
    chaos: dict[str, Any] | None = None  # {experiments_dir, experiments: [...], workers, timeout_s, env}
    security: SecurityTargetConfig = Field(default_factory=SecurityTargetConfig)  # assay_security_scan

    @field_validator("performance")
    @classmethod
    def _performance(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        load_test = value.get("load_test")
        probe = dict(value) | ({"load_test": {"host": "http://127.0.0.1"} | load_test} if load_test else {})
        try:
            PerformanceSuitesConfig.model_validate(probe)  # host is filled in when the service runs
        except ValidationError as exc:
            raise ValueError(
                "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            ) from None
        return value

    @field_validator("chaos")
    @classmethod
    def _chaos(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else validate_chaos_section(value)

    def chaos_experiment(self, name: str) -> Path:
        """The file of chaos experiment ``name``: ``<experiments_dir>/<name>.json``, else ``name`` as a path."""
        return experiment_path(self.chaos or {}, name)


def _validated(check, value: Any) -> Any:
    """Run an engine's own validator inside pydantic, so its ConfigError is reported with the key path."""
    try:
        check(value)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return value


class DatasetConfig(_Strict):
    """A dataset Assay watches: where its reference and current data are, and what to check.

    Sources use one shape (:mod:`assay.sources`): ``{kind: parquet|csv|sql, path | query, conn_id, params,
    read_options, name, chunk_rows}``.
    """

    current: dict[str, Any]
    reference: dict[str, Any] | None = None
    asset: str | None = None  # URI of the Airflow Asset updated when new current data lands
    drift_schedule: str | None = None  # cron overriding the global drift_schedule for this dataset
    quality_suite: str | None = None  # a suite file, or a suite name in data_quality.suites_dir
    drift: dict[str, Any] | None = None  # assay.engines.drift DriftConfig fields
    concept: dict[str, Any] | None = None  # assay.engines.drift DecayConfig fields (labels arrive later)

    @field_validator("current", "reference")
    @classmethod
    def _source(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else _validated(DataSource.from_dict, value)

    @field_validator("drift_schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a valid cron expression")
        return value

    @field_validator("drift")
    @classmethod
    def _drift(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else _validated(DriftConfig.from_mapping, value)

    @field_validator("concept")
    @classmethod
    def _concept(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else _validated(DecayConfig.from_mapping, value)


class ABExperimentConfig(_Strict):
    """Champion vs challenger outcomes (rows: metric, variant, exposures, conversions) and the analysis."""

    source: dict[str, Any]
    analysis: dict[str, Any] = Field(default_factory=dict)  # assay.engines.ab_testing config

    @field_validator("source")
    @classmethod
    def _source(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _validated(DataSource.from_dict, value)

    @field_validator("analysis")
    @classmethod
    def _analysis(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _validated(parse_ab_config, value)


class AssayConfig(_Strict):
    airflow_base_url: str = "http://127.0.0.1:8080"
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    targets: dict[str, TargetConfig]
    datasets: dict[str, DatasetConfig] = Field(default_factory=dict)
    drift_schedule: str = "0 3 * * 1"  # weekly; a new current-data Asset event also triggers the check
    data_quality: DataQualityConfig = Field(default_factory=DataQualityConfig)
    data_quality_schedule: str = "0 4 * * *"
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    ab_experiments: dict[str, ABExperimentConfig] = Field(default_factory=dict)
    compliance: ComplianceConfig | None = None  # the weekly GDPR / HIPAA / SOX audit (assay.engines.compliance)
    test_data: TestDataConfig | None = None  # assay_test_data (assay.engines.test_data)
    # where per-commit suites run: the worker's process (local) or a container per task (assay.isolation_config)
    isolation: IsolationConfig = Field(default_factory=IsolationConfig)
    # the measurements' Airflow pool and Celery queue, and when a run is taken as disturbed
    performance_isolation: MeasurementIsolationConfig = Field(default_factory=MeasurementIsolationConfig)

    @field_validator("compliance")
    @classmethod
    def _compliance_schedule(cls, value: ComplianceConfig | None) -> ComplianceConfig | None:
        if value is not None and not croniter.is_valid(value.schedule):
            raise ValueError(f"schedule {value.schedule!r} is not a valid cron expression")
        return value

    @field_validator("targets")
    @classmethod
    def _target_names(cls, targets: dict[str, TargetConfig]) -> dict[str, TargetConfig]:
        if not targets:
            raise ValueError("at least one target must be configured")
        for name in targets:
            if not _TARGET_NAME.fullmatch(name):
                raise ValueError(f"target name {name!r} must match {_TARGET_NAME.pattern}")
        return targets

    @model_validator(mode="after")
    def _suite_names_need_a_directory(self) -> AssayConfig:
        if self.data_quality.suites_dir:
            return self
        for name, ds in self.datasets.items():
            suite = Path(ds.quality_suite or "x.json")
            if suite.suffix != ".json" and suite.parent == Path("."):  # a bare name, as data_quality reads it
                raise ValueError(
                    f"datasets.{name}.quality_suite {ds.quality_suite!r} is a suite name, but "
                    "data_quality.suites_dir is not set: set it, or give the suite's .json file path"
                )
        return self

    def drift_cron(self, dataset: str) -> str:
        """The cron a dataset's scheduled drift check follows: its own, else the global one."""
        return self.datasets[dataset].drift_schedule or self.drift_schedule

    def target(self, name: str) -> TargetConfig:
        try:
            return self.targets[name]
        except KeyError:
            known = ", ".join(sorted(self.targets))
            raise ConfigError(f"target {name!r} is not configured; configured targets: {known}") from None


def _expand(value: Any, where: str) -> Any:
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name, default = match.group("name"), match.group("default")
            if name in os.environ:
                return os.environ[name]
            if name == "ASSAY_HOME":
                return str(assay_home())
            if name == "ASSAY_REPO":
                return str(REPO_ROOT)
            if default is not None:
                return default
            raise ConfigError(f"{where}: environment variable {name} is not set and has no default")

        for _ in range(5):  # innermost references first, so defaults may nest: ${A:-${B}/x}
            expanded = _ENV_REF.sub(sub, value)
            if expanded == value:
                break
            value = expanded
        return value
    if isinstance(value, dict):
        return {k: _expand(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def parse_config(data: Any, source: str = "<config>") -> AssayConfig:
    """Validate already-loaded YAML data; errors name the dotted path of every bad key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping with a 'targets' key")
    try:
        return AssayConfig.model_validate(_expand(data, ""))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "<top level>"
            problems.append(f"{loc}: {err['msg']}")
        raise ConfigError(f"{source} is invalid:\n  " + "\n  ".join(problems)) from None


def load_config(path: str | os.PathLike[str] | None = None) -> AssayConfig:
    """Load and validate the config from ``path``, ``$ASSAY_CONFIG`` or the default location."""
    cfg_path = Path(path or os.environ.get("ASSAY_CONFIG") or DEFAULT_CONFIG_PATH)
    try:
        text = cfg_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read Assay config {cfg_path}: {exc.strerror}") from None
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{cfg_path} is not valid YAML: {exc}") from None
    return parse_config(data, str(cfg_path))
