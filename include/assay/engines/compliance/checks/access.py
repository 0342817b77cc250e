"""HIPAA access controls: unique accounts (45 CFR 164.312(a)(2)(i), 164.312(d)) and approved roles
(45 CFR 164.312(a)(1)), read from the platform's user, token, role and grant tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from assay.engines.compliance.checks._sql import (
    Params,
    column,
    connection_name,
    fetch,
    listed,
    reflect,
    sql_evidence,
)
from assay.engines.compliance.model import Outcome, ResourceResult
from assay.engines.compliance.registry import check

if TYPE_CHECKING:
    from sqlalchemy import Column, Table
    from sqlalchemy.engine import Engine

    from assay.engines.compliance.model import CheckContext


class GrantsTable(Params):
    """Where role grants live: one row per (user, role, system); a revoked grant has ``revoked_column`` set."""

    table: str = "role_grants"
    user_column: str = "user_id"
    role_column: str = "role"
    system_column: str | None = "system"
    revoked_column: str | None = "revoked_at"


def active_grants(engine: Engine, grants: GrantsTable, where: str) -> tuple[Table, dict[str, Column[Any]], Any]:
    """The grants table, its columns, and a select of the active grants (user, role[, system])."""
    from sqlalchemy import select

    table = reflect(engine, grants.table, where)
    cols = {"user": column(table, grants.user_column, where), "role": column(table, grants.role_column, where)}
    if grants.system_column:
        cols["system"] = column(table, grants.system_column, where)
    stmt = select(*cols.values())
    if grants.revoked_column:
        stmt = stmt.where(column(table, grants.revoked_column, where).is_(None))
    return table, cols, stmt


def _params(ctx: CheckContext, model: type[BaseModel]) -> Any:
    return ctx.params if isinstance(ctx.params, model) else model()


class UniqueAccountsParams(Params):
    connection: str | None = None
    tokens_table: str = "api_tokens"
    token_column: str = "token_digest"  # a digest or id of the credential, never the secret itself
    token_user_column: str = "user_id"
    users_table: str = "users"
    user_id_column: str = "user_id"
    shared_account_names: list[str] = []  # generic account names that are shared by definition (e.g. "admin")


@check(
    "access.unique_accounts",
    title="No shared accounts; every token belongs to exactly one user",
    params=UniqueAccountsParams,
)
def unique_accounts(ctx: CheckContext) -> list[ResourceResult]:
    from sqlalchemy import distinct, func, select

    p = _params(ctx, UniqueAccountsParams)
    name = connection_name(ctx, p.connection)
    engine, where = ctx.stores.engine(name), f"store {name!r}"
    tokens, users = reflect(engine, p.tokens_table, where), reflect(engine, p.users_table, where)
    t_token, t_user = column(tokens, p.token_column, where), column(tokens, p.token_user_column, where)
    u_id = column(users, p.user_id_column, where)
    shared_stmt = (
        select(t_token, func.count(distinct(t_user)).label("users"))
        .group_by(t_token)
        .having(func.count(distinct(t_user)) > 1)
        .order_by(t_token)
    )
    orphan_stmt = select(t_token, t_user).where((t_user.is_(None)) | t_user.not_in(select(u_id).scalar_subquery()))
    shared = fetch(engine, shared_stmt, where)
    orphans = fetch(engine, orphan_stmt, where)
    results = []
    for row in shared:
        token = str(row[t_token.name])
        owners_stmt = select(t_user).where(t_token == row[t_token.name]).distinct().order_by(t_user)
        owners = [r[t_user.name] for r in fetch(engine, owners_stmt, where)]
        ev = [
            sql_evidence(ctx, "tokens held by more than one user", engine, shared_stmt, shared),
            sql_evidence(ctx, f"users of token {token[:12]}", engine, owners_stmt, [{"user": o} for o in owners]),
        ]
        message = f"token {token[:12]}... is shared by {len(owners)} users: {listed(owners)}"
        results.append(ResourceResult(f"token:{token[:12]}", Outcome.FAIL, message, ev))
    for row in orphans:
        token = str(row[t_token.name])
        ev = [sql_evidence(ctx, "tokens without a known user", engine, orphan_stmt, orphans)]
        owner = row[t_user.name]
        message = f"token {token[:12]}... belongs to " + (f"unknown user {owner!r}" if owner else "no user")
        results.append(ResourceResult(f"token:{token[:12]}", Outcome.FAIL, message, ev))
    if p.shared_account_names:
        generic_stmt = select(u_id).where(u_id.in_(p.shared_account_names))
        generic = fetch(engine, generic_stmt, where)
        for row in generic:
            ev = [sql_evidence(ctx, "generic (shared) account names", engine, generic_stmt, generic)]
            results.append(
                ResourceResult(
                    f"user:{row[u_id.name]}", Outcome.FAIL, f"account {row[u_id.name]!r} is a shared account", ev
                )
            )
    if not results:
        count_stmt = select(func.count(distinct(t_token)).label("tokens"), func.count(distinct(t_user)).label("users"))
        counts = fetch(engine, count_stmt, where)
        ev = [
            sql_evidence(ctx, "tokens held by more than one user", engine, shared_stmt, shared),
            sql_evidence(ctx, "tokens without a known user", engine, orphan_stmt, orphans),
            sql_evidence(ctx, "token and user counts", engine, count_stmt, counts),
        ]
        if not counts or not counts[0]["tokens"]:
            return [
                ResourceResult(
                    f"store:{name}", Outcome.FAIL, f"{p.tokens_table} lists no token: ownership unprovable", ev
                )
            ]
        message = f"{counts[0]['tokens']} tokens, each held by exactly one known user ({counts[0]['users']} users)"
        results.append(ResourceResult(f"store:{name}", Outcome.PASS, message, ev))
    return results


class ApprovedRolesParams(Params):
    connection: str | None = None
    grants: GrantsTable = GrantsTable()
    roles_table: str = "approved_roles"
    role_column: str = "role"


@check("access.approved_roles", title="Every grant maps to an approved role", params=ApprovedRolesParams)
def approved_roles(ctx: CheckContext) -> list[ResourceResult]:
    from sqlalchemy import select

    p = _params(ctx, ApprovedRolesParams)
    name = connection_name(ctx, p.connection)
    engine, where = ctx.stores.engine(name), f"store {name!r}"
    roles = reflect(engine, p.roles_table, where)
    r_role = column(roles, p.role_column, where)
    _, cols, grants_stmt = active_grants(engine, p.grants, where)
    bad_stmt = grants_stmt.where(cols["role"].not_in(select(r_role).scalar_subquery())).order_by(cols["user"])
    approved_stmt = select(r_role).order_by(r_role)
    bad = fetch(engine, bad_stmt, where)
    approved = [r[r_role.name] for r in fetch(engine, approved_stmt, where)]
    grants = fetch(engine, grants_stmt, where)
    ev = [
        sql_evidence(ctx, "approved roles", engine, approved_stmt, [{"role": r} for r in approved]),
        sql_evidence(ctx, "active grants of unapproved roles", engine, bad_stmt, bad),
    ]
    results = []
    for row in bad:
        user, role = row[cols["user"].name], row[cols["role"].name]
        system = f" on {row[cols['system'].name]}" if "system" in cols else ""
        message = (
            f"user {user} holds role {role!r}{system}, which is not an approved role (approved: {listed(approved)})"
        )
        results.append(ResourceResult(f"user:{user}", Outcome.FAIL, message, ev))
    if not results:
        if not grants:
            return [ResourceResult(f"store:{name}", Outcome.FAIL, f"{p.grants.table} holds no active grant", ev)]
        message = f"all {len(grants)} active grants map to approved roles ({listed(approved)})"
        results.append(ResourceResult(f"store:{name}", Outcome.PASS, message, ev))
    return results


__all__ = [
    "ApprovedRolesParams",
    "GrantsTable",
    "UniqueAccountsParams",
    "active_grants",
    "approved_roles",
    "unique_accounts",
]
