"""ComplianceAuditOperator via execute(context), against the real demo platform it starts (seeded compliance
records, per-run tokens, a low rate limit) and a real metrics DB (SQLite and PostgreSQL): a compliant audit
records every control, its evidence and the score; a broken demo FAILs exactly the planted controls, with
findings that name the row and evidence rows linked to them, and fails for good; a store that cannot be
reached is ERROR and retried; a missing section or a framework the run did not ask for never runs a check."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException
from support.compliance_history import record_history_an_audit_reads
from support.context import TaskInstanceStub, make_context
from support.operator_env import checks, configure, recorded

from assay.store import MetricsStore
from assay_airflow.operators.compliance import VIOLATION_RULE, ComplianceAuditOperator

REPO = Path(__file__).resolve().parents[2]
DAG = "assay_weekly_compliance"
DEPLOYED_SHA = "5e1f0c4a3b2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f"
SHIPPED = yaml.safe_load((REPO / "include" / "config" / "assay.yaml").read_text())


def demo_target(tmp_path: Path) -> dict:
    target = copy.deepcopy(SHIPPED["targets"]["demo-platform"])
    keep = {"repo", "service"}
    return {key: value for key, value in target.items() if key in keep} | {"repo": str(tmp_path / "no-repo")}


def section(**changes) -> dict:
    """The shipped compliance section, with the deployed commit given outright instead of read from a repo."""
    sec = copy.deepcopy(SHIPPED["compliance"])
    sec["service_env"] = {"DEMO_COMPLIANCE_SEED": "1", "DEMO_COMPLIANCE_COMMIT_SHA": DEPLOYED_SHA}
    return sec | changes


def run(framework: str, run_id: str, params: dict | None = None, try_number: int = 1):
    op = ComplianceAuditOperator(task_id=f"audit__{framework}", framework=framework)
    ti = TaskInstanceStub(dag_id=DAG, run_id=run_id, try_number=try_number)
    return op.execute(make_context(op.task_id, params=params, ti=ti))


def configure_audit(monkeypatch, tmp_path, metrics_url, **changes):
    configure(
        monkeypatch,
        tmp_path,
        metrics_url,
        targets={"demo-platform": demo_target(tmp_path)},
        compliance=section(**changes),
    )
    record_history_an_audit_reads(metrics_url, DEPLOYED_SHA)


@pytest.mark.slow
def test_a_compliant_demo_passes_with_every_control_evidence_and_score(metrics_url, tmp_path, monkeypatch):
    configure_audit(monkeypatch, tmp_path, metrics_url)
    out = run("gdpr", "manual__compliant")
    row = recorded(metrics_url, DAG, "manual__compliant")["gdpr_compliance"]
    assert row.status == "PASS", row.message
    assert out["status"] == "PASS"
    by_name = checks(row)
    assert by_name[VIOLATION_RULE].status == "PASS" and by_name[VIOLATION_RULE].severity == "alert"
    automated = [c for c in row.checks if c.observed is not None and c.name not in (VIOLATION_RULE,)]
    assert automated and all(c.status == "PASS" for c in automated), [(c.name, c.message) for c in automated]
    assert any("GDPR Art. 17(1)" in c.message for c in row.checks)
    score = [m for m in row.metrics if m.name == "compliance.score"]
    assert score and 0 < score[0].value <= 100
    assert row.evidence and all(len(e.sha256) == 64 and e.expires_at > e.collected_at for e in row.evidence)
    assert not row.findings
    reports = row.summary["reports"]
    html = Path(reports["html"]).read_text()
    assert "GDPR Art. 17(1)" in html and "<script" not in html


@pytest.mark.slow
def test_a_broken_demo_fails_the_planted_controls_with_evidence_and_no_retry(metrics_url, tmp_path, monkeypatch):
    configure_audit(monkeypatch, tmp_path, metrics_url)
    env = section()["service_env"] | {"DEMO_COMPLIANCE_FAULTS": "erasure_skips_store,self_approved_deployment"}
    configure_audit(monkeypatch, tmp_path, metrics_url, service_env=env)
    with pytest.raises(AirflowFailException, match="FAIL"):
        run("gdpr", "manual__broken")
    with pytest.raises(AirflowFailException, match="FAIL"):
        run("sox", "manual__broken")
    rows = recorded(metrics_url, DAG, "manual__broken")
    gdpr, sox = rows["gdpr_compliance"], rows["sox"]
    failed = {c.name for c in gdpr.checks if c.status == "FAIL" and c.severity != "alert"} - {"critical_controls"}
    assert failed and all("erasure" in name for name in failed), failed
    assert checks(gdpr)[VIOLATION_RULE].status == "FAIL"
    erasure = [f for f in gdpr.findings if f.resource == "store:training_snapshot"]
    assert erasure, [(f.rule_id, f.resource) for f in gdpr.findings]
    linked = [e for e in gdpr.evidence if e.finding_id == erasure[0].id]
    assert linked and any(e.method == "sql" for e in linked)
    assert set(erasure[0].evidence["evidence_sha256s"]) <= {e.sha256 for e in linked}
    sod = {c.name for c in sox.checks if c.status == "FAIL" and c.severity != "alert"} - {"critical_controls"}
    assert sod and all("segregation" in name or "sod" in name for name in sod), sod
    assert any("carol" not in (f.evidence.get("message") or "") for f in sox.findings)


@pytest.mark.slow
def test_a_store_that_cannot_be_reached_is_error_and_retried(metrics_url, tmp_path, monkeypatch):
    dead = "postgresql+psycopg2://nobody@127.0.0.1:9/none"
    configure_audit(monkeypatch, tmp_path, metrics_url, stores={"demo_db": dead})
    with pytest.raises(AirflowException) as raised:
        run("hipaa", "manual__store_down")
    assert not isinstance(raised.value, AirflowFailException)
    with pytest.raises(AirflowException):
        run("hipaa", "manual__store_down", try_number=2)
    store = MetricsStore(metrics_url)
    rows = store.latest_suite_runs(DAG, "manual__store_down")
    store.dispose()
    assert [r.name for r in rows] == ["hipaa"] and rows[0].try_number == 2
    assert rows[0].status == "ERROR" and "demo_db" in (rows[0].message + str(rows[0].summary))


def test_no_compliance_section_is_a_final_recorded_error(sqlite_url, tmp_path, monkeypatch):
    configure(monkeypatch, tmp_path, sqlite_url)
    with pytest.raises(AirflowFailException, match="compliance"):
        run("gdpr", "manual__no_section")
    row = recorded(sqlite_url, DAG, "manual__no_section")["gdpr"]
    assert row.status == "ERROR" and "no 'compliance:' section" in row.message


def test_a_run_for_one_framework_skips_the_others_before_anything_starts(sqlite_url, tmp_path, monkeypatch):
    configure(monkeypatch, tmp_path, sqlite_url)  # no section: a skipped task must not even read it
    with pytest.raises(AirflowSkipException, match="sox"):
        run("gdpr", "manual__one", params={"framework": "sox"})
    assert recorded(sqlite_url, DAG, "manual__one") == {}
