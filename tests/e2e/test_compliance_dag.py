"""assay_weekly_compliance end to end through dag.test(): the shipped config and catalog, the demo platform
started for each audit from its repository's head, a real metrics DB, real Slack and SMTP sinks.

The compliant demo audits PASS for GDPR, HIPAA and SOX; a demo broken in five planted ways FAILs exactly the
controls that verify them, records findings whose evidence rows name the row, and the alert that reaches
Slack and e-mail names the control, its citation and the evidence."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from support.compliance_history import record_history_an_audit_reads
from support.demo_platform import prepare_demo_repo
from support.smtp_sink import body_text

from assay.store import MetricsStore

pytestmark = [pytest.mark.slow, pytest.mark.airflow_db]

REPO = Path(__file__).resolve().parents[2]
DAG = "assay_weekly_compliance"
FRAMEWORKS = {"gdpr": "gdpr_compliance", "hipaa": "hipaa", "sox": "sox"}
FAULTS = "erasure_skips_store,audit_row_edited,plaintext_phi,self_approved_deployment,expired_record_kept"


@pytest.fixture
def audit_env(assay_env, tmp_path, monkeypatch):
    """ASSAY_HOME with the demo repository (whose head the seeded deployment ships), and what Assay recorded
    when it tested that head the day before."""
    home = tmp_path / "home"
    sha = prepare_demo_repo(home / "demo-platform")
    monkeypatch.setenv("ASSAY_HOME", str(home))
    record_history_an_audit_reads(assay_env["metrics_url"], sha)
    return assay_env | {"home": home, "deployed": sha}


def rows(url: str, run_id: str):
    store = MetricsStore(url)
    try:
        return {r.name: r for r in store.latest_suite_runs(DAG, run_id) if r.kind != "alert"}
    finally:
        store.dispose()


def test_the_compliant_demo_passes_every_framework(dags, audit_env, slack_sink, smtp_sink):
    dr = dags[DAG].test()
    assert dr.state == "success"
    recorded = rows(audit_env["metrics_url"], dr.run_id)
    assert set(recorded) == set(FRAMEWORKS.values())
    for name, row in recorded.items():
        assert row.status == "PASS", (name, row.message)
        assert row.evidence, name
        assert any(m.name == "compliance.score" for m in row.metrics)
    assert slack_sink.requests == [] and smtp_sink.messages == []


def test_a_broken_demo_fails_the_planted_controls_and_alerts_with_the_evidence(
    dags, audit_env, slack_sink, smtp_sink, tmp_path, monkeypatch
):
    cfg = yaml.safe_load((REPO / "include" / "config" / "assay.yaml").read_text())
    cfg = copy.deepcopy(cfg)
    cfg["compliance"]["service_env"]["DEMO_COMPLIANCE_FAULTS"] = FAULTS
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("ASSAY_CONFIG", str(path))
    dr = dags[DAG].test()
    assert dr.state == "failed"
    recorded = rows(audit_env["metrics_url"], dr.run_id)
    assert {name: row.status for name, row in recorded.items()} == {v: "FAIL" for v in FRAMEWORKS.values()}
    failed = {
        name: {c.name for c in row.checks if c.status == "FAIL" and c.severity != "alert"} - {"critical_controls"}
        for name, row in recorded.items()
    }
    resources = {name: {f.resource for f in row.findings} for name, row in recorded.items()}
    assert "store:training_snapshot" in resources["gdpr_compliance"]
    assert any(r.startswith("audit_log") for r in resources["hipaa"]), resources["hipaa"]
    assert any("diagnosis" in r for r in resources["hipaa"]), resources["hipaa"]
    assert failed["sox"], recorded["sox"].message
    for name, row in recorded.items():
        assert row.findings and all(f.evidence_rows for f in row.findings if f.evidence["outcome"] == "FAIL"), name
        assert all(len(e.sha256) == 64 for e in row.evidence)

    # one failure alert per failed audit task, and the standing rule compliance_violation starting to fire on
    # each framework (once: tests/operators/test_standing_alert_rules.py)
    rule_texts = [r.json()["text"] for r in slack_sink.requests if "FIRING compliance_violation" in r.json()["text"]]
    assert len(rule_texts) == 3
    failure_alerts = [r for r in slack_sink.requests if "FIRING compliance_violation" not in r.json()["text"]]
    assert len(failure_alerts) == 3  # one alert per failed audit task
    text = "\n".join(req.json()["text"] for req in failure_alerts)
    for needle in (
        "assay_weekly_compliance",
        "GDPR Art. 17(1)",
        "store:training_snapshot",
        "sha256",
        "compliance_violation",
    ):
        assert needle in text, needle
    failure_mails = [m for _, m in smtp_sink.messages if not m["Subject"].startswith("[Assay] FIRING")]
    assert len(failure_mails) == 3 and len(smtp_sink.messages) == 6
    assert sorted(m["Subject"].split(":")[0] for _, m in smtp_sink.messages if m not in failure_mails) == [
        f"[Assay] FIRING compliance_violation on {name}" for name in sorted(FRAMEWORKS.values())
    ]
    html = "\n".join(body_text(msg) for msg in failure_mails)
    assert "GDPR Art. 17(1)" in html and "store:training_snapshot" in html and "evidence:" in html
