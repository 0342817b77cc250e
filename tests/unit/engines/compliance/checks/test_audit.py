"""audit.trail_completeness and audit.hash_chain against the demo platform (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from support.compliance_checks import failed, statuses

from assay.engines.compliance.checks._sql import utc
from assay.engines.compliance.checks.audit import chain_hash

FAST = {"settle_s": 0.3}


def test_the_compliant_demo_passes(start_demo, demo_db_url):
    demo = start_demo(demo_db_url)
    trail = demo.run("audit.trail_completeness", params=FAST)
    assert statuses(trail) == {"PASS"}
    assert {r.resource.rsplit("-> ", 1)[1] for r in trail} == {"200", "401", "403", "400", "429"}
    throttled = next(r for r in trail if r.resource.endswith("429"))
    sent = throttled.evidence[0].content
    assert sent[-1]["status"] == 429 and all(s["request_id"] for s in sent)
    rows = throttled.evidence[1].content["rows"]
    assert {r["request_id"] for r in rows} >= {s["request_id"] for s in sent}  # each one recorded
    chain = demo.run("audit.hash_chain")  # after the trail check: its records are chained too
    assert statuses(chain) == {"PASS"}
    assert chain[0].evidence[0].content["rows"] >= 3 + len(sent)


def test_an_unlogged_action_fails_naming_the_request(start_demo, demo_db_url):
    demo = start_demo(demo_db_url, faults=("audit_action_unlogged",))
    bad = failed(demo.run("audit.trail_completeness", params=FAST))
    assert [r.resource for r in bad] == ["action:GET /models -> 401", "action:GET /admin/audit -> 403"]
    request_id = bad[1].evidence[0].content[0]["request_id"]
    assert f"403 GET /admin/audit (request {request_id}): 0 audit records, expected 1" in bad[1].message


def test_an_edited_row_is_named(start_demo, demo_db_url):
    demo = start_demo(demo_db_url, faults=("audit_row_edited",))
    bad = failed(demo.run("audit.hash_chain"))
    assert [(r.resource, r.message) for r in bad] == [
        ("audit_log:seq 2", "seq 2 was altered: its stored hash does not match its content")
    ]
    content = bad[0].evidence[0].content
    assert content["problem_count"] == 1
    postgres = demo.db_url.startswith("postgresql")
    assert content["hashed_in"].startswith("database" if postgres else "Python")  # PostgreSQL hashes in the DB
    assert content["recomputed_in_python"] == (1 if postgres else 0)  # ... and Python decides a mismatch


def test_a_deleted_row_is_named(start_demo, demo_db_url):
    demo = start_demo(demo_db_url, faults=("audit_row_deleted",))
    bad = failed(demo.run("audit.hash_chain"))
    assert [(r.resource, r.message) for r in bad] == [("audit_log:seq 2", "seq 2 missing (deleted) before seq 3")]


def test_a_row_edited_together_with_its_hash_breaks_the_next_link(start_demo):
    """Recomputing the edited row's own hash does not help: the next record still holds the old one."""
    demo = start_demo()
    engine = create_engine(demo.db_url)
    with engine.begin() as conn:
        row = conn.execute(text("SELECT * FROM audit_log WHERE seq = 2")).mappings().one()
        fields = ["seq", "occurred_at", "actor", "action", "resource", "outcome", "status_code", "method", "request_id"]
        stamp = row["occurred_at"]  # SQLite hands back text through a plain query
        values = {**row, "actor": "mallory", "occurred_at": utc(stamp)}
        forged = chain_hash(row["prev_hash"], [values[f] for f in fields])
        conn.execute(text("UPDATE audit_log SET actor = 'mallory', row_hash = :h WHERE seq = 2"), {"h": forged})
    engine.dispose()
    bad = failed(demo.run("audit.hash_chain"))
    assert [(r.resource, r.message) for r in bad] == [
        ("audit_log:seq 3", "seq 3: prev_hash does not match the hash of the record before it")
    ]


def test_a_deleted_last_row_is_found_through_the_chain_head(start_demo, demo_db_url):
    demo = start_demo(demo_db_url)
    engine = create_engine(demo.db_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)"))
    engine.dispose()
    bad = failed(demo.run("audit.hash_chain"))
    assert [(r.resource, r.message) for r in bad] == [
        ("audit_log:seq 3", "seq 3 missing (deleted) at the end: the chain head is seq 3")
    ]
