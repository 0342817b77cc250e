"""The three DAST scanners against the real demo serving API (``python -m serving`` as a subprocess, a model
trained at start, fresh tokens for its three roles and an expired one): the demo passes all three, an expired
token is refused, and every scanner exercised every operation of its OpenAPI document."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from support.dast_apps import DEMO_ROLES, demo_api

from assay.engines.security.config import DastConfig
from assay.engines.security.dast import (
    list_operations,
    load_openapi,
    run_auth_matrix,
    run_fuzz,
    run_injection_probes,
)

pytestmark = pytest.mark.slow

FAULT_HOOKS = ["* /admin/faults"]  # fuzzing them as admin would inject latency, errors and a DB cut-off
CFG = DastConfig(public_operations=["GET /health"], roles=DEMO_ROLES, fuzz_exclude=FAULT_HOOKS, fuzz_seed=1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with demo_api(tmp_path_factory.mktemp("demo-api")) as api:
        yield api


@pytest.fixture(scope="module")
def operations(demo) -> list[str]:
    labels = [op.label for op in list_operations(load_openapi(demo.base_url, CFG))]
    assert len(labels) == 18, labels
    return labels


def _tokens_absent(api, work_dir: Path, report) -> None:
    for token in [*api.tokens.values(), api.expired_token]:
        assert token not in repr(report)
        for path in (p for p in work_dir.rglob("*") if p.is_file()):
            assert token.encode() not in path.read_bytes(), path


def test_an_expired_token_is_refused_with_401(demo):
    refused = httpx.get(f"{demo.base_url}/models", headers={"Authorization": f"Bearer {demo.expired_token}"})
    assert refused.status_code == 401
    assert refused.json() == {"detail": "bearer token expired: ask for a new token"}
    valid = httpx.get(f"{demo.base_url}/models", headers={"Authorization": f"Bearer {demo.tokens['admin']}"})
    assert valid.status_code == 200


def test_the_demo_passes_the_auth_matrix_with_its_real_roles(demo, operations, tmp_path):
    report = run_auth_matrix(demo.base_url, demo.tokens, demo.expired_token, CFG, work_dir=tmp_path)
    assert report.findings == [], [(f.rule_id, f.location, f.detail) for f in report.findings]
    assert report.errors == []
    assert report.scanned == len(operations)
    matrix = report.summary["matrix"]
    assert set(matrix) == set(operations)
    for label in operations:
        if label != "GET /health":
            assert matrix[label]["expired_token"] == "401 (expected 401/403)", label
            assert matrix[label]["anonymous"] == "401 (expected 401)", label
    assert matrix["GET /admin/audit"]["reader"] == "403 (expected 403)"
    assert matrix["POST /models/{model_id}/retire"]["ml-engineer"].endswith("(expected allowed)")
    _tokens_absent(demo, tmp_path, report)


def test_the_demo_passes_the_injection_probes(demo, operations):
    report = run_injection_probes(demo.base_url, demo.tokens["admin"], CFG)
    assert report.findings == [], [(f.rule_id, f.location, f.detail) for f in report.findings]
    assert report.errors == []
    assert report.scanned == len(operations)
    assert report.summary["probes_sent"] > 200


def test_the_demo_passes_schemathesis_as_admin_with_its_fault_hooks_left_out(demo, operations, tmp_path):
    started = time.monotonic()
    report = run_fuzz(demo.base_url, demo.tokens["admin"], CFG, tmp_path)
    print(f"run_fuzz (admin, defaults + seed) took {time.monotonic() - started:.1f} s")
    assert report.findings == [], [(f.rule_id, f.location, f.detail) for f in report.findings]
    assert report.errors == []
    assert report.scanned == len(operations) - 3 == report.summary["selected"]
    assert sorted(report.summary["excluded"]) == ["DELETE /admin/faults", "GET /admin/faults", "POST /admin/faults"]
    assert json.loads(Path(report.report_path).read_text())["operations"]["tested"] == report.scanned
    _tokens_absent(demo, tmp_path, report)


def test_the_demo_passes_schemathesis_as_reader_on_every_operation(demo, operations, tmp_path):
    report = run_fuzz(demo.base_url, demo.tokens["reader"], DastConfig(fuzz_seed=2), tmp_path)
    assert report.findings == [], [(f.rule_id, f.location, f.detail) for f in report.findings]
    assert report.scanned == len(operations)
    _tokens_absent(demo, tmp_path, report)


def test_the_service_the_dags_start_carries_an_expired_token_the_matrix_sees_refused(tmp_path):
    from support.demo_platform import demo_target

    from assay_airflow.operators.service import target_service

    with target_service("demo-platform", demo_target(), tmp_path / "svc") as svc:
        assert svc.expired_token and svc.expired_token not in svc.tokens.values()
        report = run_auth_matrix(svc.base_url, svc.tokens, svc.expired_token, CFG)
    assert report.findings == [] and report.errors == []
    assert all(cells.get("expired_token", "401").startswith("401") for cells in report.summary["matrix"].values())
