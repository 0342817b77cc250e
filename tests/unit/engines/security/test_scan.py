"""Judging a scanner's report: gates, suppressions with expiry, and the lifecycle new → existing → fixed,
through the real metrics store (SQLite and PostgreSQL) so a retried scan records the same states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from assay.engines.security.config import SecurityGates
from assay.engines.security.model import ScanFinding, ScanReport
from assay.engines.security.scan import NEW_CRITICAL_RULE, SECRETS_RULE, PreviousScan, judge_report
from assay.engines.security.suppressions import load_suppressions
from assay.errors import ConfigError
from assay.results import suite_run_record
from assay.status import Status
from assay.store.records import RunKey

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def vuln(cve: str, severity: str, package: str = "urllib3", version: str = "1.26.0") -> ScanFinding:
    return ScanFinding(
        tool="trivy",
        category="vulnerability",
        rule_id=cve,
        severity=severity,
        title=f"{cve} in {package}",
        location="requirements.txt",
        package=package,
        installed_version=version,
        fixed_version="9.9.9",
    )


def secret(rule: str = "github-pat", path: str = "config/settings.py", line: int = 3) -> ScanFinding:
    return ScanFinding(
        tool="trivy", category="secret", rule_id=rule, severity="CRITICAL", title="GitHub PAT", location=path, line=line
    )


def report(*findings: ScanFinding, scanner: str = "trivy_fs", errors: list[str] | None = None, scanned: int = 12):
    return ScanReport(
        scanner=scanner,
        tool="trivy",
        tool_version="0.76.0",
        findings=list(findings),
        scanned=scanned,
        errors=errors or [],
    )


def judge(rep, previous=None, gates=None, suppressions=None, now=T0):
    return judge_report(
        rep,
        target="shop",
        gates=gates or SecurityGates(),
        suppressions=suppressions or load_suppressions(None),
        previous=previous or PreviousScan(),
        started_at=now,
        now=now,
    )


def test_gates_critical_fail_high_warn_secrets_fail_and_alert_rules():
    highs = [vuln(f"CVE-2026-{i:04d}", "HIGH", package=f"p{i}") for i in range(3)]
    r = judge(report(*highs), gates=SecurityGates(high_warn_max=2))
    assert r.status is Status.WARN
    assert r.check("high_findings").observed == 3 and r.check("high_findings").status == "WARN"
    r = judge(report(vuln("CVE-2026-0001", "CRITICAL")))
    assert r.status is Status.FAIL and r.check("critical_findings").status == "FAIL"
    assert r.check(NEW_CRITICAL_RULE).status == "FAIL" and r.check(NEW_CRITICAL_RULE).severity == "alert"
    r = judge(report(secret()))
    assert r.check("secrets").status == "FAIL" and r.check(SECRETS_RULE).status == "FAIL"
    # bandit cannot find secrets: no secrets gate nor rule on its runs
    r = judge(report(scanner="bandit"))
    assert r.status is Status.PASS and r.check("secrets") is None and r.check(SECRETS_RULE) is None


def test_a_scan_with_errors_or_that_examined_nothing_is_error_never_pass():
    r = judge(report(errors=["no vulnerability DB in /cache and offline: run trivy --download-db-only"]))
    assert r.status is Status.ERROR and "download-db-only" in r.message
    r = judge(report(scanned=0))
    assert r.status is Status.ERROR and "examined nothing" in r.check("scan_complete").message
    # findings of an incomplete scan are still recorded
    r = judge(report(secret(), errors=["vulnerability DB missing"]))
    assert r.status is Status.ERROR and len(r.findings) == 1


def test_lifecycle_new_existing_fixed_and_reopened_with_first_seen():
    a, b, c = (
        vuln("CVE-2026-0001", "CRITICAL"),
        vuln("CVE-2026-0002", "LOW", "idna"),
        vuln("CVE-2026-0003", "HIGH", "jinja2"),
    )
    first = judge(report(a, b))
    assert {f.rule_id: f.state for f in first.findings} == {"CVE-2026-0001": "new", "CVE-2026-0002": "new"}
    prev = PreviousScan(
        run_id="r1",
        findings={f.fingerprint: {"rule_id": f.rule_id} for f in first.findings},
        first_seen={f.fingerprint: T0 for f in first.findings},
    )
    later = T0 + timedelta(days=1)
    second = judge(report(a, c), previous=prev, now=later)
    states = {f.rule_id: f.state for f in second.findings}
    assert states == {"CVE-2026-0001": "existing", "CVE-2026-0003": "new"}
    assert second.summary["fixed_total"] == 1 and second.summary["fixed"][0]["rule_id"] == "CVE-2026-0002"
    assert second.metric("security.findings_fixed") == 1
    # the existing critical keeps its first-seen time and does not alert again; the gate still fails
    existing = next(f for f in second.findings if f.rule_id == "CVE-2026-0001")
    assert existing.first_seen_at == T0 and existing.evidence["alert"] is False
    assert second.check(NEW_CRITICAL_RULE).status == "PASS" and second.check("critical_findings").status == "FAIL"
    # b comes back after it was fixed: new again (alerts if critical), reopened, first seen on day one
    prev2 = PreviousScan(
        run_id="r2", findings={f.fingerprint: {} for f in second.findings}, first_seen={b.fingerprint: T0}
    )
    third = judge(report(a, b, c), previous=prev2, now=later + timedelta(days=1))
    back = next(f for f in third.findings if f.rule_id == "CVE-2026-0002")
    assert back.state == "new" and back.evidence["reopened"] is True and back.first_seen_at == T0


def test_a_target_with_nothing_of_that_kind_to_scan_is_skip_not_error():
    rep = report(scanner="trivy_config", scanned=0)
    rep.nothing_to_scan = "no Dockerfile, Kubernetes manifest ... in the checkout"
    r = judge(rep)
    assert r.status is Status.SKIP and "nothing to scan: no Dockerfile" in r.message
    # a scan that was supposed to find files and found none is still ERROR
    assert judge(report(scanner="trivy_config", scanned=0)).status is Status.ERROR


def test_an_incomplete_scan_fixes_nothing():
    a = vuln("CVE-2026-0001", "CRITICAL")
    prev = PreviousScan(run_id="r1", findings={a.fingerprint: {"rule_id": a.rule_id}})
    r = judge(report(errors=["vulnerability DB missing"]), previous=prev)
    assert r.summary["fixed_total"] == 0 and r.summary["fixed_not_judged"]


def test_one_finding_reported_twice_counts_once():
    a = vuln("CVE-2026-0001", "HIGH")
    r = judge(report(a, a))
    assert len(r.findings) == 1 and r.check("high_findings").observed == 1


def test_fingerprint_ignores_the_line_but_not_the_package_version():
    assert secret(line=3).fingerprint == secret(line=40).fingerprint
    assert vuln("CVE-1", "HIGH", version="1.0").fingerprint != vuln("CVE-1", "HIGH", version="1.1").fingerprint


def test_suppression_applies_until_it_expires_then_the_run_says_so(tmp_path):
    path = tmp_path / "suppressions.yaml"
    path.write_text(
        """\
version: 1
suppressions:
  - id: S-1
    rule: CVE-2026-00*
    scope: {target: shop, package: urllib3}
    justification: not reachable from our code
    approver: jane.doe (security)
    expires: 2026-12-10
"""
    )
    rules = load_suppressions(path)
    a = vuln("CVE-2026-0001", "CRITICAL")
    live = judge(report(a), suppressions=rules, now=datetime(2026, 12, 10, 23, 59, tzinfo=UTC))
    assert live.status is Status.PASS and live.findings[0].state == "suppressed"
    assert live.findings[0].evidence["suppressed_by"]["id"] == "S-1"
    assert live.check(NEW_CRITICAL_RULE).status == "PASS"
    expired = judge(report(a), suppressions=rules, now=datetime(2026, 12, 11, tzinfo=UTC))
    assert expired.status is Status.FAIL and expired.findings[0].state == "new"
    assert "S-1 (CVE-2026-00*) expired on 2026-12-10" in expired.check("suppressions_expired").message
    # another target, another package: never covered
    other = judge(report(vuln("CVE-2026-0001", "CRITICAL", package="idna")), suppressions=rules, now=T0)
    assert other.findings[0].state == "new"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("version: 1\nsuppressions:\n  - {id: S, rule: X, justification: j, approver: a}\n", "needs an expiry date"),
        (
            "version: 1\nsuppressions:\n  - {id: S, rule: X, justification: j, approver: a, expires: 2027-01-01, why: x}\n",
            "why",
        ),
        ("- a\n", "top level must be a mapping"),
        ("version: 1\nsuppressions: [\n", "not valid YAML"),
    ],
)
def test_a_bad_suppression_file_names_what_to_fix(tmp_path, text, problem):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=problem):
        load_suppressions(path)
    with pytest.raises(ConfigError, match="cannot read suppression file"):
        load_suppressions(tmp_path / "missing.yaml")


def _record(store, result, run_id: str, try_number: int = 1) -> None:
    key = RunKey("assay_security_scan", run_id, "scan", 0, try_number)
    store.record_suite_run(suite_run_record(result, key, target="shop", commit_sha="a" * 40))


def _scan(store, run_id: str, *findings: ScanFinding, now: datetime, try_number: int = 1, errors=None):
    rep = report(*findings, errors=errors)
    prev_run, before, first_seen = store.security_history(
        target="shop", scanner="trivy_fs", exclude_run_id=run_id, fingerprints=[f.fingerprint for f in rep.findings]
    )
    r = judge(rep, previous=PreviousScan(run_id=prev_run, findings=before, first_seen=first_seen), now=now)
    _record(store, r, run_id, try_number)
    return r


def test_three_scans_through_the_store_and_a_retry_records_the_same(store):
    a, b, c = (
        vuln("CVE-2026-0001", "CRITICAL"),
        vuln("CVE-2026-0002", "LOW", "idna"),
        vuln("CVE-2026-0003", "HIGH", "jinja2"),
    )
    one = _scan(store, "night1", a, b, now=T0)
    assert {f.state for f in one.findings} == {"new"}
    two = _scan(store, "night2", a, c, now=T0 + timedelta(days=1))
    assert {f.rule_id: f.state for f in two.findings} == {"CVE-2026-0001": "existing", "CVE-2026-0003": "new"}
    assert [x["rule_id"] for x in two.summary["fixed"]] == ["CVE-2026-0002"]
    assert next(f for f in two.findings if f.rule_id == "CVE-2026-0001").first_seen_at == T0
    # the retried task of night 2 compares with night 1 again: the same states, no duplicate rows
    retry = _scan(store, "night2", a, c, now=T0 + timedelta(days=1, minutes=5), try_number=2)
    assert {f.rule_id: f.state for f in retry.findings} == {"CVE-2026-0001": "existing", "CVE-2026-0003": "new"}
    rows = store.latest_suite_runs("assay_security_scan", "night2")
    assert len(rows) == 1 and sorted(f.rule_id for f in rows[0].findings) == ["CVE-2026-0001", "CVE-2026-0003"]
    stored = {f.rule_id: f for f in rows[0].findings}
    assert stored["CVE-2026-0003"].state == "new" and stored["CVE-2026-0003"].fingerprint == c.fingerprint
    # an ERROR scan in between is not what the next one compares with, and fixes nothing
    broken = _scan(store, "night3", a, now=T0 + timedelta(days=2), errors=["vulnerability DB missing"])
    assert broken.status is Status.ERROR and broken.summary["fixed_total"] == 0
    three = _scan(store, "night4", a, now=T0 + timedelta(days=3))
    assert three.summary["previous_run_id"] == "night2"
    assert [x["rule_id"] for x in three.summary["fixed"]] == ["CVE-2026-0003"]


def test_a_scan_root_outside_the_workspace_is_refused_before_any_tool_runs(tmp_path):
    from assay.engines.security.config import SecurityTargetConfig
    from assay.engines.security.scan import run_security_scan

    workspace = tmp_path / "git"
    (workspace / "worktrees" / "shop").mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    sneaky = workspace / "worktrees" / "shop" / ".." / ".." / ".." / "elsewhere"
    for root in (outside, sneaky):
        with pytest.raises(ConfigError, match="outside"):
            run_security_scan(
                "bandit",
                target="shop",
                root=root,
                cfg=SecurityTargetConfig(),
                work_dir=tmp_path / "work",
                history=lambda _fps: PreviousScan(),
                allowed_roots=[workspace],
            )
    assert not (tmp_path / "work").exists()
