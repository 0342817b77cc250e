"""``include/config/assay.yaml``: targets, their suites and gates, alerting.

Loaded once per task, validated by pydantic with unknown keys forbidden, so a typo fails loudly with the
dotted path of the bad key. String values may use ``${VAR}`` or ``${VAR:-default}``; ``ASSAY_HOME``
defaults to ``.assay`` beside the repository root, ``ASSAY_REPO`` to the checkout itself.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assay.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_PATH = REPO_ROOT / "include" / "config" / "assay.yaml"
_TARGET_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
_ENV_REF = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?::-(?P<default>[^{}]*))?\}")


def assay_home() -> Path:
    """Where Assay keeps mirrors, worktrees, environments and the outbox (``ASSAY_HOME``)."""
    return Path(os.environ.get("ASSAY_HOME") or REPO_ROOT / ".assay").resolve()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_SUITE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_DIST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")  # an extra or dependency-group name
_RESERVED_PYTEST_ARGS = ("--report-log", "--cov-report", "-p no:pytest_reportlog", "-p no:reportlog")


def _relative_path(p: str, what: str) -> str:
    if not p or p.startswith(("/", "~")) or ".." in Path(p).parts:
        raise ValueError(f"{what} {p!r} must be a path relative to the repository root")
    return p


class SuiteConfig(_Strict):
    """One pytest suite of a target: which tests, how long it may take, how parallel."""

    paths: list[str] = Field(default_factory=lambda: ["tests"])
    source: str | None = None  # what coverage measures for this suite (default: the target's source)
    marker: str | None = None
    timeout_s: int = Field(600, gt=0, le=24 * 3600)
    workers: int | Literal["auto"] = 0
    extra_args: list[str] = Field(default_factory=list)

    @field_validator("paths")
    @classmethod
    def _relative_paths(cls, paths: list[str]) -> list[str]:
        for p in paths:
            if p.startswith("/") or ".." in Path(p).parts:
                raise ValueError(f"suite path {p!r} must be relative to the repository root")
        return paths

    @field_validator("extra_args")
    @classmethod
    def _not_ours(cls, args: list[str]) -> list[str]:
        joined = " ".join(args)
        for reserved in _RESERVED_PYTEST_ARGS:
            if reserved in joined:
                raise ValueError(
                    f"extra_args must not contain {reserved!r}: Assay reads pytest's report log "
                    "and coverage JSON itself"
                )
        return args


class GateConfig(_Strict):
    """The per-commit gates of a target (``assay.engines.per_commit.gates``).

    ``module_coverage_min`` is the line coverage every measured file of the coverage suite must reach
    (default: ``coverage_min``, so a module at 40% cannot pass behind a high total; 0 turns it off);
    ``module_coverage_exclude`` lists glob patterns (fnmatch, ``*`` also crosses ``/``) of files it skips.
    """

    all_tests_pass: bool = True
    coverage_min: float = Field(80.0, ge=0, le=100)
    coverage_suite: str = "unit"
    critical_paths: list[str] = Field(default_factory=list)
    coverage_drop_max: float = Field(5.0, ge=0, le=100)
    module_coverage_min: float | None = Field(None, ge=0, le=100)
    module_coverage_exclude: list[str] = Field(default_factory=list)

    @property
    def module_minimum(self) -> float:
        """The per-module minimum in force (``coverage_min`` unless set)."""
        return self.coverage_min if self.module_coverage_min is None else self.module_coverage_min


class CommitStatusConfig(_Strict):
    """Post the verdict as a commit status on the git host (GitHub or GitLab REST API)."""

    provider: Literal["github", "gitlab"]
    conn_id: str
    repository: str  # "owner/name" on GitHub, project id or "group/name" on GitLab
    context: str = "assay/per-commit"


class ServiceConfig(_Strict):
    """How the DAGs that need the target's service running (load tests, chaos) start it.

    ``argv`` placeholders: ``{python}`` (the worker's interpreter), ``{port}`` (a free loopback port),
    ``{workers}``, ``{tokens_file}`` (a file of fresh per-run tokens: reader, ml-engineer, admin),
    ``{work_dir}`` (a scratch directory of the task try). The DAG always stops what it started.
    The service sees the worker's environment minus every Airflow and Assay variable (as a target's
    pytest suites do) plus ``env``, the variables it needs (same placeholders as ``argv``).
    """

    argv: list[str]
    cwd: str
    workers: int = Field(1, ge=1, le=64)
    ready_timeout_s: float = Field(120, gt=0)
    health_path: str = "/health"
    env: dict[str, str] = Field(default_factory=dict)


class TargetConfig(_Strict):
    """A repository Assay tests.

    ``python: venv`` runs its suites in a virtualenv that holds only third-party dependencies, cached by
    everything that defines them; the commit's own project is installed into a per-run layer from the
    checked-out commit (assay.engines.per_commit.python_env). Test dependencies come from any mix of
    ``requirements`` files, the project's ``extras`` (``.[test]``), PEP 735 ``dependency_groups``
    (``pip install --group``) and an explicit ``install_command``. ``python: worker`` uses the worker's
    own interpreter (for a target whose dependencies the worker already has).
    """

    repo: str
    watch_branches: list[str] = Field(default_factory=lambda: ["main"])
    python: Literal["worker", "venv"] = "venv"
    # None: requirements.txt when the commit has one (and nothing else is declared)
    requirements: list[str] | None = None
    extras: list[str] = Field(default_factory=list)  # optional-dependencies of the project: pip install ".[x]"
    dependency_groups: list[str] = Field(default_factory=list)  # PEP 735 groups: pip install --group x
    install_command: list[str] | None = None  # argv run in the checkout; {python} is the venv's interpreter
    dependency_files: list[str] = Field(default_factory=list)  # more files that define the deps (cache key)
    install_project: bool | None = None  # None: when the commit has a pyproject.toml/setup.py to install
    source: str | None = None  # package or directory measured by coverage
    suites: dict[str, SuiteConfig] = Field(
        default_factory=lambda: {
            "unit": SuiteConfig(marker="unit", timeout_s=600, workers="auto"),
            "integration": SuiteConfig(marker="integration", timeout_s=1800),
        }
    )
    gates: GateConfig = Field(default_factory=GateConfig)
    commit_status: CommitStatusConfig | None = None
    service: ServiceConfig | None = None
    api_conn_id: str | None = None  # an already running service: HTTP connection (password = token)
    performance: dict[str, Any] | None = None  # assay.engines.performance PerformanceSuitesConfig
    chaos: dict[str, Any] | None = None  # {experiments_dir, experiments: [...], workers, timeout_s, env}

    @field_validator("requirements", mode="before")
    @classmethod
    def _requirements_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("requirements", "dependency_files")
    @classmethod
    def _dependency_paths(cls, paths: list[str] | None) -> list[str] | None:
        for p in paths or []:
            _relative_path(p, "file")
        return paths

    @field_validator("extras", "dependency_groups")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not _DIST_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid extra or dependency-group name")
        return names

    @field_validator("install_command")
    @classmethod
    def _command(cls, argv: list[str] | None) -> list[str] | None:
        if argv is not None and (not argv or not argv[0].strip()):
            raise ValueError(
                "install_command must be a non-empty argv list, e.g. "
                '["{python}", "-m", "pip", "install", "-r", "ci/test-requirements.txt"]'
            )
        return argv

    @field_validator("suites")
    @classmethod
    def _suite_names(cls, suites: dict[str, SuiteConfig]) -> dict[str, SuiteConfig]:
        if not suites:
            raise ValueError("at least one suite must be configured")
        for name in suites:
            if not _SUITE_NAME.fullmatch(name):
                raise ValueError(f"suite name {name!r} must match {_SUITE_NAME.pattern}")
        return suites

    @model_validator(mode="after")
    def _install_options(self) -> TargetConfig:
        if self.python == "worker" and (self.extras or self.dependency_groups or self.install_command):
            raise ValueError(
                "extras, dependency_groups and install_command need python: venv (python: worker "
                "runs on the worker's own interpreter and installs nothing into it)"
            )
        if self.extras and self.install_project is False:
            raise ValueError(
                "extras are optional dependencies of the project: they need install_project true (or unset)"
            )
        return self

    @field_validator("performance")
    @classmethod
    def _performance(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        from assay.engines.performance.config import PerformanceSuitesConfig

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
        if value is None:
            return None
        allowed = ("experiments_dir", "experiments", "timeout_s", "env", "workers")
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise ValueError(f"unknown key(s) {unknown}; allowed: {', '.join(allowed)}")
        directory = value.get("experiments_dir")
        for name in value.get("experiments") or []:
            if not chaos_experiment_path(value, name).is_file():
                where = f"in {directory} (chaos.experiments_dir)" if directory else "named by chaos.experiments_dir"
                raise ValueError(f"chaos experiment {name!r} is neither {where} nor a file")
        return value

    def chaos_experiment(self, name: str) -> Path:
        """The file of chaos experiment ``name``: ``<experiments_dir>/<name>.json``, else ``name`` as a path."""
        return chaos_experiment_path(self.chaos or {}, name)


def chaos_experiment_path(chaos: dict[str, Any], name: str) -> Path:
    """``<chaos.experiments_dir>/<name>.json`` when that file exists, else ``name`` itself as a path."""
    directory = chaos.get("experiments_dir")
    if directory:
        named = Path(directory) / f"{name}.json"
        if named.is_file():
            return named
    return Path(name)


class AlertRulesConfig(_Strict):
    test_failure_rate_max: float = Field(0.10, ge=0, le=1)
    coverage_drop_max_points: float = Field(5.0, ge=0, le=100)


class AlertsConfig(_Strict):
    slack_conn_id: str | None = "assay_slack"
    smtp_conn_id: str | None = "assay_smtp"
    email_to: list[str] = Field(default_factory=list)
    max_failed_tests: int = Field(10, ge=0)
    rules: AlertRulesConfig = Field(default_factory=AlertRulesConfig)


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
        from assay.sources import DataSource

        return None if value is None else _validated(DataSource.from_dict, value)

    @field_validator("drift_schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        from croniter import croniter

        if value is not None and not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a valid cron expression")
        return value

    @field_validator("drift")
    @classmethod
    def _drift(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        from assay.engines.drift import DriftConfig

        return None if value is None else _validated(DriftConfig.from_mapping, value)

    @field_validator("concept")
    @classmethod
    def _concept(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        from assay.engines.drift import DecayConfig

        return None if value is None else _validated(DecayConfig.from_mapping, value)


class DataQualityConfig(_Strict):
    """Where expectation suites and golden datasets live, and which golden datasets every run validates.

    ``suites_dir`` holds ``<name>.json`` suites (a dataset's ``quality_suite`` may name one, or give a
    file path); ``golden_dir`` holds each golden dataset as ``<name>.csv`` plus ``<name>.yaml``.
    """

    suites_dir: str | None = None
    golden_dir: str | None = None
    golden: list[str] = Field(default_factory=list)  # golden datasets (in golden_dir) validated on every run
    report_dir: str | None = None  # default: $ASSAY_HOME/reports/data_quality

    @model_validator(mode="after")
    def _golden_needs_a_directory(self) -> DataQualityConfig:
        if self.golden and not self.golden_dir:
            raise ValueError("golden datasets are listed but golden_dir (the folder of their .csv/.yaml) is not set")
        return self


class ModelConfig(_Strict):
    """A model whose new versions must earn their place (assay_model_validation).

    A version ``V`` is the file ``<versions_dir>/<V>.pt`` loaded by ``loader``; ``job`` holds the rest of
    an ``assay.engines.model_validation`` job (evaluation data, thresholds, sections).
    """

    asset: str
    versions_dir: str
    loader: str  # "module:function" called with a version's path, returning the model
    sys_path: list[str] = Field(default_factory=list)
    file_suffix: str = ".pt"
    job: dict[str, Any] = Field(default_factory=dict)


class ABExperimentConfig(_Strict):
    """Champion vs challenger outcomes (rows: metric, variant, exposures, conversions) and the analysis."""

    source: dict[str, Any]
    analysis: dict[str, Any] = Field(default_factory=dict)  # assay.engines.ab_testing config

    @field_validator("source")
    @classmethod
    def _source(cls, value: dict[str, Any]) -> dict[str, Any]:
        from assay.sources import DataSource

        return _validated(DataSource.from_dict, value)

    @field_validator("analysis")
    @classmethod
    def _analysis(cls, value: dict[str, Any]) -> dict[str, Any]:
        from assay.engines.ab_testing import parse_ab_config

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
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{cfg_path} is not valid YAML: {exc}") from None
    return parse_config(data, str(cfg_path))
