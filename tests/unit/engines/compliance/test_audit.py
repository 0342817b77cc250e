"""The audit runner on real SQLite stores with test-local checks: outcomes per control, waivers, the score
rule, errors that are never PASS, the records the store writes (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import socket
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from support.compliance import control, write_framework, write_waivers

from assay.engines.compliance import registry
from assay.engines.compliance.audit import CONTROL_STATUS, run_audit
from assay.engines.compliance.model import Outcome, ResourceResult
from assay.errors import ConfigError
from assay.results import Result, suite_run_record
from assay.status import Status
from assay.store import RunKey
from assay.store.models import Evidence, Finding

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
CALLS: list[str] = []


class Limit(BaseModel):
    model_config = {"extra": "forbid"}
    max_rows: int = 0


@pytest.fixture
def checks():
    """Checks reading a real SQLite store ``main`` (table ``people``): rows over the limit FAIL."""

    @registry.check("t.rows", title="rows per table", params=Limit)
    def rows(ctx):
        CALLS.append("t.rows")
        out = []
        with ctx.stores.engine("main").connect() as conn:
            for table in ("people", "cache"):
                sql = f"SELECT count(*) FROM {table}"
                n = conn.execute(text(sql)).scalar()
                status = "FAIL" if n > ctx.params.max_rows else "PASS"
                out.append(
                    ResourceResult(
                        f"store:{table}",
                        status,
                        f"{n} rows (max {ctx.params.max_rows})",
                        [ctx.evidence(f"rows of {table}", "sql", sql, {"rows": n})],
                    )
                )
        return out

    @registry.check("t.ok", title="always fine")
    def ok(ctx):
        return [
            ResourceResult(
                "user:alice", "PASS", "unique", [ctx.evidence("accounts", "computed", "accounts()", ["alice"])]
            )
        ]

    @registry.check("t.boom", title="raises")
    def boom(ctx):
        raise RuntimeError("the check has a bug")

    @registry.check("t.nothing", title="returns nothing")
    def nothing(ctx):
        return []

    @registry.check("t.na", title="not applicable")
    def na(ctx):
        return [ResourceResult("store:phi", "NOT_APPLICABLE", "no PHI column in the inventory")]

    @registry.check("t.down", title="store down")
    def down(ctx):
        ctx.stores.engine("down")
        return [ResourceResult("store:down", "PASS", "unreachable, never reached")]

    yield
    for cid in ("t.rows", "t.ok", "t.boom", "t.nothing", "t.na", "t.down"):
        registry.unregister(cid)
    CALLS.clear()


@pytest.fixture
def catalog_dir(tmp_path):
    return tmp_path / "catalog"


@pytest.fixture
def main_db(tmp_path):
    path = tmp_path / "main.db"
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE people (id TEXT); CREATE TABLE cache (id TEXT); INSERT INTO people VALUES ('p1'), ('p2');"
    )
    con.commit()
    con.close()
    return f"sqlite:///{path}"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def audit(catalog_dir, tmp_path, main_db, waivers=None, **kw):
    stores = {"main": main_db, "down": f"postgresql+psycopg2://x@127.0.0.1:{closed_port()}/none"}
    return run_audit(
        "fw",
        catalog_dir=catalog_dir,
        work_dir=tmp_path / "work",
        waivers_path=waivers,
        stores=stores,
        now=NOW,
        builtin_checks=False,
        **kw,
    )


def test_every_outcome_of_a_control(catalog_dir, tmp_path, main_db, checks):
    write_framework(
        catalog_dir,
        "fw",
        [
            control("c-pass", ["t.ok"]),
            control("c-fail", [{"id": "t.rows", "params": {"max_rows": 1}}], severity="critical"),
            control("c-raise", ["t.boom"]),
            control("c-empty", ["t.nothing"]),
            control("c-na", ["t.na"]),
            control("c-manual"),
            control("c-mixed", ["t.ok", "t.na"]),
        ],
        report_name="fw_compliance",
    )
    result = audit(catalog_dir, tmp_path, main_db)
    assert isinstance(result, Result) and (result.name, result.kind) == ("fw_compliance", "compliance")
    outcomes = {c.control.id: c.outcome for c in result.controls}
    assert outcomes == {
        "c-pass": Outcome.PASS,
        "c-fail": Outcome.FAIL,
        "c-raise": Outcome.ERROR,
        "c-empty": Outcome.ERROR,
        "c-na": Outcome.NOT_APPLICABLE,
        "c-manual": Outcome.MANUAL,
        "c-mixed": Outcome.PASS,
    }
    status = {c.name: c.status for c in result.checks}
    assert status == {
        "c-pass": "PASS",
        "c-fail": "FAIL",
        "c-raise": "ERROR",
        "c-empty": "ERROR",
        "c-na": "SKIP",
        "c-manual": "WARN",
        "c-mixed": "PASS",
        "critical_controls": "FAIL",
    }
    assert result.status is Status.FAIL and not result.retryable and result.summary["compliant"] is False
    assert (
        "the check has a bug" in result.check("c-raise").message and "RuntimeError" in result.check("c-raise").message
    )
    assert "checked nothing" in result.check("c-empty").message
    assert "not applicable: store:phi: no PHI column" in result.check("c-na").message
    fail = result.check("c-fail")
    assert fail.observed == 1 and fail.threshold == 0 and fail.comparator == "<=" and fail.severity == "critical"
    assert "store:people: 2 rows (max 1)" in fail.message and "[TEST Art. 1]" in fail.message
    # score: PASS 2 / (7 controls - 1 not applicable); manual counts in the denominator
    assert result.score == pytest.approx(100 * 2 / 6, abs=0.01)
    assert result.metric("compliance.score", framework="fw") == result.score
    assert result.metric("compliance.controls", framework="fw", outcome="MANUAL") == 1
    assert result.metric("compliance.controls", framework="fw", outcome="WAIVED") == 0
    assert result.message.startswith("fw_compliance: NON-COMPLIANT, score 33.3% (2/6); critical control c-fail FAIL")
    # findings: the failing store and the two errors; evidence for every resource, linked by index
    assert [(f.rule_id, f.resource, f.severity) for f in result.findings] == [
        ("c-fail", "store:people", "critical"),
        ("c-raise", "check:t.boom", "high"),
        ("c-empty", "check:t.nothing", "high"),
    ]
    people = result.findings[0]
    assert people.source == "compliance" and people.evidence["citations"] == ["TEST Art. 1"]
    assert people.evidence["message"] == "2 rows (max 1)" and not people.evidence["waived"]
    linked = [e for e in result.evidence if e.finding_index == 0]
    assert [e.sha256 for e in linked] == people.evidence["evidence_sha256s"] and linked[0].content == {"rows": 2}
    assert linked[0].source == "SELECT count(*) FROM people" and linked[0].expires_at == NOW + timedelta(days=2557)
    unlinked = {e.resource for e in result.evidence if e.finding_index is None}
    assert unlinked == {"store:cache", "user:alice"}
    json.dumps(result.describe_dict(), allow_nan=False)
    # the summary is compact: evidence content lives in the evidence records only
    fail_summary = next(c for c in result.summary["controls"] if c["id"] == "c-fail")
    assert fail_summary["resources_by_outcome"] == {"PASS": 1, "FAIL": 1} and "resources" not in fail_summary
    assert '"rows": 2' not in json.dumps(result.summary)


def test_a_check_serving_two_controls_runs_once(catalog_dir, tmp_path, main_db, checks):
    write_framework(
        catalog_dir,
        "fw",
        [
            control("a", ["t.rows"]),
            control("b", ["t.rows"]),
            control("c", [{"id": "t.rows", "params": {"max_rows": 5}}]),
        ],
    )
    result = audit(catalog_dir, tmp_path, main_db)
    assert CALLS == ["t.rows", "t.rows"]  # once per distinct params
    assert [c.outcome for c in result.controls] == [Outcome.FAIL, Outcome.FAIL, Outcome.PASS]


def test_a_critical_fail_is_non_compliant_whatever_the_score(catalog_dir, tmp_path, main_db, checks):
    controls = [control(f"ok-{i:02d}", ["t.ok"]) for i in range(19)]
    controls.append(control("crit", [{"id": "t.rows", "params": {"max_rows": 1}}], severity="critical"))
    write_framework(catalog_dir, "fw", controls)
    result = audit(catalog_dir, tmp_path, main_db)
    assert result.score == 95.0
    assert result.status is Status.FAIL and result.check("critical_controls").status == "FAIL"
    assert result.summary["critical_failures"] == ["crit"] and result.summary["compliant"] is False
    assert "non-compliant whatever the score" in result.check("critical_controls").message


def test_a_high_fail_is_a_fail_but_critical_controls_pass(catalog_dir, tmp_path, main_db, checks):
    write_framework(
        catalog_dir,
        "fw",
        [control("hi", [{"id": "t.rows", "params": {"max_rows": 1}}]), control("crit", ["t.ok"], severity="critical")],
    )
    result = audit(catalog_dir, tmp_path, main_db)
    assert result.status is Status.FAIL and result.check("critical_controls").status == "PASS"


def test_waivers_apply_by_scope_and_expire(catalog_dir, tmp_path, main_db, checks):
    write_framework(
        catalog_dir,
        "fw",
        [
            control("waived", [{"id": "t.rows", "params": {"max_rows": 1}}]),
            control("expired", [{"id": "t.rows", "params": {"max_rows": 1}}]),
            control("partly", [{"id": "t.rows", "params": {"max_rows": -1}}]),
        ],
    )
    (catalog_dir / "other.yaml").write_text("framework: other\ncontrols: [{id: elsewhere}]\n")  # not audited
    base = {"justification": "migration in progress", "approver": "ciso"}
    waivers = write_waivers(
        tmp_path / "waivers.yaml",
        [
            base | {"id": "W-1", "control": "waived", "scope": "store:people", "expires": "2026-12-31"},
            base | {"id": "W-2", "control": "expired", "expires": "2026-12-06"},
            base | {"id": "W-3", "control": "partly", "scope": "store:people", "expires": "2027-01-01"},
            base | {"id": "W-4", "control": "elsewhere", "expires": "2027-01-01"},
        ],
    )
    result = audit(catalog_dir, tmp_path, main_db, waivers=waivers)
    by = {c.control.id: c for c in result.controls}
    assert (
        by["waived"].outcome is Outcome.WAIVED
        and result.check("waived").status == CONTROL_STATUS[Outcome.WAIVED] == "WARN"
    )
    assert "under waiver W-1 (ciso, until 2026-12-31)" in by["waived"].message
    assert by["expired"].outcome is Outcome.FAIL and by["expired"].message.endswith("waiver W-2 expired on 2026-12-06")
    assert by["partly"].outcome is Outcome.FAIL  # store:cache fails outside the waiver's scope
    waived = [f for f in result.findings if f.evidence["waived"]]
    assert [(f.rule_id, f.resource, f.evidence["waiver"]["id"]) for f in waived] == [
        ("waived", "store:people", "W-1"),
        ("partly", "store:people", "W-3"),
    ]
    assert result.metric("compliance.controls", framework="fw", outcome="WAIVED") == 1
    assert result.score == 0.0  # a waived control is not a passed one


def test_a_waiver_of_an_unknown_control_or_without_expiry_is_a_config_error(catalog_dir, tmp_path, main_db, checks):
    write_framework(catalog_dir, "fw", [control("c", ["t.ok"])])
    bad = write_waivers(
        tmp_path / "w.yaml",
        [{"id": "W", "control": "cc", "justification": "j", "approver": "a", "expires": "2027-01-01"}],
    )
    with pytest.raises(ConfigError, match="waiver 'W' names control 'cc'"):
        audit(catalog_dir, tmp_path, main_db, waivers=bad)
    forever = write_waivers(tmp_path / "w.yaml", [{"id": "W", "control": "c", "justification": "j", "approver": "a"}])
    with pytest.raises(ConfigError, match="a waiver needs an expiry date"):
        audit(catalog_dir, tmp_path, main_db, waivers=forever)


def test_an_unreachable_store_is_a_retryable_error_never_a_pass(catalog_dir, tmp_path, main_db, checks):
    write_framework(catalog_dir, "fw", [control("ok", ["t.ok"]), control("down", ["t.down"])])
    result = audit(catalog_dir, tmp_path, main_db)
    assert result.status is Status.ERROR and result.retryable and result.summary["retryable"] is True
    assert result.check("down").status == "ERROR" and "store 'down' is unreachable" in result.check("down").message
    assert result.summary["compliant"] is None and result.message.startswith("fw: INCOMPLETE")
    # a FAIL beside it is final: FAIL wins, and FAIL is not retried
    write_framework(
        catalog_dir, "fw", [control("bad", [{"id": "t.rows", "params": {"max_rows": 0}}]), control("down", ["t.down"])]
    )
    result = audit(catalog_dir, tmp_path, main_db)
    assert result.status is Status.FAIL and not result.retryable


def test_an_unknown_framework_or_check_is_a_config_error(catalog_dir, tmp_path, main_db, checks):
    write_framework(catalog_dir, "fw", [control("c", ["t.nope"])])
    with pytest.raises(ConfigError, match=r"fw\.yaml: controls\[0\]\.checks\[0\]\.id: unknown check 't.nope'"):
        audit(catalog_dir, tmp_path, main_db)
    with pytest.raises(ConfigError, match=r"framework 'gdpr' has no catalog file gdpr\.yaml .*\(frameworks: fw\)"):
        run_audit("gdpr", catalog_dir=catalog_dir, work_dir=tmp_path, builtin_checks=False)


def test_all_passing_is_compliant_and_writes_both_reports(catalog_dir, tmp_path, main_db, checks):
    write_framework(catalog_dir, "fw", [control("c", ["t.ok"]), control("n", ["t.na"])])
    result = audit(catalog_dir, tmp_path, main_db)
    assert result.status is Status.PASS and result.score == 100.0 and result.summary["compliant"] is True
    reports = result.summary["reports"]
    assert reports["html"].endswith("fw.html") and reports["oscal_json"].endswith("fw.oscal.json")
    assert json.loads(open(reports["oscal_json"]).read())["assessment-results"]["results"][0]["findings"]


def test_the_result_is_recorded_with_findings_and_linked_evidence(catalog_dir, tmp_path, main_db, checks, store):
    write_framework(
        catalog_dir, "fw", [control("c-fail", [{"id": "t.rows", "params": {"max_rows": 1}}]), control("c", ["t.ok"])]
    )
    result = audit(catalog_dir, tmp_path, main_db, report=False)
    key = RunKey("assay_weekly_compliance", "scheduled__1", "audit", 0, 1)
    store.record_suite_run(suite_run_record(result, key))
    store.record_suite_run(suite_run_record(result, key))  # the same try again: replaced, not duplicated
    with Session(store.engine) as s:
        assert s.scalar(select(func.count()).select_from(Evidence)) == 3
        (finding,) = s.scalars(select(Finding)).all()
        assert finding.rule_id == "c-fail" and finding.resource == "store:people"
        assert [e.sha256 for e in finding.evidence_rows] == finding.evidence["evidence_sha256s"]
        assert finding.evidence_rows[0].content == {"rows": 2} and finding.evidence_rows[0].method == "sql"


def test_audit_from_config_takes_everything_from_the_section(catalog_dir, tmp_path, main_db, checks):
    from assay.engines.compliance.audit import audit_from_config
    from assay.engines.compliance.config import ComplianceConfig

    write_framework(catalog_dir, "fw", [control("c", [{"id": "t.rows", "params": {"max_rows": 1}}])])
    waivers = write_waivers(
        tmp_path / "w.yaml",
        [{"id": "W", "control": "c", "justification": "j", "approver": "a", "expires": "2026-12-31"}],
    )
    cfg = ComplianceConfig(
        catalog_dir=str(catalog_dir),
        waivers=str(waivers),
        stores={"main": main_db},
        evidence_days=10,
        api={"base_url": f"http://127.0.0.1:{closed_port()}", "roles": {"admin": "ADMIN_TOKEN"}},
    )
    with pytest.raises(ConfigError, match="ADMIN_TOKEN is not set"):
        audit_from_config("fw", cfg, work_dir=tmp_path / "w", now=NOW, environ={}, builtin_checks=False)
    result = audit_from_config(
        "fw", cfg, work_dir=tmp_path / "w", now=NOW, environ={"ADMIN_TOKEN": "t"}, builtin_checks=False
    )
    assert result.controls[0].outcome is Outcome.WAIVED and result.status is Status.PASS
    assert {e.expires_at for e in result.evidence} == {NOW + timedelta(days=10)}


def test_a_check_returning_the_wrong_thing_is_error_and_errors_are_never_waived(catalog_dir, tmp_path, main_db, checks):
    @registry.check("t.wrong", title="returns a dict")
    def wrong(ctx):
        return {"resource": "x", "status": "PASS"}

    @registry.check("t.mixed_types", title="one good, one bad item")
    def mixed(ctx):
        return [ResourceResult("user:a", "PASS", "ok"), "PASS"]

    try:
        write_framework(
            catalog_dir,
            "fw",
            [control("wrong", ["t.wrong"]), control("mixed", ["t.mixed_types"]), control("err", ["t.boom"])],
        )
        waivers = write_waivers(
            tmp_path / "w.yaml",
            [{"id": "W", "control": "err", "justification": "j", "approver": "a", "expires": "2027-01-01"}],
        )
        result = audit(catalog_dir, tmp_path, main_db, waivers=waivers)
    finally:
        registry.unregister("t.wrong")
        registry.unregister("t.mixed_types")
    assert [c.outcome for c in result.controls] == [Outcome.ERROR, Outcome.ERROR, Outcome.ERROR]
    assert "returned dict, not a list of results" in result.check("wrong").message
    assert "returned a str, not a ResourceResult" in result.check("mixed").message
    assert not any(f.evidence["waived"] for f in result.findings) and result.status is Status.ERROR
    assert not result.retryable  # a bug in a check is not cured by a retry
