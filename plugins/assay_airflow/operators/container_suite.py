"""A per-commit suite in a container per task (``isolation.backend`` kubernetes or docker), never in the worker's
own process; and :func:`suite_task`, which picks the suite operator the config asks for.

The split of work:

* on the worker (this operator, before the container): resolve the commit from XCom, check it out (git, with
  the network and the repository's credentials, stays on the worker), write the target's per-commit config as
  ``target.json`` into the task's output directory and compose the container's command;
* in the container (the provider's operator: ``KubernetesPodOperator`` / ``DockerOperator``): ``python -m
  assay.engines.per_commit.run_in_container`` runs the suite on the worktree and the cached venv and writes
  ``result.json`` beside pytest's report log and coverage JSON. It has no metrics DB, no Airflow connection,
  no environment of the worker, and no network unless configured;
* on the worker again (after the container ended, whatever its exit): read ``result.json`` from the shared
  volume and record it with :meth:`AssayOperator.record_result`, exactly as :class:`PytestSuiteOperator`
  records a suite it ran itself, then ``raise_for``. A container that ended without a readable
  ``result.json`` is ERROR (retryable) with the tests its report log shows finished, never PASS; so is a
  container that failed although a ``result.json`` is there (the runner exits 0 once it wrote it: the suite's
  own code may have written the file and killed the runner).

The worktree, the venv cache and the output directory must be under ``$ASSAY_HOME``: the volume the worker
shares with the container. Only its ``git``, venv-cache and ``results`` directories are mounted in the container
(:func:`shared_dirs`), each at the worker's path.

The provider operators are imported only by :mod:`.kubernetes_suite` and :mod:`.docker_suite`, and those
only when the config selects them: a DAG file with the default ``local`` backend imports neither provider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowTaskTimeout

from assay.config import AssayConfig, TargetConfig, assay_home
from assay.engines.per_commit import (
    RESULT_FILE,
    SuiteResult,
    container_argv,
    interrupted_suite_result,
    read_suite_result,
    write_shard_spec,
    write_target_config,
)
from assay.engines.per_commit.sharding import ShardSpec
from assay.errors import ConfigError, ToolError
from assay.isolation_config import IsolationConfig
from assay.redaction import strip_url_credentials
from assay.status import Status
from assay_airflow.operators.per_commit import PytestSuiteOperator, envs_root, workspace

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = [
    "CONTAINER_ENV",
    "ISOLATION_LABEL",
    "ContainerSuiteOperator",
    "container_env",
    "shared_dirs",
    "suite_operator_class",
    "suite_task",
]

#: the label every suite pod / container carries (deploy/kubernetes/suite-network-policy.yaml selects it)
ISOLATION_LABEL = {"assay.io/isolation": "suite"}
#: the only environment a suite container gets (beyond the image's own ENV): nothing of the worker's
CONTAINER_ENV = {"HOME": "/tmp", "TMPDIR": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"}


def container_env(mount: Path) -> dict[str, str]:
    """The suite container's environment: a writable home on the /tmp scratch space (the root filesystem is
    read-only) and ``ASSAY_HOME`` at the shared volume; no connection, no secret, no ``AIRFLOW__*``."""
    return CONTAINER_ENV | {"ASSAY_HOME": str(mount)}


def shared_dirs() -> list[Path]:
    """The directories of ``$ASSAY_HOME`` a suite container sees, at the worker's paths: ``git`` (mirrors and
    worktrees), the venv cache (``ASSAY_ENVS_DIR``, by default ``$ASSAY_HOME/envs``) and ``results`` (the tasks'
    output directories). Nothing else of ``$ASSAY_HOME`` (the metrics outbox, test-data snapshots, caches)."""
    return [workspace().root.resolve(), envs_root().resolve(), (assay_home() / "results").resolve()]


def suite_operator_class(config: AssayConfig | IsolationConfig) -> type:
    """The operator class that runs a per-commit suite for ``config``'s ``isolation.backend``."""
    backend = (config.isolation if isinstance(config, AssayConfig) else config).backend
    if backend == "kubernetes":
        from assay_airflow.operators.kubernetes_suite import KubernetesSuiteOperator

        return KubernetesSuiteOperator
    if backend == "docker":
        from assay_airflow.operators.docker_suite import DockerSuiteOperator

        return DockerSuiteOperator
    from assay_airflow.operators.per_commit import PytestSuiteOperator

    return PytestSuiteOperator


def suite_task(config: AssayConfig, **partial_kwargs: Any) -> Any:
    """The ``partial`` of the per-commit suite task for the configured backend, to ``.expand(suite=...)``:
    :class:`PytestSuiteOperator` for ``local`` (the worker's own process, as before), else the container
    operator of ``kubernetes`` / ``docker``."""
    return suite_operator_class(config).partial(**partial_kwargs)


class ContainerSuiteOperator(PytestSuiteOperator):
    """Run one configured pytest suite of the resolved commit in a container, then record its result.

    Subclasses add the provider's operator (``KubernetesSuiteOperator(ContainerSuiteOperator,
    KubernetesPodOperator)``) and name it in :attr:`provider`, with :attr:`provider_arguments`, which turns
    the isolation config into the provider operator's constructor arguments (any given to the operator
    override them). :meth:`set_command` gives it the container's command, and the provider's own ``execute``
    (:meth:`run_container`) runs the container.

    :param suite: name of the suite in the target's config (templated; mapped over in ``assay_per_commit``).
    :param commit_task_id: task whose XCom holds the resolved commit.
    XCom: the suite's ``describe_dict()`` (as :class:`PytestSuiteOperator`).
    """

    backend = "container"
    #: the provider's operator class the subclass also derives from; its ``execute`` runs the container
    provider: type
    #: (isolation config, shared mount, shared dirs) -> the provider operator's constructor arguments
    provider_arguments: Callable[[IsolationConfig, Path, list[Path]], dict[str, Any]] | None = None

    def __init__(
        self,
        *,
        suite: str,
        commit_task_id: str = "resolve_commit",
        isolation: IsolationConfig | None = None,
        **kwargs,
    ) -> None:
        if self.provider_arguments is not None:
            isolation = isolation or self.assay_config.isolation
            kwargs = self.provider_arguments(isolation, assay_home().resolve(), shared_dirs()) | kwargs
        super().__init__(suite=suite, commit_task_id=commit_task_id, **kwargs)
        self._isolation = isolation

    @property
    def isolation(self) -> IsolationConfig:
        """The isolation config this operator was built with (default: the Assay config's ``isolation``)."""
        return self._isolation or self.assay_config.isolation

    @property
    def mount_path(self) -> Path:
        """Where the shared volume is, on the worker and in the container alike: ``$ASSAY_HOME``."""
        return assay_home().resolve()

    def set_command(self, argv: list[str]) -> None:  # pragma: no cover - every backend sets its own
        raise NotImplementedError

    def run_container(self, context: Context) -> Any:
        """Run the container to its end (the provider operator's ``execute``)."""
        return self.provider.execute(self, context)

    def prepare_container(
        self,
        *,
        target_name: str,
        target: TargetConfig,
        suite_name: str,
        worktree: Path,
        out_dir: Path,
        shard: ShardSpec | None = None,
    ) -> list[str]:
        """Check what the container will see is on the shared volume, write ``target.json``, clear a stale
        ``result.json`` and set the container's command; returns it."""
        mount = self.mount_path
        git, envs, results = shared_dirs()
        for what, path, shared in (
            ("worktree", worktree, git),
            ("venv cache", envs, envs),
            ("output directory", out_dir, results),
        ):
            if not (Path(path).resolve().is_relative_to(shared) and shared.is_relative_to(mount)):
                raise ConfigError(
                    f"isolation.backend {self.backend}: the {what} {path} is not under $ASSAY_HOME ({mount}), "
                    "the volume the worker shares with the suite's container"
                )
        for shared in (git, envs, results, out_dir):  # a bind mount of a missing directory fails the container
            shared.mkdir(parents=True, exist_ok=True)
        (out_dir / RESULT_FILE).unlink(missing_ok=True)
        config_path = write_target_config(target, out_dir)
        argv = container_argv(
            self.isolation.python,
            target=target_name,
            suite=suite_name,
            worktree=worktree,
            envs_root=envs_root(),
            out_dir=out_dir,
            target_config=config_path,
            shard=write_shard_spec(shard, out_dir) if shard is not None else None,
        )
        self.set_command(argv)
        return argv

    def collect_result(
        self, *, suite_name: str, out_dir: Path, workdir: Path, started: datetime, failure: BaseException | None
    ) -> SuiteResult:
        """The suite's result as the container wrote it; ERROR (retryable, with what the report log shows
        finished) when it wrote none or one that cannot be read."""
        try:
            result = read_suite_result(out_dir)
        except ToolError as exc:
            how = f"; the {self.backend} run failed: {failure}" if failure is not None else ""
            partial = interrupted_suite_result(
                name=suite_name,
                out_dir=out_dir,
                workdir=workdir,
                started_at=started,
                reason=f"ran in a {self.backend} container that left no result ({exc}){how}",
            )
            return replace(partial, retryable=True)
        if failure is not None:
            # the runner exits 0 once it wrote result.json: a failed container with one means the runner was
            # stopped after it (or the suite's own code wrote it and killed the runner): never taken, never PASS
            return SuiteResult(
                name=suite_name,
                status=Status.ERROR,
                message=(
                    f"the {self.backend} run failed ({failure}) although result.json says "
                    f"{result.status.value}: {result.message}; a result of a failed container is not taken"
                ),
                started_at=started,
                finished_at=datetime.now(UTC),
            )
        if result.name != suite_name:
            return SuiteResult(
                name=suite_name,
                status=Status.ERROR,
                message=f"the container's result.json is for suite {result.name!r}, not {suite_name!r}",
                started_at=started,
                finished_at=datetime.now(UTC),
            )
        result.details["isolation"] = self.backend
        return result

    def run_suite(
        self,
        context: Context,
        *,
        target_name: str,
        target: TargetConfig,
        suite_name: str,
        worktree: Path,
        out_dir: Path,
        shard: ShardSpec | None,
        started: datetime,
    ) -> SuiteResult:
        """Run the suite in the container and take its ``result.json`` (see the module docstring); Airflow's
        execution_timeout propagates to :meth:`PytestSuiteOperator.execute`, which records what finished."""
        self.prepare_container(
            target_name=target_name,
            target=target,
            suite_name=suite_name,
            worktree=worktree,
            out_dir=out_dir,
            shard=shard,
        )
        failure: BaseException | None = None
        try:
            self.run_container(context)
        except AirflowTaskTimeout:
            raise
        except Exception as exc:  # noqa: BLE001 - the pod or container failed: result.json decides
            failure = exc
            self.log.warning(
                "the %s run of suite %s failed: %s", self.backend, self.suite, strip_url_credentials(str(exc))
            )
        return self.collect_result(
            suite_name=suite_name, out_dir=out_dir, workdir=worktree, started=started, failure=failure
        )


def __getattr__(name: str) -> Any:
    """``KubernetesSuiteOperator`` / ``DockerSuiteOperator`` from here too, importing their provider on use."""
    if name == "KubernetesSuiteOperator":
        from assay_airflow.operators.kubernetes_suite import KubernetesSuiteOperator

        return KubernetesSuiteOperator
    if name == "DockerSuiteOperator":
        from assay_airflow.operators.docker_suite import DockerSuiteOperator

        return DockerSuiteOperator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
