"""access.unique_accounts and access.approved_roles (SQLite and PostgreSQL)."""

from __future__ import annotations

from support.compliance_checks import failed, statuses


def test_the_compliant_demo_passes(start_demo, demo_db_url):
    demo = start_demo(demo_db_url)
    assert statuses(demo.run("access.unique_accounts")) == {"PASS"}
    assert statuses(demo.run("access.approved_roles")) == {"PASS"}


def test_a_shared_token_and_an_unapproved_role_fail_naming_the_users(start_demo, demo_db_url):
    demo = start_demo(demo_db_url, faults=("shared_account", "unapproved_role"))
    shared = failed(demo.run("access.unique_accounts"))
    assert len(shared) == 1 and shared[0].resource.startswith("token:")
    assert "shared by 2 users: demo-ml-engineer, erin.contractor" in shared[0].message
    assert shared[0].evidence[1].content["rows"] == [{"user": "demo-ml-engineer"}, {"user": "erin.contractor"}]
    roles = failed(demo.run("access.approved_roles"))
    assert [r.resource for r in roles] == ["user:dan.deployer"]
    assert "'superuser'" in roles[0].message
    assert roles[0].evidence[1].content["rows"] == [
        {"user_id": "dan.deployer", "role": "superuser", "system": "model-registry"}
    ]
