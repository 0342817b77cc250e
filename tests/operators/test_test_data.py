"""assay_test_data's operator via execute(context): the real engines on the demo's customer table, a real
metrics DB (SQLite and PostgreSQL), the pseudonymisation key from a real Airflow connection (environment).

A masked sample is published with its figures and leaks nothing; with the key connection absent the step is
ERROR and nothing is written; retention deletes and records; the params select one dataset and step."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import yaml
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from support.context import make_context
from support.demo_platform import demo_on_sys_path

from assay.engines.test_data.snapshots import DATA_FILE, list_snapshots, publish, staging_dir
from assay.store import MetricsStore
from assay_airflow.operators.test_data import TestDataOperator

KEY = "k" * 40


class _Outlets(dict):
    """``context["outlet_events"]``: an accessor per Asset whose ``extra`` the task fills."""

    def __missing__(self, asset):
        class _Acc:
            extra: dict = {}

        acc = _Acc()
        acc.extra = {}
        self[asset] = acc
        return acc


@pytest.fixture
def customers(tmp_path, monkeypatch, metrics_url):
    demo_on_sys_path()
    from fraud.customers import generate_customers

    source = tmp_path / "production.parquet"
    generate_customers(4_000, seed=11).to_parquet(source)
    cfg = {
        "targets": {"t": {"repo": str(tmp_path / "none"), "python": "worker", "suites": {"unit": {}}}},
        "test_data": {
            "snapshot_dir": str(tmp_path / "snapshots"),
            "inventory": "include/demo_platform/assay/compliance/inventory.yaml",
            "datasets": {
                "customers": {
                    "retention_days": 30,
                    "asset": "assay://test-data/customers",
                    "sample": {
                        "source": {"kind": "parquet", "path": str(source)},
                        "fraction": 0.25,
                        "stratify": "is_fraud",
                        "inventory_store": "raw_customers",
                        "masking": {
                            "customer_id": {"method": "pseudonymise"},
                            "name": {"method": "fake", "faker": "name"},
                            "email": {"method": "pseudonymise"},
                            "phone": {"method": "drop"},
                            "address": {"method": "drop"},
                            "postcode": {"method": "generalise", "to": "prefix", "keep": 1},
                            "city": {"method": "drop"},
                            "date_of_birth": {"method": "generalise", "to": "year"},
                            "national_id": {"method": "drop"},
                        },
                        "quasi_identifiers": ["postcode"],
                        "k_anonymity": 5,
                    },
                }
            },
        },
    }
    path = tmp_path / "assay.yaml"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.setenv("ASSAY_CONFIG", str(path))
    monkeypatch.setenv("ASSAY_METRICS_DB_URL", metrics_url)
    monkeypatch.setenv("AIRFLOW_CONN_ASSAY_PSEUDONYM_KEY", json.dumps({"conn_type": "generic", "password": KEY}))
    return {"source": source, "snapshots": tmp_path / "snapshots", "url": metrics_url}


def run(step, params=None, run_id="weekly"):
    ctx = make_context(f"{step}__customers", params or {}, dag_id="assay_test_data", run_id=run_id)
    ctx["outlet_events"] = _Outlets()
    out = TestDataOperator(task_id=f"{step}__customers", dataset="customers", step=step).execute(ctx)
    return out, ctx


def test_a_masked_sample_is_published_with_its_figures_and_announced(customers):
    out, ctx = run("sample")
    assert out["status"] == "PASS", out["message"]
    (snap,) = list_snapshots(customers["snapshots"], "customers", "sample")
    frame = pd.read_parquet(snap.data)
    source = pd.read_parquet(customers["source"])
    assert 0.24 <= len(frame) / len(source) <= 0.26
    assert not {"phone", "address", "city", "national_id"} & set(frame.columns)
    assert not set(frame["email"]) & set(source["email"]) and not set(frame["customer_id"]) & set(source["customer_id"])
    (acc,) = ctx["outlet_events"].values()
    assert acc.extra["step"] == "sample" and acc.extra["id"] == snap.id
    (row,) = MetricsStore(customers["url"]).latest_suite_runs("assay_test_data", "weekly")
    assert row.name == "customers:sample" and row.dataset == "customers" and row.status == "PASS"
    assert KEY not in json.dumps([row.summary, row.message, [c.message for c in row.checks]], default=str)


def test_without_the_key_connection_the_sample_is_error_and_nothing_is_written(customers, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_ASSAY_PSEUDONYM_KEY")
    with pytest.raises(AirflowFailException, match="assay_pseudonym_key"):
        run("sample")
    assert list_snapshots(customers["snapshots"]) == []
    assert not any(p.is_file() for p in customers["snapshots"].rglob("*")) if customers["snapshots"].exists() else True
    (row,) = MetricsStore(customers["url"]).latest_suite_runs("assay_test_data", "weekly")
    assert row.status == "ERROR" and "assay_pseudonym_key" in row.message


def test_retention_deletes_and_records_and_params_select_the_step(customers):
    now = datetime.now(UTC)
    path, snap_id, created = staging_dir(customers["snapshots"], "customers", "sample", now=now - timedelta(days=40))
    pd.DataFrame({"x": [1, 2]}).to_parquet(path / DATA_FILE)
    old = publish(path, dataset="customers", step="sample", snap_id=snap_id, created_at=created, rows=2)
    with pytest.raises(AirflowSkipException):
        run("retention", {"step": "sample"})
    out, _ = run("retention", {"dataset": "customers", "step": "retention"})
    assert out["status"] == "PASS" and not old.path.exists()
    (row,) = MetricsStore(customers["url"]).latest_suite_runs("assay_test_data", "weekly")
    (deleted,) = row.deletions
    assert deleted.item == f"sample/{snap_id}" and "retention_days=30" in deleted.reason
