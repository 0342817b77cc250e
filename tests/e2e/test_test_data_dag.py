"""assay_test_data end to end through dag.test(): the shipped config over the demo's customer table, the key
from a real connection, a real metrics DB. The synthetic refresh passes the demo's own GE suite, the masked
sample leaks nothing and is published, retention deletes the expired snapshot and records it, and each
published snapshot updates the dataset's Asset."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from assay.engines.test_data.snapshots import DATA_FILE, list_snapshots, publish, staging_dir
from assay.store import MetricsStore

pytestmark = [pytest.mark.slow, pytest.mark.airflow_db]

DAG = "assay_test_data"


def test_the_weekly_run_refreshes_samples_and_expires_the_demo_customers(dags, data_env, monkeypatch, tmp_path):
    monkeypatch.setenv(
        "AIRFLOW_CONN_ASSAY_PSEUDONYM_KEY", json.dumps({"conn_type": "generic", "password": "e2e-" + "k" * 32})
    )
    root = data_env["home"] / "test-data"
    path, snap_id, created = staging_dir(root, "customers", "sample", now=datetime.now(UTC) - timedelta(days=45))
    pd.DataFrame({"x": [1]}).to_parquet(path / DATA_FILE)
    expired = publish(path, dataset="customers", step="sample", snap_id=snap_id, created_at=created, rows=1)

    dr = dags[DAG].test()
    assert dr.state == "success"
    store = MetricsStore(data_env["metrics_url"])
    rows = {r.name: r for r in store.latest_suite_runs(DAG, dr.run_id)}
    assert {n: r.status for n, r in rows.items()} == {
        "customers:synthetic": "PASS",
        "customers:sample": "PASS",
        "customers:retention": "PASS",
    }, {n: r.message for n, r in rows.items()}
    synthetic = rows["customers:synthetic"]
    assert any(c.name == "quality_suite:synthetic_customers" and c.status == "PASS" for c in synthetic.checks)
    assert {m.name: m.value for m in synthetic.metrics}["rows"] == 1_000_000
    sample = rows["customers:sample"]
    assert {c.name for c in sample.checks} >= {"leak_personal_values", "leak_free_text", "k_anonymity"}
    (deleted,) = rows["customers:retention"].deletions
    assert deleted.item == f"sample/{snap_id}" and not expired.path.exists()
    kept = list_snapshots(root, "customers")
    assert sorted(s.step for s in kept) == ["sample", "synthetic"]
    source = pd.read_parquet(data_env["home"] / "data" / "customers" / "production.parquet", columns=["email"])
    published = pd.read_parquet(next(s for s in kept if s.step == "sample").data)
    assert not set(published["email"]) & set(source["email"])
