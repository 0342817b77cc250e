"""assay_commit_watch through dag.test(): each new head sha triggers assay_per_commit exactly once."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session
from support.git_repo import commit_all

from assay.store import MetricsStore
from assay.store.models import SuiteRun, WatchedCommit

pytestmark = [pytest.mark.slow, pytest.mark.airflow_db]


def per_commit_runs():
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as s:
        return {
            r.run_id: dict(r.conf or {}) for r in s.scalars(select(DagRun).where(DagRun.dag_id == "assay_per_commit"))
        }


def watched(url):
    store = MetricsStore(url)
    with Session(store.engine) as s:
        rows = [(w.target, w.branch, w.sha, w.triggered_run_id) for w in s.scalars(select(WatchedCommit))]
    store.dispose()
    return rows


def test_new_heads_trigger_once_and_an_unreachable_repo_is_recorded(dags, assay_env, tmp_path, monkeypatch):
    demo, sha = assay_env["demo"], assay_env["sha"]
    before = per_commit_runs()
    watch = dags["assay_commit_watch"]

    assert watch.test().state == "success"
    new = {k: v for k, v in per_commit_runs().items() if k not in before}
    assert new == {f"commit__demo-platform__{sha}": {"target": "demo-platform", "sha": sha, "branch": "main"}}
    assert watched(assay_env["metrics_url"]) == [("demo-platform", "main", sha, f"commit__demo-platform__{sha}")]

    assert watch.test().state == "success"  # nothing new: no second run
    assert len(per_commit_runs()) == len(before) + 1

    (demo / "NEWS.md").write_text("a change\n")
    sha2 = commit_all(demo, "news")
    cfg = yaml.safe_load(open("include/config/assay.yaml"))
    cfg["targets"]["ghost"] = {"repo": str(tmp_path / "no-such-repo"), "watch_branches": ["main"]}
    alt = tmp_path / "assay.yaml"
    alt.write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("ASSAY_CONFIG", str(alt))

    dr = watch.test()
    assert dr.state == "failed"  # the watch shows red because 'ghost' is unreachable ...
    runs = per_commit_runs()
    assert f"commit__demo-platform__{sha2}" in runs  # ... while demo-platform still went on
    assert len(runs) == len(before) + 2
    store = MetricsStore(assay_env["metrics_url"])
    with Session(store.engine) as s:
        ghost = s.scalars(select(SuiteRun).where(SuiteRun.run_id == dr.run_id, SuiteRun.name == "watch:ghost")).one()
    store.dispose()
    assert ghost.status == "ERROR" and "unreachable" in ghost.message
    assert {w[2] for w in watched(assay_env["metrics_url"])} == {sha, sha2}
