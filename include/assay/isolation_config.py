"""``isolation:``: where a per-commit suite runs, the worker's own process (``local``) or a container per task.

``kubernetes`` runs each suite in a pod (the official ``KubernetesPodOperator``), ``docker`` in a container
(the official ``DockerOperator``); both run the Assay runner image's
``python -m assay.engines.per_commit.run_in_container`` on the worktree, the cached venvs and the task's output
directory, which the worker shares with the container on one volume mounted at the same path
(``$ASSAY_HOME``). The container gets no Airflow or Assay secret (no connection, no environment of the worker),
no network by default, and writes ``result.json``, which the worker records in the metrics DB.

Plain pydantic (unknown keys forbidden): ``assay.config`` composes it and DAG files load it at parse time.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["DockerIsolation", "DockerMount", "IsolationConfig", "KubernetesIsolation", "ResourcesConfig"]

_RESOURCE_KEYS = {"cpu", "memory", "ephemeral-storage"}
_QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _quantities(value: dict[str, str]) -> dict[str, str]:
    for key, quantity in value.items():
        if key not in _RESOURCE_KEYS:
            raise ValueError(f"resource {key!r} is not one of {sorted(_RESOURCE_KEYS)}")
        if not _QUANTITY.fullmatch(str(quantity)):
            raise ValueError(f"{key}: {quantity!r} is not a Kubernetes quantity (e.g. 500m, 2, 4Gi)")
    return {k: str(v) for k, v in value.items()}


class ResourcesConfig(_Strict):
    """The pod's requests and limits (Kubernetes quantities): a suite cannot starve the node."""

    requests: dict[str, str] = Field(default_factory=lambda: {"cpu": "1", "memory": "2Gi"})
    limits: dict[str, str] = Field(default_factory=lambda: {"cpu": "2", "memory": "4Gi"})

    @field_validator("requests", "limits")
    @classmethod
    def _check(cls, value: dict[str, str]) -> dict[str, str]:
        return _quantities(value)


class KubernetesIsolation(_Strict):
    """A pod per suite task. ``volume_claim`` is a ReadWriteMany PVC holding ``$ASSAY_HOME`` (git worktrees,
    cached venvs, the tasks' output directories); its ``git``, venv-cache and ``results`` directories are
    mounted in the pod (``subPath``) at the worker's paths.
    ``service_account`` runs the pod (its token is never mounted); ``conn_id`` is the Airflow Kubernetes
    connection the worker creates pods with (None: ``kubernetes_default``; ``in_cluster`` when the worker runs
    in the cluster). Deny the pods' egress with the NetworkPolicy in ``deploy/kubernetes/``: it selects the
    ``labels`` set here (``assay.io/isolation: suite``)."""

    namespace: str = "assay"
    service_account: str | None = None
    volume_claim: str | None = None
    conn_id: str | None = None
    in_cluster: bool | None = None
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig)
    run_as_user: int = Field(50000, gt=0)  # the image's user (the official Airflow image's); never root
    tmp_size: str = "2Gi"  # the emptyDir at /tmp (the root filesystem is read-only)
    startup_timeout_s: int = Field(300, gt=0)
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("namespace", "volume_claim", "service_account")
    @classmethod
    def _dns_label(cls, value: str | None) -> str | None:
        if value is not None and not _DNS_LABEL.fullmatch(value):
            raise ValueError(f"{value!r} is not a Kubernetes name (lower-case letters, digits, '-')")
        return value


class DockerMount(_Strict):
    """One more mount of the suite container (read-only unless said otherwise)."""

    source: str
    target: str
    type: Literal["volume", "bind"] = "volume"
    read_only: bool = True

    @field_validator("target")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not PurePosixPath(value).is_absolute():
            raise ValueError(f"mount target {value!r} must be an absolute path")
        return value


class DockerIsolation(_Strict):
    """A container per suite task through the Docker engine at ``docker_url``. ``workspace_volume`` is the
    named volume (or absolute host path) that holds ``$ASSAY_HOME`` on the worker, mounted in the container
    at the same path. ``network_mode: none`` keeps the suite off every network."""

    docker_url: str = "unix://var/run/docker.sock"
    workspace_volume: str | None = None
    network_mode: str = "none"
    user: str = "50000:0"
    cpus: float = Field(1.0, gt=0)
    mem_limit: str | None = "4g"
    tmp_size: str = "2g"  # the tmpfs at /tmp (the root filesystem is read-only)
    mounts: list[DockerMount] = Field(default_factory=list)


class IsolationConfig(_Strict):
    """Where a per-commit suite runs: ``local`` (the worker's own process, the default), ``kubernetes`` or
    ``docker`` (a container of ``image`` per suite task; ``python`` is the image's interpreter)."""

    backend: Literal["local", "kubernetes", "docker"] = "local"
    image: str = "assay-airflow:latest"
    python: str = "python"
    kubernetes: KubernetesIsolation = Field(default_factory=KubernetesIsolation)
    docker: DockerIsolation = Field(default_factory=DockerIsolation)

    @model_validator(mode="after")
    def _shared_volume(self) -> IsolationConfig:
        if self.backend == "kubernetes" and not self.kubernetes.volume_claim:
            raise ValueError(
                "backend kubernetes needs kubernetes.volume_claim: a ReadWriteMany PVC holding $ASSAY_HOME, "
                "which the pod mounts at the worker's path"
            )
        if self.backend == "docker" and not self.docker.workspace_volume:
            raise ValueError(
                "backend docker needs docker.workspace_volume: the volume (or host path) holding $ASSAY_HOME, "
                "which the container mounts at the worker's path"
            )
        return self
