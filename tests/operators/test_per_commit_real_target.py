"""A real src/ layout project as a ``python: venv`` target, through ResolveCommitOperator and
PytestSuiteOperator ``execute(context)`` against the metrics DB (SQLite and PostgreSQL).

The code under test is always the checked-out commit: a passing commit is PASS, the next commit (same
dependencies) that breaks one test is FAIL with exactly that test, and after more than 20 other commits
(so the first commits' worktrees are pruned) a docs-only commit is PASS again. Coverage is recorded for
the run's own worktree, relative to the repository root.
"""

from __future__ import annotations

import pytest
import yaml
from airflow.sdk.exceptions import AirflowFailException
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from support.context import TaskInstanceStub, make_context
from support.tiny_repo import break_sub, commit_files, fix_sub, make_tiny_repo

from assay.config import assay_home
from assay.store import MetricsStore
from assay.store.models import SuiteRun
from assay.store.repository import FILE_COVERAGE_METRIC
from assay_airflow.operators.per_commit import PytestSuiteOperator, ResolveCommitOperator

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def shared_envs(tmp_path_factory):
    """One venv cache for the session: the target venv is built once, reused by every test run after."""
    return tmp_path_factory.mktemp("target-envs")


@pytest.fixture
def tiny_target(tmp_path, monkeypatch, metrics_url, shared_envs):
    repo = tmp_path / "tinycalc"
    first = make_tiny_repo(repo)
    cfg = {
        "targets": {
            "tinycalc": {
                "repo": str(repo),
                "python": "venv",
                "extras": ["test"],
                "source": "tinycalc",
                "suites": {"unit": {"paths": ["tests"], "timeout_s": 300}},
                "gates": {"coverage_min": 50, "critical_paths": ["src/tinycalc/__init__.py"]},
            }
        }
    }
    (tmp_path / "assay.yaml").write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("ASSAY_CONFIG", str(tmp_path / "assay.yaml"))
    monkeypatch.setenv("ASSAY_METRICS_DB_URL", metrics_url)
    monkeypatch.setenv("ASSAY_HOME", str(tmp_path / "home"))  # fresh mirrors and worktrees for this test
    monkeypatch.setenv("ASSAY_ENVS_DIR", str(shared_envs))
    return {"repo": repo, "first": first, "url": metrics_url}


def run_commit(sha: str, run_id: str) -> tuple[list[str], dict]:
    """resolve_commit then one suite task per suite it returns, as the mapped DAG runs them."""
    ti = TaskInstanceStub(run_id=run_id)
    ctx = make_context("resolve_commit", {"target": "tinycalc", "sha": sha, "branch": "main"}, ti=ti)
    suites = ResolveCommitOperator(task_id="resolve_commit").execute(ctx)
    ti.xcom_push("return_value", suites)
    outcomes = {}
    for i, suite in enumerate(suites):
        sctx = make_context("run_suite", ti=ti)
        ti.map_index = i
        try:
            outcomes[suite] = PytestSuiteOperator(task_id="run_suite", suite=suite).execute(sctx)
        except AirflowFailException as exc:
            outcomes[suite] = exc
    ti.map_index = -1
    return suites, outcomes


def recorded(url: str, run_id: str, name: str = "unit") -> SuiteRun:
    store = MetricsStore(url)
    with Session(store.engine) as s:
        row = s.scalars(
            select(SuiteRun)
            .where(SuiteRun.run_id == run_id, SuiteRun.name == name)
            .options(selectinload(SuiteRun.test_cases), selectinload(SuiteRun.metrics))
        ).one()
    store.dispose()
    return row


def test_pass_then_exactly_the_broken_test_then_pass_after_the_prune(tiny_target):
    repo, url = tiny_target["repo"], tiny_target["url"]

    suites, out = run_commit(tiny_target["first"], "manual__good")
    assert suites == ["unit"] and out["unit"]["status"] == "PASS", out
    good = recorded(url, "manual__good")
    assert good.status == "PASS" and good.summary["counts"]["passed"] == 4
    files = {m.labels["file"] for m in good.metrics if m.name == FILE_COVERAGE_METRIC}
    assert files == {"src/tinycalc/__init__.py"}  # the run's own worktree, relative to the repository root

    bad_sha = break_sub(repo)  # same dependencies, different code
    _, out = run_commit(bad_sha, "manual__bad")
    assert isinstance(out["unit"], AirflowFailException) and "1 failed" in str(out["unit"])
    bad = recorded(url, "manual__bad")
    assert bad.status == "FAIL" and bad.commit_sha == bad_sha
    assert [t.node_id for t in bad.test_cases if t.outcome == "failed"] == ["tests/test_calc.py::test_sub"]
    assert sorted(t.outcome for t in bad.test_cases) == ["failed", "passed", "passed", "passed"]

    fix_sub(repo)
    worktrees = assay_home() / "git" / "worktrees" / "tinycalc"
    for i in range(21):  # more commits than the workspace keeps worktrees for
        sha = commit_files(repo, {f"notes/{i}.txt": f"note {i}\n"}, f"note {i}")
        ctx = make_context(
            "resolve_commit",
            {"target": "tinycalc", "sha": sha, "branch": "main"},
            ti=TaskInstanceStub(run_id=f"manual__note{i}"),
        )
        ResolveCommitOperator(task_id="resolve_commit").execute(ctx)
    assert not (worktrees / tiny_target["first"]).exists() and not (worktrees / bad_sha).exists()  # pruned

    docs_sha = commit_files(repo, {"docs/index.md": "# tinycalc\n\nNow with docs.\n"}, "docs only")
    _, out = run_commit(docs_sha, "manual__docs")
    assert out["unit"]["status"] == "PASS", out
    docs = recorded(url, "manual__docs")
    assert docs.status == "PASS" and docs.summary["counts"] == {
        "passed": 4,
        "failed": 0,
        "error": 0,
        "skipped": 0,
        "xfailed": 0,
        "xpassed": 0,
        "total": 4,
    }
    assert {m.labels["file"] for m in docs.metrics if m.name == FILE_COVERAGE_METRIC} == {"src/tinycalc/__init__.py"}
