"""The ``isolation:`` section (assay.isolation_config): local by default, each container backend needs its
shared volume, and a bad key or value is named with its dotted path."""

from __future__ import annotations

import pytest

from assay.config import load_config, parse_config
from assay.errors import ConfigError

TARGETS = {"targets": {"t": {"repo": "x"}}}


def test_the_shipped_config_runs_suites_in_the_workers_own_process(monkeypatch, tmp_path):
    monkeypatch.setenv("ASSAY_HOME", str(tmp_path))
    assert load_config().isolation.backend == "local"


def test_a_kubernetes_backend_with_its_claim_gets_locked_down_defaults():
    iso = parse_config(
        TARGETS | {"isolation": {"backend": "kubernetes", "kubernetes": {"volume_claim": "ws"}}}
    ).isolation
    assert iso.kubernetes.namespace == "assay" and iso.kubernetes.run_as_user == 50000
    assert iso.kubernetes.resources.limits == {"cpu": "2", "memory": "4Gi"}
    assert iso.docker.network_mode == "none"


@pytest.mark.parametrize(
    "isolation, message",
    [
        ({"backend": "kubernetes"}, "isolation: Value error, backend kubernetes needs kubernetes.volume_claim"),
        ({"backend": "docker"}, "isolation: Value error, backend docker needs docker.workspace_volume"),
        ({"backend": "podman"}, "isolation.backend: Input should be 'local', 'kubernetes' or 'docker'"),
        ({"kubernetes": {"volume_claim": "ws", "egress": True}}, "isolation.kubernetes.egress: Extra inputs"),
        ({"kubernetes": {"resources": {"limits": {"gpu": "1"}}}}, "resource 'gpu' is not one of"),
        ({"kubernetes": {"resources": {"limits": {"memory": "lots"}}}}, "'lots' is not a Kubernetes quantity"),
        ({"kubernetes": {"volume_claim": "My_Claim"}}, "isolation.kubernetes.volume_claim"),
        ({"kubernetes": {"run_as_user": 0}}, "isolation.kubernetes.run_as_user"),
        ({"docker": {"mounts": [{"source": "data", "target": "relative"}]}}, "must be an absolute path"),
    ],
)
def test_bad_isolation_settings_are_named_with_their_path(isolation, message):
    with pytest.raises(ConfigError) as err:
        parse_config(TARGETS | {"isolation": isolation})
    assert message in str(err.value)
