"""A per-commit suite in a Kubernetes pod (``isolation.backend: kubernetes``), through the official
``KubernetesPodOperator``; see :mod:`assay_airflow.operators.container_suite` for the flow.

The pod: the Assay runner image (``isolation.image``), command ``python -m
assay.engines.per_commit.run_in_container ...``; the ``volume_claim`` PVC (ReadWriteMany, holding
``$ASSAY_HOME``) with its ``git``, venv-cache and ``results`` directories mounted (``subPath``) at the worker's
paths, an emptyDir at /tmp; non-root, read-only root
filesystem, no privilege escalation, every capability dropped, the runtime's default seccomp profile; no
service-account token, no service links, no environment but :data:`~.container_suite.CONTAINER_ENV`;
requests and limits from ``kubernetes.resources``. Egress is denied by the NetworkPolicy of
``deploy/kubernetes/suite-network-policy.yaml``, which selects the pods' ``assay.io/isolation: suite`` label.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from kubernetes.client import models as k8s

from assay.isolation_config import IsolationConfig
from assay_airflow.operators.container_suite import (
    ISOLATION_LABEL,
    ContainerSuiteOperator,
    container_env,
)

__all__ = ["KubernetesSuiteOperator", "pod_arguments"]

WORKSPACE_VOLUME = "assay-home"
TMP_VOLUME = "tmp"


def pod_arguments(isolation: IsolationConfig, mount: Path, shared: list[Path]) -> dict[str, Any]:
    """The ``KubernetesPodOperator`` arguments of a suite pod (everything but its command): the claim holds
    ``mount`` (``$ASSAY_HOME``); each of the ``shared`` directories under it is mounted (``subPath``) at the
    worker's path, and nothing else of it."""
    kube = isolation.kubernetes
    workspace_mounts = [
        k8s.V1VolumeMount(name=WORKSPACE_VOLUME, mount_path=str(d), sub_path=d.relative_to(mount).as_posix())
        for d in shared
        if d.is_relative_to(mount)  # one that is not is refused before the pod starts (prepare_container)
    ]
    return {
        "image": isolation.image,
        "namespace": kube.namespace,
        "name": "assay-suite",
        "random_name_suffix": True,
        "kubernetes_conn_id": kube.conn_id or KubernetesHook.default_conn_name,
        "in_cluster": kube.in_cluster,
        "service_account_name": kube.service_account,
        "automount_service_account_token": False,
        "labels": {"app.kubernetes.io/name": "assay-suite", **kube.labels, **ISOLATION_LABEL},
        "volumes": [
            k8s.V1Volume(
                name=WORKSPACE_VOLUME,
                persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name=kube.volume_claim),
            ),
            k8s.V1Volume(name=TMP_VOLUME, empty_dir=k8s.V1EmptyDirVolumeSource(size_limit=kube.tmp_size)),
        ],
        "volume_mounts": [*workspace_mounts, k8s.V1VolumeMount(name=TMP_VOLUME, mount_path="/tmp")],
        "env_vars": [k8s.V1EnvVar(name=k, value=v) for k, v in container_env(mount).items()],
        "container_resources": k8s.V1ResourceRequirements(
            requests=dict(kube.resources.requests), limits=dict(kube.resources.limits)
        ),
        "security_context": k8s.V1PodSecurityContext(
            run_as_non_root=True,
            run_as_user=kube.run_as_user,
            run_as_group=0,
            fs_group=0,
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
        ),
        "container_security_context": k8s.V1SecurityContext(
            run_as_non_root=True,
            privileged=False,
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            capabilities=k8s.V1Capabilities(drop=["ALL"]),
        ),
        # no environment variables of the namespace's services in the pod (enableServiceLinks: false)
        "full_pod_spec": k8s.V1Pod(spec=k8s.V1PodSpec(containers=[], enable_service_links=False)),
        "hostnetwork": False,
        "startup_timeout_seconds": kube.startup_timeout_s,
        "get_logs": True,
        "on_finish_action": "delete_pod",
        "deferrable": False,  # the result is collected in execute, after the pod ended
        "do_xcom_push": False,  # no XCom sidecar: the result comes back on the shared volume
    }


class KubernetesSuiteOperator(ContainerSuiteOperator, KubernetesPodOperator):
    """A per-commit suite in a pod (:mod:`assay_airflow.operators.kubernetes_suite`).

    :param isolation: the isolation config (default: the Assay config's ``isolation``); the pod's arguments
        come from it, and any ``KubernetesPodOperator`` argument given here overrides them.

    Unlike other Assay operators, ``__init__`` reads the config (the provider's operator takes the pod's
    image, volumes and security context as constructor arguments, and renders them before ``execute``). In
    ``assay_per_commit`` the task is mapped, so that happens on the worker when the task is unmapped, not when
    the DAG file is parsed; the mapped task's partial arguments stay plain (timeout, map index template).
    """

    backend = "kubernetes"
    template_fields = (*KubernetesPodOperator.template_fields, "suite")
    provider = KubernetesPodOperator
    provider_arguments = staticmethod(pod_arguments)

    def set_command(self, argv: list[str]) -> None:
        self.cmds = list(argv)  # the container's command: the image's entrypoint is not run
        self.arguments = []
