"""assay_per_commit end to end through dag.test(): real git, real pytest, real metrics DB, real alerts."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from support.git_repo import commit_all
from support.pytest_summary import summary_counts
from support.smtp_sink import body_text

from assay.engines.per_commit import parse_coverage_json
from assay.store import MetricsStore
from assay.store.models import SuiteRun
from assay.store.repository import COVERAGE_METRIC

pytestmark = [pytest.mark.slow, pytest.mark.airflow_db]

SUITES = {"unit": ("tests/unit", "unit"), "integration": ("tests/integration", "integration")}


def direct_pytest(repo, sha, suite, out):
    """What a person gets running the suite by hand on a clean clone of ``sha``: pytest's summary line."""
    clone = out / f"clone-{sha[:8]}"
    if not clone.exists():
        subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
        subprocess.run(["git", "checkout", "-q", sha], cwd=clone, check=True)
    path, marker = SUITES[suite]
    cov = out / f"{sha[:8]}-{suite}.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            path,
            "-m",
            marker,
            "-p",
            "no:cacheprovider",
            "-q",
            "--cov=fraud",
            f"--cov-report=json:{cov}",
        ],
        cwd=clone,
        capture_output=True,
        text=True,
        check=False,
    )
    return summary_counts(proc.stdout), parse_coverage_json(cov)


def recorded_counts(row):
    return {k: v for k, v in row.summary["counts"].items() if k != "total"}


def recorded(metrics_url, run_id):
    store = MetricsStore(metrics_url)
    with Session(store.engine) as s:
        rows = s.scalars(
            select(SuiteRun)
            .where(SuiteRun.run_id == run_id)
            .options(selectinload(SuiteRun.test_cases), selectinload(SuiteRun.metrics), selectinload(SuiteRun.checks))
        ).all()
    store.dispose()
    return {r.name: r for r in rows}


def run_dag(dags, **conf):
    dr = dags["assay_per_commit"].test(run_conf=conf)
    return dr


def test_commit_recorded_exactly_then_a_breaking_commit_fails_and_alerts(dags, assay_env, slack_sink, smtp_sink):
    demo, sha = assay_env["demo"], assay_env["sha"]

    dr = run_dag(dags, target="demo-platform", sha=sha, branch="main")
    assert dr.state == "success"
    rows = recorded(assay_env["metrics_url"], dr.run_id)
    assert rows["checkout"].status == "PASS" and rows["checkout"].commit_sha == sha
    for suite in SUITES:
        by_hand, cov = direct_pytest(demo, sha, suite, assay_env["tmp"])
        row = rows[suite]
        assert row.status == "PASS" and row.commit_sha == sha and row.branch == "main"
        assert recorded_counts(row) == by_hand
        assert len(row.test_cases) == row.summary["counts"]["total"] == sum(by_hand.values()) > 0
        recorded_cov = next(m.value for m in row.metrics if m.name == COVERAGE_METRIC)
        assert recorded_cov == pytest.approx(cov.line_percent, abs=0.01)
    gate = rows["per_commit_gates"]
    checks = {c.name: c for c in gate.checks}
    assert gate.status == "PASS"
    assert checks["coverage_min"].status == "PASS" and checks["coverage_min"].observed >= 80
    assert checks["critical_path:fraud/pipeline.py"].status == "PASS"
    assert checks["coverage_drop"].status == "SKIP"  # first run on the branch
    assert slack_sink.requests == [] and smtp_sink.messages == []

    # A second commit breaks a unit test.
    test_file = demo / "tests" / "unit" / "test_features.py"
    test_file.write_text(
        test_file.read_text() + "\n\ndef test_broken_on_purpose():\n"
        "    assert 0.1 + 0.2 == 0.3, 'floating point strikes again'\n"
    )
    bad_sha = commit_all(demo, "break a test")
    dr2 = run_dag(dags, target="demo-platform", sha=bad_sha, branch="main")
    assert dr2.state == "failed"
    rows2 = recorded(assay_env["metrics_url"], dr2.run_id)
    by_hand, _ = direct_pytest(demo, bad_sha, "unit", assay_env["tmp"])
    unit = rows2["unit"]
    assert unit.status == "FAIL"
    assert recorded_counts(unit) == by_hand
    failed = [t for t in unit.test_cases if t.outcome == "failed"]
    assert [t.node_id.rsplit("::", 1)[-1] for t in failed] == ["test_broken_on_purpose"]
    assert rows2["per_commit_gates"].status == "FAIL"
    assert {c.name: c.status for c in rows2["per_commit_gates"].checks}["all_tests_pass"] == "FAIL"

    (req,) = slack_sink.requests
    assert req.path == "/services/T0/B0/x"
    text = req.json()["text"]
    for needle in (
        "assay_per_commit",
        "demo-platform",
        bad_sha,
        "all_tests_pass",
        "test_broken_on_purpose",
        "floating point strikes again",
        dr2.run_id.split("+")[0],
    ):
        assert needle in text, needle
    ((rcpts, msg),) = smtp_sink.messages
    assert rcpts == ["oncall@example.com"]
    assert msg["Subject"] == f"[Assay] FAIL: assay_per_commit on demo-platform @ {bad_sha[:12]}"
    html = body_text(msg)
    assert "test_broken_on_purpose" in html and "/dags/assay_per_commit/runs/" in html


def test_commit_that_does_not_exist_fails_at_once_and_alerts_why(dags, assay_env, slack_sink, smtp_sink):
    dr = run_dag(dags, target="demo-platform", sha="0123456789abcdef", branch="main")
    assert dr.state == "failed"
    states = {ti.task_id: ti.state for ti in dr.get_task_instances()}
    assert states["resolve_commit"] == "failed" and states["run_suite"] == "upstream_failed"
    rows = recorded(assay_env["metrics_url"], dr.run_id)
    assert rows["checkout"].status == "ERROR"
    assert "commit 0123456789abcdef does not exist in target 'demo-platform'" in rows["checkout"].message
    assert rows["per_commit_gates"].status == "ERROR"
    (req,) = slack_sink.requests
    assert "commit 0123456789abcdef does not exist" in req.json()["text"]
    assert len(smtp_sink.messages) == 1


@pytest.mark.parametrize(
    "conf",
    [
        {"target": "demo-platform", "sha": "$(reboot)"},
        {"target": "demo-platform", "branch": "main;rm -rf /"},
        {"target": "not-configured", "branch": "main"},
    ],
)
def test_ui_and_api_params_are_validated_before_a_run_exists(dags, conf):
    from airflow.sdk.exceptions import ParamValidationError

    good = copy.deepcopy(dags["assay_per_commit"].params)
    good.update({"target": "demo-platform", "sha": "abcdef1", "branch": "feature/x"})
    assert good.validate()["sha"] == "abcdef1"  # the same form accepts well-formed input
    params = copy.deepcopy(dags["assay_per_commit"].params)
    with pytest.raises(ParamValidationError):  # what the trigger form and POST /dagRuns run on conf
        params.update(conf)
        params.validate()


def test_a_sharded_suite_records_what_the_unsharded_run_recorded(dags, assay_env, monkeypatch, tmp_path):
    """The demo's unit suite (with pytest-xdist) in 2 shards through the real mapped tasks and the merge:
    the recorded tests, counts and coverage equal the unsharded run of the same commit."""
    import yaml

    from assay.config import REPO_ROOT

    sha = assay_env["sha"]
    cfg = yaml.safe_load((REPO_ROOT / "include" / "config" / "assay.yaml").read_text())
    suites = cfg["targets"]["demo-platform"]["suites"]
    cfg["targets"]["demo-platform"]["suites"] = {"unit": suites["unit"]}  # the gates' coverage suite alone
    path = tmp_path / "assay.yaml"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("ASSAY_CONFIG", str(path))
    first = run_dag(dags, target="demo-platform", sha=sha, branch="main")
    assert first.state == "success"
    whole = recorded(assay_env["metrics_url"], first.run_id)["unit"]

    cfg["targets"]["demo-platform"]["suites"]["unit"]["shards"] = 2
    path.write_text(yaml.safe_dump(cfg))
    dr = run_dag(dags, target="demo-platform", sha=sha, branch="main")
    assert dr.state == "success"
    rows = recorded(assay_env["metrics_url"], dr.run_id)
    shards = sorted(name for name, r in rows.items() if r.kind == "pytest_shard")
    assert shards == ["unit[1/2]", "unit[2/2]"]
    unit = rows["unit"]
    assert unit.kind == "pytest" and unit.task_id == "merge_shards" and unit.status == "PASS"
    assert sorted((t.node_id, t.outcome) for t in unit.test_cases) == sorted(
        (t.node_id, t.outcome) for t in whole.test_cases
    )
    assert unit.summary["counts"] == whole.summary["counts"]
    metrics = {(m.name, json.dumps(m.labels, sort_keys=True)): m.value for m in unit.metrics}
    expected = {(m.name, json.dumps(m.labels, sort_keys=True)): m.value for m in whole.metrics}
    assert {k: v for k, v in metrics.items() if k[0] != "suite.duration_s"} == {
        k: v for k, v in expected.items() if k[0] != "suite.duration_s"
    }
    assert rows["per_commit_gates"].status == "PASS"
