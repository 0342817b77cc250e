"""A check that cannot read its inputs raises (the audit makes that ERROR, never PASS): an unreachable store
or service is a retryable TargetError, a missing parameter or table a final error naming what to fix."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from support.compliance_checks import CHECK_IDS, INVENTORY, PARAMS, ROLES

from assay.engines.compliance.checks.audit import TrailParams
from assay.engines.compliance.model import ApiClient, CheckContext, StoreResolver
from assay.engines.compliance.registry import get_check
from assay.errors import ConfigError, TargetError
from assay.inventory import load_inventory

DOWN_DB = "postgresql+psycopg2://nobody@127.0.0.1:1/none"


def _context(check_id: str, tmp_path, **overrides) -> CheckContext:
    spec = get_check(check_id)
    base = dict(
        params=spec.params_model.model_validate(PARAMS.get(check_id) or {}) if spec.params_model else None,
        now=datetime.now(UTC),
        stores=StoreResolver({"demo_db": DOWN_DB}, connect_timeout_s=1),
        api=ApiClient("http://127.0.0.1:1", ROLES, timeout_s=1),
        inventory=load_inventory(INVENTORY),
        metrics_url=DOWN_DB,
        work_dir=tmp_path,
        evidence_days=2557,
    )
    return CheckContext(**(base | overrides))


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_a_store_that_is_down_is_a_retryable_target_error(check_id, tmp_path):
    with pytest.raises(TargetError) as raised:
        get_check(check_id).fn(_context(check_id, tmp_path))
    assert raised.value.retryable
    assert "127.0.0.1:1" in str(raised.value) or "demo_db" in str(raised.value)


def test_the_metrics_db_down_is_a_target_error(start_demo, tmp_path):
    demo = start_demo()
    with pytest.raises(TargetError, match="metrics DB"):
        demo.run("sox.change_management", metrics_url=DOWN_DB)


def test_missing_params_or_tables_are_errors_naming_what_to_fix(start_demo, tmp_path):
    demo = start_demo()
    trail = demo.context("audit.trail_completeness", params=None)
    trail.params = TrailParams()  # the catalog's default ({}): no scripted actions
    with pytest.raises(ConfigError, match="needs 'actions'"):
        get_check("audit.trail_completeness").fn(trail)
    with pytest.raises(TargetError, match="table 'users' does not exist") as raised:
        demo.run("access.unique_accounts", params={"users_table": "users"})
    assert not raised.value.retryable
    with pytest.raises(TargetError, match="has no column 'subject_id'"):
        demo.run("gdpr.consent", params={"usage_subject_column": "subject_id"})
    with pytest.raises(ConfigError, match="personal-data inventory"):
        demo.run("hipaa.phi_encryption", inventory=None)


def test_a_scripted_action_that_cannot_provoke_its_status_is_an_error(start_demo):
    demo = start_demo(rate_limit_per_s=1000.0, rate_limit_burst=2000)  # no 429 within 200 requests
    with pytest.raises(TargetError, match="answered 200, not the 429") as raised:
        demo.run("audit.trail_completeness", params={"settle_s": 0.3})
    assert not raised.value.retryable
