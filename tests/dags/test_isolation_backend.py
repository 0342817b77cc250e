"""``assay_per_commit`` picks its suite operator from the config's ``isolation.backend``: the worker's own process
by default (PytestSuiteOperator, as before), a pod with ``kubernetes``, a container with ``docker``; the
default parse imports neither provider. Each parse runs in a fresh interpreter with ``ASSAY_CONFIG`` pointing at
a config of the test's own (the DAG file reads the config when it is imported)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DAG_FILE = REPO / "dags" / "assay_per_commit.py"

#: what the container backends import (the providers' operators and their client libraries)
PROVIDER_MODULES = (
    "airflow.providers.cncf.kubernetes.operators.pod",
    "airflow.providers.docker.operators.docker",
    "kubernetes.client",
    "docker",
)
PARSE = (
    f"PROVIDER_MODULES = {PROVIDER_MODULES!r}\n"
    + """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
task = bag.dags["assay_per_commit"].get_task("run_suite")
unmapped = task.unmap({"suite": "unit"})  # what the worker builds for one mapped task instance
print(json.dumps({
    "errors": {k: str(v) for k, v in bag.import_errors.items()},
    "operator": task.operator_class.__module__ + "." + task.operator_class.__name__,
    "mapped": type(task).__name__,
    "unmapped": [type(unmapped).__name__, unmapped.suite, str(unmapped.execution_timeout)],
    "partial": sorted(task.partial_kwargs),
    "providers": sorted(m for m in PROVIDER_MODULES if m in sys.modules),
}))
"""
)


def parse(config: Path | None) -> dict:
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(REPO / "include"), str(REPO / "plugins")])}
    if config is not None:
        env["ASSAY_CONFIG"] = str(config)
    else:
        env.pop("ASSAY_CONFIG", None)
    proc = subprocess.run(
        [sys.executable, "-c", PARSE, str(DAG_FILE)], capture_output=True, text=True, env=env, cwd=REPO, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def config_with(tmp_path: Path, isolation: dict) -> Path:
    cfg = {"targets": {"sample": {"repo": str(tmp_path / "repo")}}, "isolation": isolation}
    path = tmp_path / "assay.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_the_default_config_runs_suites_in_the_workers_process_and_imports_no_provider():
    seen = parse(None)
    assert seen["errors"] == {}
    assert seen["operator"] == "assay_airflow.operators.per_commit.PytestSuiteOperator"
    assert seen["mapped"] == "MappedOperator" and seen["providers"] == []
    assert seen["unmapped"][:2] == ["PytestSuiteOperator", "unit"]


@pytest.mark.parametrize(
    "isolation, operator",
    [
        (
            {"backend": "kubernetes", "kubernetes": {"volume_claim": "assay-home"}},
            "assay_airflow.operators.kubernetes_suite.KubernetesSuiteOperator",
        ),
        (
            {"backend": "docker", "docker": {"workspace_volume": "assay_assay-workspace"}},
            "assay_airflow.operators.docker_suite.DockerSuiteOperator",
        ),
    ],
)
def test_a_container_backend_makes_run_suite_the_providers_operator(tmp_path, isolation, operator):
    seen = parse(config_with(tmp_path, isolation))
    assert seen["errors"] == {}
    assert seen["operator"] == operator and seen["mapped"] == "MappedOperator"
    assert seen["unmapped"][:2] == [operator.rsplit(".", 1)[1], "unit"]  # the config's pod / container arguments
    assert {"execution_timeout", "map_index_template"} <= set(seen["partial"])


def test_a_container_backend_without_its_shared_volume_is_the_dag_files_import_error(tmp_path):
    seen_env = os.environ | {"PYTHONPATH": os.pathsep.join([str(REPO / "include"), str(REPO / "plugins")])}
    seen_env["ASSAY_CONFIG"] = str(config_with(tmp_path, {"backend": "kubernetes"}))
    code = (
        "import sys\nfrom airflow.dag_processing.dagbag import DagBag\n"
        "bag = DagBag(dag_folder=sys.argv[1])\n"
        "print(list(bag.import_errors.values())[0])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(DAG_FILE)], capture_output=True, text=True, env=seen_env, timeout=300
    )
    assert "isolation: Value error, backend kubernetes needs kubernetes.volume_claim" in proc.stdout
