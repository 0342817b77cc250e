"""The environment a target's processes get: the worker's, without Airflow/Assay settings or secrets."""

from __future__ import annotations

from assay.process import target_env


def test_target_env_drops_airflow_and_assay_settings(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ASSAY_SLACK", "secret")
    monkeypatch.setenv("ASSAY_METRICS_DB_URL", "postgresql://u:p@h/db")
    env = target_env({"X": "1"})
    assert "AIRFLOW_CONN_ASSAY_SLACK" not in env and "ASSAY_METRICS_DB_URL" not in env
    assert env["X"] == "1" and "PYTHONPATH" not in env
