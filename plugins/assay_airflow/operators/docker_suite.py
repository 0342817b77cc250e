"""A per-commit suite in a Docker container (``isolation.backend: docker``), through the official
``DockerOperator``; see :mod:`assay_airflow.operators.container_suite` for the flow.

The container: the Assay runner image (``isolation.image``) running ``python -m
assay.engines.per_commit.run_in_container ...`` as ``docker.user`` (not root), ``network_mode: none`` by
default, ``docker.workspace_volume`` (the volume holding ``$ASSAY_HOME``) mounted at the worker's
``$ASSAY_HOME`` path plus the configured ``docker.mounts`` (read-only unless said otherwise), no Airflow temp
dir mount, no environment but :data:`~.container_suite.CONTAINER_ENV`, CPU and memory limits. What
``DockerOperator`` has no argument for is added to the container's host config (:data:`HARDENING`): every
capability dropped, a read-only root filesystem with a tmpfs at /tmp, ``no-new-privileges``, a PID limit.

The worker reaches the Docker engine at ``docker.docker_url``: whoever can use that socket is root on its host
(docker-compose.yaml says how to give it, and the socket-proxy alternative).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.providers.docker.operators.docker import DockerOperator
from docker.types import Mount

from assay.isolation_config import IsolationConfig
from assay_airflow.operators.container_suite import (
    ISOLATION_LABEL,
    ContainerSuiteOperator,
    container_env,
)

__all__ = ["HARDENING", "DockerSuiteOperator", "HardenedDockerClient", "docker_arguments"]

#: host-config settings of every suite container that DockerOperator does not expose as arguments
HARDENING: dict[str, Any] = {
    "cap_drop": ["ALL"],
    "read_only": True,
    "security_opt": ["no-new-privileges:true"],
    "pids_limit": 4096,
}


def docker_arguments(isolation: IsolationConfig, mount: Path, shared: list[Path]) -> dict[str, Any]:
    """The ``DockerOperator`` arguments of a suite container (everything but its command).

    ``workspace_volume`` holds ``mount`` (``$ASSAY_HOME``). A host path: each of the ``shared`` directories
    under it is bind-mounted at the worker's path, and nothing else of it. A named volume: the whole volume at
    ``mount`` (Docker mounts a volume's sub-directory only from API 1.45 on)."""
    dock = isolation.docker
    source = dock.workspace_volume or ""
    if source.startswith("/"):
        mounts = [
            Mount(target=str(d), source=str(Path(source) / d.relative_to(mount)), type="bind")
            for d in shared
            if d.is_relative_to(mount)  # one that is not is refused before the container starts
        ]
    else:
        mounts = [Mount(target=str(mount), source=source, type="volume")]
    mounts += [Mount(target=m.target, source=m.source, type=m.type, read_only=m.read_only) for m in dock.mounts]
    return {
        "image": isolation.image,
        "docker_url": dock.docker_url,
        "network_mode": dock.network_mode,
        "user": dock.user,
        "mounts": mounts,
        "mount_tmp_dir": False,  # no bind mount of a worker temp dir (and no AIRFLOW_TMP_DIR)
        "environment": container_env(mount),
        "private_environment": {},
        "cpus": dock.cpus,
        "mem_limit": dock.mem_limit,
        "privileged": False,
        "cap_add": None,
        "auto_remove": "force",  # logs and results are on the volume; the container goes either way
        "labels": {"app.kubernetes.io/name": "assay-suite", **ISOLATION_LABEL},
        "tty": False,
        "retrieve_output": False,
        "do_xcom_push": False,
    }


class HardenedDockerClient:
    """The Docker API client of a suite task: every container's host config gets ``hardening`` (what
    DockerOperator cannot pass); every other call goes to ``client`` unchanged."""

    def __init__(self, client: Any, hardening: dict[str, Any]) -> None:
        self._client = client
        self._hardening = hardening

    def create_host_config(self, **kwargs: Any) -> Any:
        return self._client.create_host_config(**(kwargs | self._hardening))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class DockerSuiteOperator(ContainerSuiteOperator, DockerOperator):
    """A per-commit suite in a Docker container (:mod:`assay_airflow.operators.docker_suite`).

    :param isolation: the isolation config (default: the Assay config's ``isolation``); the container's
        arguments come from it, and any ``DockerOperator`` argument given here overrides them (``__init__``
        reads the config: see :class:`~assay_airflow.operators.kubernetes_suite.KubernetesSuiteOperator`).
    """

    backend = "docker"
    template_fields = (*DockerOperator.template_fields, "suite")
    provider = DockerOperator
    provider_arguments = staticmethod(docker_arguments)

    @property
    def hardening(self) -> dict[str, Any]:
        """The host-config settings added to DockerOperator's: :data:`HARDENING` and the /tmp tmpfs."""
        tmpfs = {"/tmp": f"rw,nosuid,nodev,size={self.isolation.docker.tmp_size}"}
        return HARDENING | {"tmpfs": tmpfs}

    @property
    def cli(self) -> Any:
        return HardenedDockerClient(super().cli, self.hardening)

    def set_command(self, argv: list[str]) -> None:
        self.entrypoint = argv[:1]  # the interpreter replaces the image's entrypoint
        self.command = argv[1:]
