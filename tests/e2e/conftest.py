"""Fixtures for end-to-end runs: a demo platform git repo, a real metrics DB, real alert sinks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.alert_sinks import connect_alert_sinks
from support.demo_platform import prepare_demo_assets, prepare_demo_repo
from support.http_sink import HttpSink
from support.smtp_sink import SmtpSink

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def slack_sink():
    sink = HttpSink()
    yield sink
    sink.close()


@pytest.fixture
def smtp_sink():
    sink = SmtpSink()
    yield sink
    sink.close()


@pytest.fixture
def assay_env(tmp_path, monkeypatch, slack_sink, smtp_sink, airflow_db):
    """A demo platform repository, the metrics DB and the alert connections, as a user would set them."""
    demo = tmp_path / "demo-platform"
    sha = prepare_demo_repo(demo)
    metrics_db = tmp_path / "metrics.db"
    monkeypatch.setenv("ASSAY_DEMO_REPO", str(demo))
    monkeypatch.setenv("ASSAY_ALERT_EMAIL", "oncall@example.com")
    monkeypatch.setenv("AIRFLOW_CONN_ASSAY_METRICS", json.dumps({"conn_type": "sqlite", "host": str(metrics_db)}))
    connect_alert_sinks(monkeypatch, slack_sink.url, smtp_sink.port)
    return {"demo": demo, "sha": sha, "metrics_url": f"sqlite:///{metrics_db}", "tmp": tmp_path}


@pytest.fixture(scope="session")
def dags():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    return bag.dags


@pytest.fixture(scope="session")
def demo_assets_home(tmp_path_factory):
    """ASSAY_HOME with the demo platform's model versions (v1, v2) and data exports, made once."""
    home = tmp_path_factory.mktemp("assay-home")
    prepare_demo_assets(home, versions={"v1": 1, "v2": 2}, rows=8000, train_rows=3000, epochs=8)
    return home


@pytest.fixture
def data_env(monkeypatch, demo_assets_home, tmp_path, airflow_db):
    """The shipped config over the demo assets, with its own metrics DB."""
    monkeypatch.setenv("ASSAY_HOME", str(demo_assets_home))
    url = f"sqlite:///{tmp_path / 'metrics.db'}"
    monkeypatch.setenv("ASSAY_METRICS_DB_URL", url)
    return {"home": demo_assets_home, "metrics_url": url}
