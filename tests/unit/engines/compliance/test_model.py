"""Core types of the compliance audit: evidence hashes and expiry, resource outcomes, the stores and API a
check reaches (real SQLite files, a real closed port)."""

from __future__ import annotations

import hashlib
import json
import socket
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from assay.engines.compliance.model import (
    ApiClient,
    CheckContext,
    Evidence,
    Outcome,
    ResourceResult,
    StoreResolver,
    canonical_json,
)
from assay.errors import ConfigError, TargetError

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def context(tmp_path, **kw) -> CheckContext:
    base = dict(
        params=None,
        now=NOW,
        stores=StoreResolver({}),
        api=None,
        inventory=None,
        metrics_url=None,
        work_dir=tmp_path,
        evidence_days=2557,
    )
    return CheckContext(**(base | kw))


def test_evidence_is_stamped_by_the_context_and_hashed_canonically(tmp_path):
    ev = context(tmp_path).evidence("rows", "sql", "SELECT 1", {"b": [1, 2], "a": NOW})
    assert ev.collected_at == NOW and ev.expires_at == NOW + timedelta(days=2557)
    expected = json.dumps({"a": NOW, "b": [1, 2]}, sort_keys=True, separators=(",", ":"), default=str)
    assert ev.sha256 == hashlib.sha256(expected.encode()).hexdigest()
    same = Evidence("other", "http", "GET /", {"a": NOW, "b": [1, 2]}, NOW, NOW)  # key order does not matter
    assert same.sha256 == ev.sha256
    assert Evidence("x", "sql", "q", {"a": 1, "b": [1, 3]}, NOW, NOW).sha256 != ev.sha256
    d = ev.to_dict()
    assert d["sha256"] == ev.sha256 and d["content"] == {"a": str(NOW), "b": [1, 2]}
    assert canonical_json(d["content"]) == expected  # the stored content hashes to the same value


def test_evidence_refuses_naive_times_and_expiry_before_collection():
    with pytest.raises(ValueError, match="timezone-aware"):
        Evidence("x", "sql", "q", 1, datetime(2026, 1, 1), NOW)
    with pytest.raises(ValueError, match="expires before it was collected"):
        Evidence("x", "sql", "q", 1, NOW, NOW - timedelta(seconds=1))
    with pytest.raises(ValueError, match="timezone-aware"):
        context(None, now=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="method must be a short word such as sql, http, file, computed"):
        Evidence("x", "m" * 41, "q", 1, NOW, NOW)


def test_a_check_cannot_say_manual_or_waived_and_outcomes_parse_from_text():
    assert ResourceResult("store:a", "FAIL", "1 row left").status is Outcome.FAIL
    for bad in ("MANUAL", "WAIVED"):
        with pytest.raises(ValueError, match="the audit decides MANUAL and WAIVED"):
            ResourceResult("store:a", bad, "m")
    with pytest.raises(ValueError):
        ResourceResult("store:a", "OK", "m")


def test_store_resolver_opens_a_named_sqlite_store_and_names_unknown_ones(tmp_path):
    db = tmp_path / "s.db"
    sqlite3.connect(db).execute("CREATE TABLE t (x INTEGER)").connection.commit()
    stores = StoreResolver({"demo_db": f"sqlite:///{db}"})
    engine = stores.engine("demo_db")
    assert stores.engine("demo_db") is engine  # one engine per name
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0
    with pytest.raises(
        ConfigError, match=r"store 'nope' is not configured in compliance.stores \(configured: demo_db\)"
    ):
        stores.engine("nope")
    stores.dispose()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_store_is_a_retryable_target_error(tmp_path):
    stores = StoreResolver(
        {
            "pg_down": f"postgresql+psycopg2://nobody@127.0.0.1:{closed_port()}/none",
            "missing_dir": f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}",
        },
        connect_timeout_s=2,
    )
    for name in ("pg_down", "missing_dir"):
        with pytest.raises(TargetError, match=f"store '{name}' is unreachable") as info:
            stores.engine(name)
        assert info.value.retryable


def test_store_resolver_rejects_a_bad_url():
    with pytest.raises(ConfigError, match="not a SQLAlchemy URL"):
        StoreResolver({"x": "not a url"}).engine("x")


def test_api_client_unreachable_is_a_target_error_and_unknown_role_a_config_error():
    api = ApiClient(f"http://127.0.0.1:{closed_port()}", {"admin": "t0k"}, timeout_s=2)
    with pytest.raises(TargetError, match="API GET http://127.0.0.1:.*/health failed") as info:
        api.request("get", "/health", role="admin")
    assert info.value.retryable
    with pytest.raises(ConfigError, match=r"API role 'auditor' has no token .* \(configured: admin\)"):
        api.request("GET", "/health", role="auditor")
    api.close()


def test_the_hash_is_that_of_the_content_as_stored(tmp_path):
    from assay.store.records import EvidenceRecord

    ctx = context(tmp_path)
    for content in ({"score": float("nan"), "at": NOW}, {"dsn": "postgresql://app:hunter2@db/x"}, [1, "a"]):
        ev = ctx.evidence("e", "computed", "x", content)
        rec = EvidenceRecord("c", "k", "r", ev.name, ev.method, ev.source, ev.collected_at, ev.expires_at, ev.content)
        assert rec.sha256 == ev.sha256 and rec.content == ev.to_dict()["content"]
        json.dumps(rec.content, allow_nan=False)
    assert "hunter2" not in json.dumps(ctx.evidence("e", "m", "s", {"u": "postgresql://a:hunter2@h/d"}).to_dict())
