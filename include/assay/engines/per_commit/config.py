"""What per-commit testing needs of a target: its repository, the Python its suites run on, the suites
and the gates. Plain pydantic models (unknown keys forbidden); ``assay.config`` composes them into a
target's config with what the other engines need of it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_SUITE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_DIST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")  # an extra or dependency-group name
_RESERVED_PYTEST_ARGS = ("--report-log", "--cov-report", "-p no:pytest_reportlog", "-p no:reportlog")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    # Sharding (assay.engines.per_commit.sharding): run the suite as this many mapped tasks, balanced by
    # the tests' recorded durations, and merge them into one suite run. "auto": enough shards for each to
    # take about shard_target_s, judged from the total test time of the suite's last passing run
    # (at most max_shards; 1 while nothing is recorded).
    shards: int | Literal["auto"] = Field(1)
    shard_target_s: int = Field(600, gt=0)
    max_shards: int = Field(8, ge=1, le=64)

    @field_validator("shards")
    @classmethod
    def _shard_count(cls, shards: int | str) -> int | str:
        if isinstance(shards, int) and not 1 <= shards <= 64:
            raise ValueError(f'shards must be between 1 and 64 (or "auto"), not {shards}')
        return shards

    # the sandbox's network for this suite (None: the target's sandbox.network), e.g. "host" for an
    # integration suite that needs a database on the host
    network: Literal["none", "host"] | None = None

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


class SandboxConfig(_Strict):
    """How the target's code runs (its tests, its build backend, its locustfile, mutants, its service): by
    default confined with bubblewrap (``assay.sandbox``): it sees the system directories, its interpreter and
    venv read-only, its checkout read-only, its task's output directory, a private ``/tmp``; never Airflow's or
    Assay's home (config, metadata and metrics databases, other targets' checkouts). As root it runs as
    ``uid`` (65534 ``nobody``; ``null`` keeps root's uid, without capabilities).

    ``network: none`` (default) gives it a network namespace of its own: only its own loopback. An
    integration suite that starts its services itself (a server on 127.0.0.1, an in-process fake, a
    testcontainers-free database such as SQLite) works there unchanged; one that must reach a service on the
    host or elsewhere (a PostgreSQL server, a registry) needs ``network: host``, for the target or just for
    that suite (``suites.<name>.network: host``). ``read_only`` exposes more host paths (absolute) read-only,
    e.g. a dataset directory. ``enabled: false`` marks the target trusted: its code runs unconfined, as the
    worker's user. A worker without bubblewrap (``apt-get install bubblewrap``) makes a sandboxed suite
    ERROR, never run unconfined.
    """

    enabled: bool = True
    network: Literal["none", "host"] = "none"
    uid: int | None = Field(65534, ge=1)
    read_only: list[str] = Field(default_factory=list)

    @field_validator("read_only")
    @classmethod
    def _absolute(cls, paths: list[str]) -> list[str]:
        for p in paths:
            if not p.startswith("/") or ".." in Path(p).parts:
                raise ValueError(f"sandbox.read_only path {p!r} must be absolute (no '..')")
        return paths

    def policy(self, network: Literal["none", "host"] | None = None) -> Any:
        """The :class:`assay.sandbox.SandboxPolicy` of this config (``network`` overrides), or None if trusted."""
        if not self.enabled:
            return None
        from assay.sandbox import SandboxPolicy

        return SandboxPolicy(network=network or self.network, uid=self.uid, read_only=tuple(self.read_only))


class RefPolicyConfig(_Strict):
    """Which commits ``assay_per_commit`` may check out and run: those reachable from the watched branches,
    and, with ``pull_requests: true``, from the repository's pull-request refs (``refs/pull/*``,
    ``refs/merge-requests/*``), i.e. code nobody merged yet."""

    pull_requests: bool = False


class CommitTargetConfig(_Strict):
    """A repository Assay tests, as per-commit testing sees it.

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
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    testable_refs: RefPolicyConfig = Field(default_factory=RefPolicyConfig)

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
    def _install_options(self) -> CommitTargetConfig:
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
