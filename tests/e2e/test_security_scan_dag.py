"""assay_security_scan end to end through dag.test(): the shipped config, the demo platform's repository,
real Trivy (secret, misconfiguration and license scanning, offline), bandit, and the API security tests
against the demo API started for each of them; a real metrics DB, real Slack and SMTP sinks.

The demo scans clean of anything that gates (its LOW bandit findings are recorded, one suppressed with a
justification); a token committed to the demo repository fails the run and alerts once, without the
token's value anywhere Assay writes."""

from __future__ import annotations

import copy
import json
import secrets
import string
from pathlib import Path

import pytest
import yaml
from support.git_repo import commit_all

from assay.store import MetricsStore

pytestmark = [pytest.mark.slow, pytest.mark.airflow_db]

REPO = Path(__file__).resolve().parents[2]
DAG = "assay_security_scan"


@pytest.fixture
def scan_env(assay_env, tmp_path, monkeypatch):
    """The shipped config without the vulnerability scan (its DB cannot be downloaded here: that path is
    ERROR, covered by the engine's tests) and ASSAY_HOME in the test's directory."""
    cfg = copy.deepcopy(yaml.safe_load((REPO / "include" / "config" / "assay.yaml").read_text()))
    security = cfg["targets"]["demo-platform"]["security"]
    security["trivy"] = {"scanners": ["secret", "misconfig", "license"], "cache_dir": str(tmp_path / "trivy")}
    path = tmp_path / "assay.yaml"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("ASSAY_CONFIG", str(path))
    monkeypatch.setenv("ASSAY_HOME", str(tmp_path / "home"))
    return assay_env


def recorded(url: str, run_id: str):
    store = MetricsStore(url)
    try:
        return store.latest_suite_runs(DAG, run_id)
    finally:
        store.dispose()


def test_the_demo_scans_clean_then_a_committed_token_fails_and_alerts_once(dags, scan_env, slack_sink, smtp_sink):
    dr = dags[DAG].test()
    assert dr.state == "success"
    rows = recorded(scan_env["metrics_url"], dr.run_id)
    scans = {r.name: r for r in rows if r.kind == "security"}
    assert set(scans) == {"trivy_fs", "trivy_config", "bandit", "dast_fuzz", "dast_authz", "dast_injection"}
    for name, row in scans.items():
        assert row.status in ("PASS", "WARN"), (name, row.message)
        assert row.commit_sha == scan_env["sha"] and row.target == "demo-platform"
        assert any(m.name == "security.scanned" and m.value > 0 for m in row.metrics), name
    bandit = scans["bandit"]
    assert bandit.findings and {f.severity for f in bandit.findings} == {"LOW"}
    suppressed = [f for f in bandit.findings if f.state == "suppressed"]
    assert suppressed and all(f.rule_id == "B311" and f.resource.startswith("serving/faults.py") for f in suppressed)
    # its Kubernetes manifest pulls from a registry Trivy does not know as trusted (MEDIUM: recorded, no gate)
    assert [(f.rule_id, f.severity, f.resource.split(":")[0]) for f in scans["trivy_config"].findings] == [
        ("KSV-0125", "MEDIUM", "deploy/serving.yaml")
    ]
    # the API tests exercised every operation of the demo's OpenAPI and found nothing
    assert not scans["dast_authz"].findings and not scans["dast_injection"].findings
    (posture,) = [r for r in rows if r.kind == "security_posture"]
    assert posture.target == "demo-platform" and any(m.name == "security.posture.open" for m in posture.metrics)
    assert slack_sink.requests == [] and smtp_sink.messages == []

    # a commit leaks a token into the demo repository: the nightly scan of the branch head FAILs and alerts
    alphabet = string.ascii_letters + string.digits
    token = "ghp_" + "".join(secrets.choice(alphabet) for _ in range(36))
    demo = scan_env["demo"]
    (demo / "serving" / "deploy_settings.py").write_text(f'REGISTRY_TOKEN = "{token}"\n')
    sha = commit_all(demo, "deploy settings")
    dr2 = dags[DAG].test(run_conf={"scanners": ["trivy_fs"]})
    assert dr2.state == "failed"
    (row,) = [r for r in recorded(scan_env["metrics_url"], dr2.run_id) if r.name == "trivy_fs"]
    assert row.status == "FAIL" and row.commit_sha == sha
    (finding,) = [f for f in row.findings if f.evidence.get("category") == "secret"]
    assert finding.resource == "serving/deploy_settings.py:1" and finding.state == "new"
    # the scanner's alert (rule secrets_leaked, new findings only), and the standing rule critical_vulnerabilities
    # starting to fire (the token is an open CRITICAL finding) after the run
    assert len(slack_sink.requests) == 2 and len(smtp_sink.messages) == 2
    assert smtp_sink.messages[1][1]["Subject"].startswith("[Assay] FIRING critical_vulnerabilities on demo-platform")
    text = json.dumps(slack_sink.requests[0].json())
    assert "secrets_leaked" in text and "serving/deploy_settings.py" in text and token not in text
    assert token not in json.dumps([row.message, row.summary, [f.evidence for f in row.findings]], default=str)
