"""assay_security_scan's operators via execute(context), with the real Trivy (secret scanning, offline) and
bandit on a real git target, a real metrics DB (SQLite and PostgreSQL), and alerts through the real provider
hooks to a real SMTP server and an HTTP server standing in for Slack.

A leaked secret is FAIL and alerts the first night; the second night it is still open (FAIL, no new alert);
once a commit removes it, the next scan records it fixed. The secret's value is nowhere Assay writes."""

from __future__ import annotations

import json
import secrets
import string

import pytest
import yaml
from airflow.sdk.exceptions import AirflowFailException
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from support.alert_sinks import connect_alert_sinks
from support.context import make_context
from support.git_repo import commit_all, git
from support.smtp_sink import body_text

from assay.store import MetricsStore
from assay.store.models import SuiteRun
from assay_airflow.operators.security import ResolveScanOperator, SecurityAlertNotifier, SecurityScanOperator

pytestmark = pytest.mark.slow  # real Trivy and bandit runs

VULNERABLE = """\
import subprocess


def run(cmd):
    return subprocess.call(cmd, shell=True)
"""


def github_pat() -> str:
    alphabet = string.ascii_letters + string.digits
    return "ghp_" + "".join(secrets.choice(alphabet) for _ in range(36))


@pytest.fixture
def shop(tmp_path, monkeypatch, metrics_url, sinks):
    """A git target with a shell=True call (bandit B602, HIGH) and a GitHub token in its settings."""
    slack, smtp = sinks
    repo = tmp_path / "shop"
    (repo / "shop").mkdir(parents=True)
    (repo / "config").mkdir()
    git(["init", "-q", "-b", "main"], repo)
    (repo / "shop" / "__init__.py").write_text("")
    (repo / "shop" / "tasks.py").write_text(VULNERABLE)
    token = github_pat()
    (repo / "config" / "settings.py").write_text(f'DEBUG = False\nGITHUB_TOKEN = "{token}"\n')
    sha = commit_all(repo, "shop with a leaked token")
    cfg = {
        "alerts": {"email_to": ["security@example.com"]},
        "targets": {
            "shop": {
                "repo": str(repo),
                "python": "worker",
                "suites": {"unit": {"paths": ["tests"]}},
                "security": {
                    "scanners": ["trivy_fs", "bandit", "dast_fuzz"],
                    "trivy": {"scanners": ["secret"], "offline": True, "cache_dir": str(tmp_path / "trivy-cache")},
                    "gates": {"high_warn_max": 0},
                },
            }
        },
    }
    path = tmp_path / "assay.yaml"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("ASSAY_CONFIG", str(path))
    monkeypatch.setenv("ASSAY_METRICS_DB_URL", metrics_url)
    monkeypatch.setenv("ASSAY_HOME", str(tmp_path / "home"))
    connect_alert_sinks(monkeypatch, slack.url, smtp.port)
    return {"repo": repo, "sha": sha, "token": token, "url": metrics_url, "cfg": path}


def rows(url, **where):
    store = MetricsStore(url)
    with Session(store.engine) as s:
        q = select(SuiteRun).options(selectinload(SuiteRun.findings), selectinload(SuiteRun.checks))
        for k, v in where.items():
            q = q.where(getattr(SuiteRun, k) == v)
        out = s.scalars(q.order_by(SuiteRun.id)).all()
    store.dispose()
    return out


def resolve(params, run_id="night1"):
    ctx = make_context("resolve_targets", params, dag_id="assay_security_scan", run_id=run_id)
    return ResolveScanOperator(task_id="resolve_targets").execute(ctx)


def scan(spec, run_id, try_number=1):
    ctx = make_context("scan", {}, dag_id="assay_security_scan", run_id=run_id, map_index=0, try_number=try_number)
    op = SecurityScanOperator(task_id="scan", **spec)
    return ctx, op


def test_resolve_names_each_scanner_that_applies_and_refuses_bad_params(shop):
    specs = resolve({"target": "all"})
    # no service configured: no API test; no image: no trivy_image
    assert specs == [
        {"target": "shop", "sha": shop["sha"], "branch": "main", "scanner": s} for s in ("trivy_fs", "bandit")
    ]
    assert resolve({"target": "shop", "sha": shop["sha"][:8], "scanners": ["bandit"]})[0]["scanner"] == "bandit"
    with pytest.raises(AirflowFailException, match="unknown scanner"):
        resolve({"target": "shop", "scanners": ["nmap"]}, run_id="bad")
    (row,) = rows(shop["url"], run_id="bad")
    assert row.status == "ERROR" and "nmap" in row.message
    with pytest.raises(AirflowFailException, match="does not exist|not found|unknown"):
        resolve({"target": "shop", "sha": "deadbeef"}, run_id="missing")


def test_a_leaked_secret_alerts_once_stays_failed_then_is_fixed(shop, sinks):
    slack, smtp = sinks
    (spec,) = [s for s in resolve({"target": "shop"}) if s["scanner"] == "trivy_fs"]
    ctx, op = scan(spec, "night1")
    with pytest.raises(AirflowFailException, match="secrets"):
        op.execute(ctx)
    (run,) = rows(shop["url"], run_id="night1", name="trivy_fs")
    assert run.status == "FAIL"
    (finding,) = run.findings
    assert finding.state == "new" and finding.source == "trivy" and finding.resource.startswith("config/settings.py")
    assert finding.severity == "CRITICAL" and finding.fingerprint and finding.first_seen_at is not None
    SecurityAlertNotifier().notify(ctx | {"exception": AirflowFailException("secrets")})
    ((_, msg),) = smtp.messages
    (req,) = slack.requests
    for text in (body_text(msg), json.dumps(req.json())):
        assert "secrets_leaked" in text and "config/settings.py" in text
        assert shop["token"] not in text
    # nothing Assay recorded or wrote holds the secret
    dumped = json.dumps(
        [[f.title, f.resource, f.evidence] for r in rows(shop["url"]) for f in r.findings] + [run.message, run.summary],
        default=str,
    )
    assert shop["token"] not in dumped
    home = shop["cfg"].parent / "home" / "results"
    assert all(shop["token"] not in p.read_text(errors="replace") for p in home.rglob("*") if p.is_file())

    # night 2: the same secret is still there: FAIL, but no second alert
    ctx, op = scan(spec, "night2")
    with pytest.raises(AirflowFailException):
        op.execute(ctx)
    (run2,) = rows(shop["url"], run_id="night2", name="trivy_fs")
    assert [f.state for f in run2.findings] == ["existing"]
    assert run2.findings[0].first_seen_at == finding.first_seen_at
    SecurityAlertNotifier().notify(ctx | {"exception": AirflowFailException("secrets")})
    assert len(smtp.messages) == 1 and len(slack.requests) == 1

    # a commit removes the token: the next scan passes and records it fixed
    (shop["repo"] / "config" / "settings.py").write_text('import os\nGITHUB_TOKEN = os.environ["GITHUB_TOKEN"]\n')
    fixed_sha = commit_all(shop["repo"], "token from the environment")
    (spec3,) = [s for s in resolve({"target": "shop"}, run_id="night3") if s["scanner"] == "trivy_fs"]
    assert spec3["sha"] == fixed_sha
    ctx, op = scan(spec3, "night3")
    out = op.execute(ctx)
    assert out["status"] == "PASS" and out["summary"]["fixed_total"] == 1


def test_bandit_findings_warn_and_a_retried_task_writes_them_once(shop):
    (spec,) = [s for s in resolve({"target": "shop"}) if s["scanner"] == "bandit"]
    for attempt in (1, 2):
        ctx, op = scan(spec, "night1", try_number=attempt)
        out = op.execute(ctx)  # WARN: recorded, not raised
        assert out["status"] == "WARN"
    latest = MetricsStore(shop["url"]).latest_suite_runs("assay_security_scan", "night1")
    (run,) = [r for r in latest if r.name == "bandit"]
    b602 = [f for f in run.findings if f.rule_id == "B602"]
    assert len(b602) == 1 and b602[0].resource == "shop/tasks.py:5" and b602[0].severity == "HIGH"
    assert run.try_number == 2 and {f.state for f in run.findings} == {"new"}


def test_a_scanner_binary_that_is_missing_is_recorded_error_saying_what_to_install(shop):
    cfg = yaml.safe_load(shop["cfg"].read_text())
    cfg["targets"]["shop"]["security"]["trivy"]["binary"] = "/nonexistent/trivy"
    shop["cfg"].write_text(yaml.safe_dump(cfg))
    (spec,) = [s for s in resolve({"target": "shop"}) if s["scanner"] == "trivy_fs"]
    ctx, op = scan(spec, "night1")
    # a retry cannot install the binary: final
    with pytest.raises(AirflowFailException, match="set security.trivy.binary"):
        op.execute(ctx)
    (run,) = rows(shop["url"], run_id="night1", name="trivy_fs")
    assert run.status == "ERROR" and "/nonexistent/trivy" in run.message
