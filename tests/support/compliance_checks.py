"""Helpers for the compliance checks' tests: run them against the real demo platform: its API served in-process on loopback (uvicorn in a
thread), its database a real SQLite file or a throw-away PostgreSQL database, seeded with its compliance
records, compliant or broken by ``compliance_faults``; Assay's metrics DB with a passing per-commit run of the
demo's deployed commit.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from assay.engines.compliance.model import ApiClient, CheckContext, ResourceResult, StoreResolver
from assay.engines.compliance.registry import get_check, load_builtin_checks
from assay.inventory import load_inventory
from support.demo_platform import DEMO_ASSAY_DIR, demo_on_sys_path

COMPLIANCE_DIR = DEMO_ASSAY_DIR / "compliance"
INVENTORY = COMPLIANCE_DIR / "inventory.yaml"
PARAMS = yaml.safe_load((COMPLIANCE_DIR / "params.yaml").read_text())
ROLES = {"reader": "demo-reader-token", "ml-engineer": "demo-engineer-token", "admin": "demo-admin-token"}
# These tests serve the demo with its built-in tokens, whose actors are demo-<role>; params.yaml names the
# actors of the per-run tokens Assay gives the service it starts for an audit (assay-<role>).
PARAMS["audit.trail_completeness"]["actors"] = {
    "reader": "demo-reader",
    "ml-engineer": "demo-ml-engineer",
    "admin": "demo-admin",
}
CHECK_IDS = [
    "gdpr.erasure",
    "gdpr.consent",
    "gdpr.portability",
    "audit.trail_completeness",
    "audit.hash_chain",
    "hipaa.phi_encryption",
    "access.unique_accounts",
    "access.approved_roles",
    "retention.expired_records",
    "retention.evidence_kept",
    "sox.change_management",
    "sox.segregation_of_duties",
    "sox.access_review",
]
# Which check each demo fault breaks: the negative controls.
FAULT_CHECK = {
    "erasure_skips_store": "gdpr.erasure",
    "training_after_withdrawal": "gdpr.consent",
    "export_missing_field": "gdpr.portability",
    "audit_action_unlogged": "audit.trail_completeness",
    "audit_row_edited": "audit.hash_chain",
    "audit_row_deleted": "audit.hash_chain",
    "plaintext_phi": "hipaa.phi_encryption",
    "shared_account": "access.unique_accounts",
    "unapproved_role": "access.approved_roles",
    "expired_record_kept": "retention.expired_records",
    "short_audit_retention": "retention.evidence_kept",
    "self_approved_deployment": "sox.segregation_of_duties",
    "conflicting_roles": "sox.segregation_of_duties",
    "deployment_before_approval": "sox.change_management",
    "deployment_without_run": "sox.change_management",
    "overdue_access_review": "sox.access_review",
    "unapplied_revocation": "sox.access_review",
}

load_builtin_checks()
demo_on_sys_path()


@dataclass
class Demo:
    url: str
    db_url: str
    metrics_url: str
    tmp: Path

    def context(self, check_id: str, **overrides: Any) -> CheckContext:
        spec = get_check(check_id)
        raw = dict(PARAMS.get(check_id) or {}) | (overrides.pop("params", None) or {})
        params = spec.params_model.model_validate(raw) if spec.params_model else None
        base = dict(
            params=params,
            now=datetime.now(UTC),
            stores=StoreResolver({"demo_db": self.db_url}),
            api=ApiClient(self.url, ROLES),
            inventory=load_inventory(INVENTORY),
            metrics_url=self.metrics_url,
            work_dir=self.tmp,
            evidence_days=2557,
        )
        return CheckContext(**(base | overrides))

    def run(self, check_id: str, **overrides: Any) -> list[ResourceResult]:
        ctx = self.context(check_id, **overrides)
        try:
            return get_check(check_id).fn(ctx)
        finally:
            ctx.stores.dispose()
            if ctx.api is not None:
                ctx.api.close()


def metrics_db(url: str) -> None:
    """Assay's metrics tables, a passing per-commit run of the demo's deployed commit (20 days ago) and the
    demo's test-data retention step of 2 days ago with the snapshot it deleted."""
    from serving.settings import DEMO_COMMIT_SHA
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from assay.store.models import Base, Deletion, SuiteRun

    engine = create_engine(url)
    Base.metadata.create_all(engine)
    finished = datetime.now(UTC) - timedelta(days=20)
    with Session(engine) as session, session.begin():
        session.add(
            SuiteRun(
                kind="per_commit",
                name="unit",
                target="demo",
                commit_sha=DEMO_COMMIT_SHA,
                dag_id="assay_per_commit",
                run_id=f"r-{uuid.uuid4().hex[:8]}",
                task_id="t",
                started_at=finished - timedelta(minutes=3),
                finished_at=finished,
                status="PASS",
                summary={},
            )
        )
        done = datetime.now(UTC) - timedelta(days=2)
        retention = SuiteRun(
            kind="test_data",
            name="customers:retention",
            dataset="customers",
            dag_id="assay_test_data",
            run_id=f"r-{uuid.uuid4().hex[:8]}",
            task_id="retention",
            started_at=done - timedelta(seconds=3),
            finished_at=done,
            status="PASS",
            summary={},
        )
        retention.deletions.append(
            Deletion(
                dataset="customers",
                item="sample/20261001T020000Z-abc123",
                path="/test-data/customers/sample/20261001T020000Z-abc123",
                created_at=done - timedelta(days=31),
                deleted_at=done,
                reason="older than the dataset's retention_days=30",
                bytes=2048,
                rows=100,
            )
        )
        session.add(retention)
    engine.dispose()


def statuses(results: list[ResourceResult]) -> set[str]:
    return {r.status.value for r in results}


def failed(results: list[ResourceResult]) -> list[ResourceResult]:
    return [r for r in results if r.status.value == "FAIL"]


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    return fn(), time.perf_counter() - t
