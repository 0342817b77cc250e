"""Retention: nothing older than its store's retention period (GDPR Art. 5(1)(e)); audit evidence kept at
least six years (45 CFR 164.316(b)(2)(i)) / seven years (SOX §802), both by the platform (its audit-log
retention setting) and by Assay (its own evidence expiry)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import Field

from assay.engines.compliance.checks._sql import (
    Params,
    column,
    connection_name,
    fetch,
    listed,
    reflect,
    sql_evidence,
    utc,
)
from assay.engines.compliance.model import Outcome, ResourceResult
from assay.engines.compliance.registry import check
from assay.errors import ConfigError, TargetError

if TYPE_CHECKING:
    from assay.engines.compliance.model import CheckContext
    from assay.inventory import InventoryStore


class ExpiredParams(Params):
    stores: list[str] | None = None  # default: every inventory store
    max_listed: int = Field(default=20, ge=1)


def _expired_sql(ctx: CheckContext, store: InventoryStore, cutoff, max_listed: int) -> ResourceResult:  # noqa: ANN001
    from sqlalchemy import func, select

    where = f"store {store.name!r}"
    engine = ctx.stores.engine(store.connection or "")
    table = reflect(engine, store.table or "", where)
    t, subject = column(table, store.time_column or "", where), column(table, store.subject_column, where)
    count_stmt = select(func.count().label("expired"), func.min(t).label("oldest")).where(t < cutoff)
    rows_stmt = select(subject, t).where(t < cutoff).order_by(t).limit(max_listed)
    counts = fetch(engine, count_stmt, where)
    oldest = fetch(engine, rows_stmt, where)
    evidence = [
        sql_evidence(
            ctx, f"records of {store.name} older than {store.retention_days} days", engine, count_stmt, counts
        ),
        sql_evidence(ctx, f"oldest expired records of {store.name}", engine, rows_stmt, oldest),
    ]
    expired = counts[0]["expired"] if counts else 0
    resource = f"store:{store.name}"
    if expired:
        named = [f"{r[subject.name]} ({utc(r[t.name]).date()})" for r in oldest]  # type: ignore[union-attr]
        message = (
            f"store {store.name} keeps {expired} record(s) older than its {store.retention_days}-day retention "
            f"(before {cutoff.date()}): {listed(named, 5)}"
        )
        return ResourceResult(resource, Outcome.FAIL, message, evidence)
    return ResourceResult(
        resource, Outcome.PASS, f"store {store.name}: nothing older than {store.retention_days} days", evidence
    )


def _expired_parquet(ctx: CheckContext, store: InventoryStore, cutoff, max_listed: int) -> ResourceResult:  # noqa: ANN001
    import pyarrow.dataset as ds

    try:
        table = ds.dataset(store.path or "", format="parquet").to_table(
            columns=[store.subject_column, store.time_column]
        )
    except (OSError, ValueError) as exc:
        raise TargetError(f"store {store.name!r}: cannot read {store.path}: {exc}") from None
    rows = [r for r in table.to_pylist() if r[store.time_column] is not None and utc(r[store.time_column]) < cutoff]
    evidence = [
        ctx.evidence(
            f"records of {store.name} older than {store.retention_days} days",
            "file",
            f"{store.path}: {store.time_column} < {cutoff.isoformat()}",
            {"expired": len(rows), "rows": [str(r[store.subject_column]) for r in rows[:max_listed]]},
        )
    ]
    if rows:
        named = [str(r[store.subject_column]) for r in rows]
        message = (
            f"store {store.name} keeps {len(rows)} record(s) older than {store.retention_days} days: {listed(named, 5)}"
        )
        return ResourceResult(f"store:{store.name}", Outcome.FAIL, message, evidence)
    return ResourceResult(f"store:{store.name}", Outcome.PASS, f"store {store.name}: nothing expired", evidence)


@check("retention.expired_records", title="Nothing older than its store's retention period", params=ExpiredParams)
def expired_records(ctx: CheckContext) -> list[ResourceResult]:
    p = ctx.params if isinstance(ctx.params, ExpiredParams) else ExpiredParams()
    if ctx.inventory is None:
        raise ConfigError("retention.expired_records needs the personal-data inventory: set compliance.inventory")
    stores = [ctx.inventory.store(n) for n in p.stores] if p.stores else ctx.inventory.stores
    results = []
    for store in stores:
        if store.retention_days is None:
            results.append(
                ResourceResult(
                    f"store:{store.name}", Outcome.NOT_APPLICABLE, f"store {store.name} has no retention period"
                )
            )
            continue
        cutoff = ctx.now - timedelta(days=store.retention_days)
        if store.kind == "sql":
            results.append(_expired_sql(ctx, store, cutoff, p.max_listed))
        elif store.kind == "parquet":
            results.append(_expired_parquet(ctx, store, cutoff, p.max_listed))
        else:
            message = f"store {store.name} is an api store: the age of its records cannot be read"
            results.append(ResourceResult(f"store:{store.name}", Outcome.ERROR, message))
    return results


class EvidenceKeptParams(Params):
    min_days: int = Field(default=2555, ge=1)  # SOX §802: seven years (HIPAA asks six: 2190)
    connection: str | None = None
    policies_table: str | None = "retention_policies"  # None: only Assay's own evidence expiry is checked
    store_column: str = "store"
    days_column: str = "retention_days"
    audit_stores: list[str] = Field(default_factory=lambda: ["audit_log"])  # their policy rows must be >= min_days


@check("retention.evidence_kept", title="Audit evidence is kept long enough", params=EvidenceKeptParams)
def evidence_kept(ctx: CheckContext) -> list[ResourceResult]:
    from sqlalchemy import select

    p = ctx.params if isinstance(ctx.params, EvidenceKeptParams) else EvidenceKeptParams()
    results = []
    own = ctx.evidence(
        "Assay's evidence retention", "computed", "compliance.evidence_days", {"evidence_days": ctx.evidence_days}
    )
    if ctx.evidence_days >= p.min_days:
        results.append(
            ResourceResult(
                "assay:evidence",
                Outcome.PASS,
                f"Assay keeps evidence {ctx.evidence_days} days (>= {p.min_days})",
                [own],
            )
        )
    else:
        message = f"Assay keeps its compliance evidence {ctx.evidence_days} days, less than {p.min_days}"
        results.append(ResourceResult("assay:evidence", Outcome.FAIL, message, [own]))
    if p.policies_table is None:
        return results
    name = connection_name(ctx, p.connection)
    engine, where = ctx.stores.engine(name), f"store {name!r}"
    table = reflect(engine, p.policies_table, where)
    store_col, days_col = column(table, p.store_column, where), column(table, p.days_column, where)
    stmt = select(store_col, days_col).where(store_col.in_(p.audit_stores)).order_by(store_col)
    rows = fetch(engine, stmt, where)
    evidence = [sql_evidence(ctx, "the platform's audit-record retention settings", engine, stmt, rows)]
    found = {r[store_col.name]: r[days_col.name] for r in rows}
    for store in p.audit_stores:
        days = found.get(store)
        resource = f"retention_policy:{store}"
        if days is None:
            results.append(
                ResourceResult(
                    resource, Outcome.FAIL, f"no retention setting for {store} in {p.policies_table}", evidence
                )
            )
        elif days < p.min_days:
            message = f"{store} is kept {days} days, less than the required {p.min_days}"
            results.append(ResourceResult(resource, Outcome.FAIL, message, evidence))
        else:
            results.append(
                ResourceResult(resource, Outcome.PASS, f"{store} is kept {days} days (>= {p.min_days})", evidence)
            )
    return results


class TestDataParams(Params):
    datasets: list[str] = Field(default_factory=list)  # the test-data datasets to hold to their retention
    max_age_days: float = Field(default=8.0, gt=0)  # the retention step must have run this recently (weekly + 1)
    dag_id: str = "assay_test_data"


@check(
    "retention.test_data_snapshots",
    title="Test-data snapshots are deleted when their retention runs out, and each deletion is recorded",
    params=TestDataParams,
)
def test_data_snapshots(ctx: CheckContext) -> list[ResourceResult]:
    """Per dataset, from Assay's metrics DB: its newest retention step (``<dataset>:retention`` of
    ``assay_test_data``) ran within ``max_age_days`` and PASSed (every snapshot past its retention deleted), and
    the deletions it recorded (what, created, deleted, why) are the evidence. No dataset named: not applicable."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.exc import SQLAlchemyError

    from assay.engines.compliance.checks._sql import jsonable, query_text
    from assay.store.models import Deletion, SuiteRun

    p = ctx.params if isinstance(ctx.params, TestDataParams) else TestDataParams()
    if not p.datasets:
        return [ResourceResult("test_data", Outcome.NOT_APPLICABLE, "no test-data dataset is named", [])]
    if not ctx.metrics_url:
        raise ConfigError("retention.test_data_snapshots reads Assay's metrics DB: no metrics DB URL is configured")
    names = [f"{d}:retention" for d in p.datasets]
    runs_stmt = (
        select(SuiteRun.id, SuiteRun.name, SuiteRun.status, SuiteRun.finished_at, SuiteRun.run_id, SuiteRun.message)
        .where(SuiteRun.dag_id == p.dag_id, SuiteRun.kind == "test_data", SuiteRun.name.in_(names))
        .order_by(SuiteRun.finished_at.desc(), SuiteRun.id.desc())
    )
    metrics = create_engine(ctx.metrics_url)
    try:
        with metrics.connect() as conn:
            runs = [dict(r._mapping) for r in conn.execute(runs_stmt)]
            newest = {}
            for r in runs:
                newest.setdefault(r["name"], r)
            ids = [r["id"] for r in newest.values()]
            del_stmt = (
                select(Deletion.dataset, Deletion.item, Deletion.created_at, Deletion.deleted_at, Deletion.reason)
                .where(Deletion.suite_run_id.in_(ids))
                .order_by(Deletion.deleted_at)
            )
            deletions = [dict(r._mapping) for r in conn.execute(del_stmt)] if ids else []
    except SQLAlchemyError as exc:
        raise TargetError(f"metrics DB: reading test-data retention runs failed: {type(exc).__name__}: {exc}") from None
    finally:
        metrics.dispose()
    results = []
    for dataset in p.datasets:
        run = newest.get(f"{dataset}:retention")
        mine = [d for d in deletions if d["dataset"] == dataset]
        evidence = [
            ctx.evidence(
                f"newest retention step of test dataset {dataset}",
                "sql",
                query_text(metrics, runs_stmt),
                {"run": jsonable([run])[0] if run else None},
            ),
            ctx.evidence(
                f"snapshots of {dataset} deleted by it", "sql", query_text(metrics, del_stmt), jsonable(mine[:100])
            ),
        ]
        resource = f"test_data:{dataset}"
        if run is None:
            results.append(
                ResourceResult(resource, Outcome.FAIL, f"{dataset}: no retention step was ever recorded", evidence)
            )
            continue
        age = (ctx.now - utc(run["finished_at"])).total_seconds() / 86400
        if run["status"] != "PASS":
            message = f"{dataset}: the newest retention step ({run['run_id']}) is {run['status']}: {run['message']}"
            results.append(ResourceResult(resource, Outcome.FAIL, message, evidence))
        elif age > p.max_age_days:
            message = f"{dataset}: retention last ran {age:.1f} days ago (at most {p.max_age_days:g})"
            results.append(ResourceResult(resource, Outcome.FAIL, message, evidence))
        else:
            message = f"{dataset}: retention ran {age:.1f} days ago and deleted {len(mine)} expired snapshot(s)"
            results.append(ResourceResult(resource, Outcome.PASS, message, evidence))
    return results


__all__ = [
    "EvidenceKeptParams",
    "ExpiredParams",
    "TestDataParams",
    "evidence_kept",
    "expired_records",
    "test_data_snapshots",
]
