"""gdpr.erasure, gdpr.consent, gdpr.portability against the demo platform (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, inspect, select, table, text
from support.compliance_checks import failed, statuses

from assay.engines.compliance.model import ApiClient, StoreResolver
from assay.errors import TargetError

METACHARS = "x'; DROP TABLE customers_raw;--"


def _count(db_url: str, table_name: str, where: str = "", **params) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT count(*) FROM {table_name} {where}"), params).scalar_one()
    finally:
        engine.dispose()


def test_the_compliant_demo_passes(start_demo, demo_db_url):
    demo = start_demo(demo_db_url)
    erasure = demo.run("gdpr.erasure")
    assert statuses(erasure) == {"PASS"}
    resources = {r.resource for r in erasure}
    assert {f"store:{s}" for s in ("raw_customers", "training_snapshot", "prediction_log", "audit_log")} <= resources
    assert "store:prediction_cache" in resources and any(r.resource.startswith("erasure_request:") for r in erasure)
    raw = next(r for r in erasure if r.resource == "store:raw_customers")
    planted, after = raw.evidence[1], raw.evidence[-1]
    assert planted.content["row_count"] == 1 and after.content["row_count"] == 0
    sql, _, bound = after.source.partition(" -- params ")
    assert "assay-canary-" not in sql and "assay-canary-" in bound  # the subject is a bound parameter
    assert statuses(demo.run("gdpr.consent")) == {"PASS"}
    portability = demo.run("gdpr.portability")
    assert statuses(portability) == {"PASS"}
    assert portability[0].evidence[-1].content["missing"] == []
    assert _count(demo.db_url, "customers_raw", "WHERE customer_id LIKE 'assay-canary-%'") == 0  # cleaned up


def test_negative_controls_fail_naming_the_store_and_row(start_demo, demo_db_url):
    demo = start_demo(demo_db_url, faults=("erasure_skips_store", "training_after_withdrawal", "export_missing_field"))
    erasure = failed(demo.run("gdpr.erasure"))
    assert [r.resource for r in erasure] == ["store:training_snapshot"]
    assert "still holds 1 row(s)" in erasure[0].message
    rows = erasure[0].evidence[-1].content["rows"]
    assert len(rows) == 1 and rows[0]["customer_id"].startswith("assay-canary-")
    assert _count(demo.db_url, "training_snapshot", "WHERE customer_id LIKE 'assay-canary-%'") == 0  # cleaned up

    consent = failed(demo.run("gdpr.consent"))
    assert [r.resource for r in consent] == ["training_run:train-consent-1"]
    assert "CUST00000000" in consent[0].message
    records = consent[0].evidence[-1].content["rows"]
    assert records[0]["customer_id"] == "CUST00000000" and records[0]["withdrawn_at"] is not None

    portability = failed(demo.run("gdpr.portability"))
    assert "raw_customers.phone" in portability[0].message
    assert portability[0].evidence[-1].content["missing"] == ["raw_customers.phone"]


def test_sql_metacharacters_in_a_subject_id_are_harmless(start_demo):
    demo = start_demo()
    erasure = demo.run("gdpr.erasure", params={"subject_prefix": METACHARS})
    assert statuses(erasure) == {"PASS"}, [r.message for r in erasure]
    export = demo.run("gdpr.portability", params={"subject_id": METACHARS})
    assert [r.status.value for r in export] == ["FAIL"]  # no such subject: 404, and nothing else happened
    assert "404" in export[0].message
    engine = create_engine(demo.db_url)
    try:
        assert "customers_raw" in inspect(engine).get_table_names()
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(table("customers_raw"))).scalar_one() == 40
    finally:
        engine.dispose()


def test_an_unreachable_store_or_api_raises_target_error(start_demo, tmp_path):
    demo = start_demo()
    down_db = StoreResolver({"demo_db": "postgresql+psycopg2://nobody@127.0.0.1:1/none"}, connect_timeout_s=1)
    with pytest.raises(TargetError, match="demo_db"):
        demo.run("gdpr.consent", stores=down_db)
    with pytest.raises(TargetError, match="failed"):
        demo.run("gdpr.erasure", api=ApiClient("http://127.0.0.1:1", {"admin": "x", "reader": "y"}, timeout_s=1))
