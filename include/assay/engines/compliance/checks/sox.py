"""SOX IT general controls: change management, segregation of duties, access reviews (SOX §404).

Change management reads the platform's registry (active model versions), its deployment records and change
requests, and Assay's own metrics DB (``assay_suite_run``): every active version must link to an approved
change, approved before the deployment, and its commit must have a passing run of one of ``suite_dag_ids``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import Field

from assay.engines.compliance.checks._sql import (
    Params,
    column,
    connection_name,
    fetch,
    jsonable,
    listed,
    query_text,
    reflect,
    sql_evidence,
    utc,
)
from assay.engines.compliance.checks.access import GrantsTable, active_grants
from assay.engines.compliance.model import Outcome, ResourceResult
from assay.engines.compliance.registry import check
from assay.errors import ConfigError, TargetError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from assay.engines.compliance.model import CheckContext, Evidence


class VersionsTable(Params):
    table: str = "model_versions"
    id_column: str = "id"
    status_column: str = "status"
    active_value: str = "active"
    label_columns: list[str] = Field(default_factory=lambda: ["name", "version"])  # how a version is named


class DeploymentsTable(Params):
    table: str = "deployments"
    version_column: str = "model_id"
    change_column: str = "change_id"
    commit_column: str = "commit_sha"
    deployed_by_column: str = "deployed_by"
    deployed_at_column: str = "deployed_at"


class ChangesTable(Params):
    table: str = "change_requests"
    id_column: str = "change_id"
    status_column: str = "status"
    approved_value: str = "approved"
    requested_by_column: str = "requested_by"
    approved_by_column: str = "approved_by"
    approved_at_column: str = "approved_at"


def _rows(engine: Engine, spec: Params, where: str, fields: dict[str, str], *conditions: Any) -> tuple[list[dict], Any]:
    """Rows of ``spec.table`` with the given {key: column-param-name} renamed to the keys."""
    from sqlalchemy import select

    table = reflect(engine, spec.table, where)  # type: ignore[attr-defined]
    cols = [column(table, getattr(spec, attr), where).label(key) for key, attr in fields.items()]
    stmt = select(*cols)
    for cond in conditions:
        stmt = stmt.where(cond(table))
    return fetch(engine, stmt, where), stmt


def _changes_and_deployments(
    ctx: CheckContext, engine: Engine, where: str, deployments: DeploymentsTable, changes: ChangesTable
) -> tuple[dict[Any, list[dict]], dict[Any, dict], list[Evidence]]:
    deps, dep_stmt = _rows(
        engine,
        deployments,
        where,
        {
            "version": "version_column",
            "change": "change_column",
            "commit": "commit_column",
            "deployed_by": "deployed_by_column",
            "deployed_at": "deployed_at_column",
        },
    )
    chg, chg_stmt = _rows(
        engine,
        changes,
        where,
        {
            "change": "id_column",
            "status": "status_column",
            "requested_by": "requested_by_column",
            "approved_by": "approved_by_column",
            "approved_at": "approved_at_column",
        },
    )
    by_version: dict[Any, list[dict]] = {}
    for d in deps:
        by_version.setdefault(d["version"], []).append(d)
    evidence = [
        sql_evidence(ctx, "deployments", engine, dep_stmt, deps),
        sql_evidence(ctx, "change requests", engine, chg_stmt, chg),
    ]
    return by_version, {c["change"]: c for c in chg}, evidence


class ChangeManagementParams(Params):
    connection: str | None = None
    versions: VersionsTable = VersionsTable()
    deployments: DeploymentsTable = DeploymentsTable()
    changes: ChangesTable = ChangesTable()
    suite_dag_ids: list[str] = Field(default_factory=lambda: ["assay_per_commit", "assay_model_validation"])
    passing_statuses: list[str] = Field(default_factory=lambda: ["PASS"])
    run_before_deployment: bool = True  # the passing run finished before the deployment


@check(
    "sox.change_management",
    title="Active model versions trace to approved, tested changes",
    params=ChangeManagementParams,
)
def change_management(ctx: CheckContext) -> list[ResourceResult]:
    from sqlalchemy import create_engine, select
    from sqlalchemy.exc import SQLAlchemyError

    from assay.store.models import SuiteRun

    p = ctx.params if isinstance(ctx.params, ChangeManagementParams) else ChangeManagementParams()
    if not ctx.metrics_url:
        raise ConfigError("sox.change_management reads Assay's metrics DB: no metrics DB URL is configured")
    name = connection_name(ctx, p.connection)
    engine, where = ctx.stores.engine(name), f"store {name!r}"
    v = p.versions
    label_fields = {f"label_{i}": f for i, f in enumerate(v.label_columns)}
    vt = reflect(engine, v.table, where)
    version_cols = [column(vt, v.id_column, where).label("id")] + [
        column(vt, c, where).label(k) for k, c in label_fields.items()
    ]
    versions_stmt = (
        select(*version_cols).where(column(vt, v.status_column, where) == v.active_value).order_by(version_cols[0])
    )
    versions = fetch(engine, versions_stmt, where)
    deps, changes, evidence = _changes_and_deployments(ctx, engine, where, p.deployments, p.changes)
    evidence.insert(0, sql_evidence(ctx, "active model versions", engine, versions_stmt, versions))
    if not versions:
        return [ResourceResult(f"store:{name}", Outcome.NOT_APPLICABLE, f"no active version in {v.table}", evidence)]
    shas = sorted({d["commit"] for ds in deps.values() for d in ds if d["commit"]})
    runs_stmt = (
        select(SuiteRun.dag_id, SuiteRun.commit_sha, SuiteRun.status, SuiteRun.finished_at, SuiteRun.run_id)
        .where(
            SuiteRun.dag_id.in_(p.suite_dag_ids), SuiteRun.commit_sha.in_(shas), SuiteRun.status.in_(p.passing_statuses)
        )
        .order_by(SuiteRun.finished_at)
    )
    metrics = create_engine(ctx.metrics_url)
    try:
        with metrics.connect() as conn:
            runs = [dict(r._mapping) for r in conn.execute(runs_stmt)] if shas else []
    except SQLAlchemyError as exc:
        raise TargetError(f"metrics DB: reading passing suite runs failed: {type(exc).__name__}: {exc}") from None
    finally:
        metrics.dispose()
    runs_ev = ctx.evidence(
        "passing Assay runs of the deployed commits",
        "sql",
        query_text(metrics, runs_stmt),
        {"row_count": len(runs), "rows": jsonable(runs[:50])},
    )
    results = []
    for version in versions:
        label = "/".join(str(version[k]) for k in label_fields) or str(version["id"])
        resource = f"model:{label}"
        problems = []
        dep_list = sorted(deps.get(version["id"], []), key=lambda d: utc(d["deployed_at"]) or ctx.now)
        if not dep_list:
            results.append(
                ResourceResult(
                    resource,
                    Outcome.FAIL,
                    f"model {label} is active but no deployment record links it to a change",
                    evidence + [runs_ev],
                )
            )
            continue
        dep = dep_list[-1]
        deployed_at = utc(dep["deployed_at"])
        change = changes.get(dep["change"]) if dep["change"] else None
        if change is None:
            problems.append(f"its deployment links to no known change (change id {dep['change']!r})")
        else:
            approved_at = utc(change["approved_at"])
            if change["status"] != p.changes.approved_value or not change["approved_by"] or approved_at is None:
                problems.append(f"change {change['change']} is {change['status']!r}, not approved")
            elif deployed_at is not None and approved_at > deployed_at:
                problems.append(
                    f"deployed at {deployed_at.isoformat()} before change {change['change']} was approved at {approved_at.isoformat()}"
                )
        sha = dep["commit"]
        if not sha:
            problems.append("its deployment names no commit")
        else:
            passing = [r for r in runs if r["commit_sha"] == sha]
            if p.run_before_deployment and deployed_at is not None:
                passing = [r for r in passing if utc(r["finished_at"]) <= deployed_at + timedelta(seconds=0)]
            if not passing:
                problems.append(
                    f"commit {sha[:12]} has no passing {' / '.join(p.suite_dag_ids)} run in the metrics DB"
                    + (" before the deployment" if p.run_before_deployment else "")
                )
        if problems:
            results.append(
                ResourceResult(resource, Outcome.FAIL, f"model {label}: " + "; ".join(problems), evidence + [runs_ev])
            )
        else:
            results.append(
                ResourceResult(
                    resource,
                    Outcome.PASS,
                    f"model {label}: change {dep['change']} approved before deployment, commit {sha[:12]} passed",
                    evidence + [runs_ev],
                )
            )
    return results


class SegregationParams(Params):
    connection: str | None = None
    deployments: DeploymentsTable = DeploymentsTable()
    changes: ChangesTable = ChangesTable()
    grants: GrantsTable = GrantsTable()
    conflicting_roles: list[tuple[str, str]] = Field(default_factory=list)  # pairs nobody may hold together


@check(
    "sox.segregation_of_duties",
    title="Nobody approves their own deployment or holds conflicting roles",
    params=SegregationParams,
)
def segregation_of_duties(ctx: CheckContext) -> list[ResourceResult]:
    p = ctx.params if isinstance(ctx.params, SegregationParams) else SegregationParams()
    name = connection_name(ctx, p.connection)
    engine, where = ctx.stores.engine(name), f"store {name!r}"
    deps, changes, evidence = _changes_and_deployments(ctx, engine, where, p.deployments, p.changes)
    results = []
    checked = 0
    for dep_list in deps.values():
        for dep in dep_list:
            change = changes.get(dep["change"])
            if change is None or not change["approved_by"]:
                continue  # an unapproved deployment is change management's finding
            checked += 1
            approver = change["approved_by"]
            if approver in (dep["deployed_by"], change["requested_by"]):
                role = "deployed" if approver == dep["deployed_by"] else "requested"
                message = (
                    f"change {change['change']}: {approver} approved the change they {role} (model {dep['version']})"
                )
                results.append(ResourceResult(f"change:{change['change']}", Outcome.FAIL, message, evidence))
    grants_ev = []
    if p.conflicting_roles:
        _, cols, stmt = active_grants(engine, p.grants, where)
        grants = fetch(engine, stmt, where)
        grants_ev = [sql_evidence(ctx, "active grants", engine, stmt, grants)]
        held: dict[str, set[str]] = {}
        for g in grants:
            held.setdefault(g[cols["user"].name], set()).add(g[cols["role"].name])
        for user, roles in sorted(held.items()):
            for a, b in p.conflicting_roles:
                if a in roles and b in roles:
                    message = f"user {user} holds conflicting roles {a} and {b}"
                    results.append(ResourceResult(f"user:{user}", Outcome.FAIL, message, grants_ev))
    if not results:
        pairs = listed([f"{a}/{b}" for a, b in p.conflicting_roles]) or "none configured"
        message = f"{checked} approved deployment(s), none approved by its deployer or requester; conflicting role pairs ({pairs}) held by nobody"
        results.append(ResourceResult(f"store:{name}", Outcome.PASS, message, evidence + grants_ev))
    return results


class AccessReviewParams(Params):
    connection: str | None = None
    systems: list[str] = Field(default_factory=list)  # in scope; default: every system that has grants
    max_age_days: int = Field(default=92, ge=1)  # a quarter
    reviews_table: str = "access_reviews"
    review_id_column: str = "id"
    review_system_column: str = "system"
    reviewed_at_column: str = "reviewed_at"
    revocations_table: str = "access_revocations"
    revocation_review_column: str = "review_id"
    revocation_user_column: str = "user_id"
    revocation_role_column: str = "role"
    revocation_system_column: str = "system"
    applied_column: str = "applied_at"
    grants: GrantsTable = GrantsTable()


@check(
    "sox.access_review", title="Access reviewed within the last quarter, revocations applied", params=AccessReviewParams
)
def access_review(ctx: CheckContext) -> list[ResourceResult]:
    from sqlalchemy import select

    p = ctx.params if isinstance(ctx.params, AccessReviewParams) else AccessReviewParams()
    name = connection_name(ctx, p.connection)
    engine, where = ctx.stores.engine(name), f"store {name!r}"
    reviews = reflect(engine, p.reviews_table, where)
    r_id, r_sys = column(reviews, p.review_id_column, where), column(reviews, p.review_system_column, where)
    r_at = column(reviews, p.reviewed_at_column, where)
    revs = reflect(engine, p.revocations_table, where)
    v_cols = {
        k: column(revs, getattr(p, f"revocation_{k}_column"), where) for k in ("review", "user", "role", "system")
    }
    v_applied = column(revs, p.applied_column, where)
    _, g_cols, grants_stmt = active_grants(engine, p.grants, where)
    systems = p.systems
    if not systems:
        if "system" not in g_cols:
            raise ConfigError("sox.access_review: set 'systems' (the grants table has no system column)")
        sys_stmt = select(g_cols["system"]).distinct().order_by(g_cols["system"])
        systems = [r[g_cols["system"].name] for r in fetch(engine, sys_stmt, where)]
    if not systems:
        return [ResourceResult(f"store:{name}", Outcome.NOT_APPLICABLE, "no system with access grants is in scope")]
    reviews_stmt = select(r_id, r_sys, r_at).where(r_sys.in_(systems)).order_by(r_at)
    all_reviews = fetch(engine, reviews_stmt, where)
    revs_stmt = select(*v_cols.values(), v_applied).order_by(v_cols["review"])
    revocations = fetch(engine, revs_stmt, where)
    grants = fetch(engine, grants_stmt, where)
    evidence = [
        sql_evidence(ctx, "access reviews", engine, reviews_stmt, all_reviews),
        sql_evidence(ctx, "revocations decided by access reviews", engine, revs_stmt, revocations),
        sql_evidence(ctx, "active grants", engine, grants_stmt, grants),
    ]
    active = {
        (g[g_cols["user"].name], g[g_cols["role"].name], g[g_cols["system"].name] if "system" in g_cols else None)
        for g in grants
    }
    results = []
    for system in systems:
        mine = [r for r in all_reviews if r[r_sys.name] == system]
        resource = f"system:{system}"
        if not mine:
            results.append(
                ResourceResult(resource, Outcome.FAIL, f"system {system} has never had an access review", evidence)
            )
            continue
        last = max(utc(r[r_at.name]) for r in mine)  # type: ignore[type-var]
        age = ctx.now - last
        problems = []
        if age > timedelta(days=p.max_age_days):
            problems.append(f"last access review {last.date()} is {age.days} days old (> {p.max_age_days})")
        ids = {r[r_id.name] for r in mine}
        for rev in revocations:
            if rev[v_cols["review"].name] not in ids:
                continue
            user, role = rev[v_cols["user"].name], rev[v_cols["role"].name]
            key = (user, role, rev[v_cols["system"].name] if "system" in g_cols else None)
            if rev[v_applied.name] is None:
                problems.append(f"revocation of {role} for {user} (review {rev[v_cols['review'].name]}) is not applied")
            elif key in active:
                problems.append(f"{user} still holds {role} although review {rev[v_cols['review'].name]} revoked it")
        if problems:
            results.append(ResourceResult(resource, Outcome.FAIL, f"system {system}: " + "; ".join(problems), evidence))
        else:
            results.append(
                ResourceResult(
                    resource,
                    Outcome.PASS,
                    f"system {system}: reviewed {last.date()} ({age.days} days ago), revocations applied",
                    evidence,
                )
            )
    return results


__all__ = [
    "AccessReviewParams",
    "ChangeManagementParams",
    "ChangesTable",
    "DeploymentsTable",
    "SegregationParams",
    "VersionsTable",
    "access_review",
    "change_management",
    "segregation_of_duties",
]
