"""sox.change_management (with Assay's metrics DB), sox.segregation_of_duties, sox.access_review."""

from __future__ import annotations

from sqlalchemy import create_engine, delete
from support.compliance_checks import failed, statuses

from assay.store.models import SuiteRun


def test_the_compliant_demo_passes(start_demo, demo_db_url):
    demo = start_demo(demo_db_url)
    change = demo.run("sox.change_management")
    assert [(r.resource, r.status.value) for r in change] == [("model:fraud-detector/2.0.0", "PASS")]
    assert change[0].evidence[-1].content["rows"][0]["dag_id"] == "assay_per_commit"
    assert statuses(demo.run("sox.segregation_of_duties")) == {"PASS"}
    assert statuses(demo.run("sox.access_review")) == {"PASS"}


def test_negative_controls_fail_naming_the_change_user_and_system(start_demo, demo_db_url):
    demo = start_demo(
        demo_db_url,
        faults=("deployment_before_approval", "self_approved_deployment", "conflicting_roles", "unapplied_revocation"),
    )
    change = failed(demo.run("sox.change_management"))
    assert [r.resource for r in change] == ["model:fraud-detector/2.0.0"]
    assert "before change CHG-1002 was approved" in change[0].message
    sod = failed(demo.run("sox.segregation_of_duties"))
    assert [r.resource for r in sod] == ["change:CHG-1002", "user:dan.deployer"]
    assert "dan.deployer approved the change they deployed" in sod[0].message
    review = failed(demo.run("sox.access_review"))
    assert [r.resource for r in review] == ["system:model-registry"]
    assert "revocation of reader for old.contractor (review 1) is not applied" in review[0].message


def test_a_deployment_without_a_passing_run_fails(start_demo, demo_db_url):
    demo = start_demo(demo_db_url, faults=("overdue_access_review",))
    engine = create_engine(demo.metrics_url)
    with engine.begin() as conn:
        conn.execute(delete(SuiteRun))  # the metrics DB no longer holds the passing per-commit run
    engine.dispose()
    change = failed(demo.run("sox.change_management"))
    assert "commit 3f1c2a9e8b7d has no passing assay_per_commit / assay_model_validation run" in change[0].message
    review = failed(demo.run("sox.access_review"))
    assert "last access review" in review[0].message and "200 days old (> 92)" in review[0].message
