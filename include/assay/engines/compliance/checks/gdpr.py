"""GDPR checks: erasure (Art. 17(1), 12(3)), consent (Art. 7(1), 7(3)), portability (Art. 20(1)).

**How the erasure canary is planted.** Directly, through each store, for the SQL stores of the inventory (a
row with the canary's id, the time column set to now, every other NOT NULL column a synthetic value): an
auditor with read-write access can do that, and it tests that erasure finds the subject wherever the data
came from, not only what the API itself wrote. Through the platform's own API (``plant_requests``) for the
stores Assay cannot or must not write itself (``planted_by_requests``): an in-memory cache, and a hash-chained
audit log, where a directly inserted row would be an unchained forgery that the hash-chain control must flag.
Whatever the outcome, the check deletes what it planted directly afterwards.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import Field

from assay.engines.compliance.checks._sql import (
    Params,
    column,
    connection_name,
    fetch,
    jsonable,
    listed,
    reflect,
    sql_evidence,
    utc,
)
from assay.engines.compliance.model import Outcome, ResourceResult
from assay.engines.compliance.registry import check
from assay.errors import ConfigError, TargetError

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.engine import Engine

    from assay.engines.compliance.model import CheckContext, Evidence
    from assay.inventory import InventoryStore

# -- erasure ---------------------------------------------------------------------------------------------------


class ApiCall(Params):
    """One request to the service under test; ``"{subject_id}"`` in the path or any string of the body is
    replaced by the canary's id."""

    method: str = "POST"
    path: str
    role: str | None = None
    json_body: Any = Field(default=None, alias="json")


class ErasureParams(Params):
    subject_prefix: str = Field(default="assay-canary-", max_length=40)
    role: str = "admin"  # who files the request and reads api stores
    request_path: str = "/privacy/erasure-requests"
    subject_field: str = "subject_id"
    request_id_field: str = "request_id"
    status_path: str = "/privacy/erasure-requests/{request_id}"
    status_field: str = "status"
    closed_value: str = "closed"
    created_field: str = "created_at"
    closed_field: str = "closed_at"
    api_rows_field: str | None = "rows"  # api stores answer a list, or an object with the list in this field
    plant_requests: list[ApiCall] = Field(default_factory=list)
    planted_by_requests: list[str] = Field(default_factory=list)  # stores the plant requests fill
    plant_values: dict[str, dict[str, Any]] = Field(default_factory=dict)  # store -> column -> value
    wait_s: float = Field(default=30.0, gt=0)  # how long the audit waits for the request to close
    poll_interval_s: float = Field(default=0.2, gt=0)
    deadline_days: float = Field(default=30.0, gt=0)  # Art. 12(3): one month


def _substitute(value: Any, subject: str) -> Any:
    if isinstance(value, str):
        return value.replace("{subject_id}", subject)
    if isinstance(value, list):
        return [_substitute(v, subject) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, subject) for k, v in value.items()}
    return value


def _synthetic(col: Any, now: datetime, subject: str) -> Any:
    from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, Numeric, String

    kind = col.type
    if isinstance(kind, DateTime):
        return now
    if isinstance(kind, Date):
        return now.date()
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer | Float | Numeric):
        return 0
    if isinstance(kind, JSON):
        return {}
    if isinstance(kind, String) and kind.length:
        return subject[: kind.length]
    return subject


class _Stores:
    """Reads (and plants into) the inventory's stores for one subject."""

    def __init__(self, ctx: CheckContext, params: ErasureParams) -> None:
        self.ctx, self.params = ctx, params
        self._tables: dict[str, tuple[Engine, Table]] = {}

    def table(self, store: InventoryStore) -> tuple[Engine, Table]:
        if store.name not in self._tables:
            engine = self.ctx.stores.engine(store.connection or "")
            self._tables[store.name] = (engine, reflect(engine, store.table or "", f"store {store.name!r}"))
        return self._tables[store.name]

    def rows(self, store: InventoryStore, subject: str) -> tuple[list[dict[str, Any]], Evidence]:
        """The subject's rows in the store, and the evidence of how they were read."""
        where = f"store {store.name!r}"
        if store.kind == "sql":
            from sqlalchemy import select

            engine, table = self.table(store)
            stmt = select(table).where(column(table, store.subject_column, where) == subject)
            rows = fetch(engine, stmt, where)
            return rows, sql_evidence(self.ctx, f"rows of subject {subject} in store {store.name}", engine, stmt, rows)
        if store.kind == "api":
            path = (store.endpoint or "").replace("{subject_id}", subject)
            response = _api(self.ctx).request("GET", path, role=self.params.role)
            if response.status_code == 404:
                body: Any = []
            elif response.status_code != 200:
                raise TargetError(f"{where}: GET {path} answered {response.status_code}: {response.text[:200]}")
            else:
                body = response.json()
            found = body.get(self.params.api_rows_field, []) if isinstance(body, dict) else body
            if not isinstance(found, list):
                raise TargetError(f"{where}: GET {path} did not answer a list of rows")
            evidence = self.ctx.evidence(
                f"rows of subject {subject} in store {store.name}",
                "http",
                f"GET {path}",
                {"status": response.status_code, "row_count": len(found), "rows": jsonable(found[:50])},
            )
            return found, evidence
        return self._parquet_rows(store, subject)

    def _parquet_rows(self, store: InventoryStore, subject: str) -> tuple[list[dict[str, Any]], Evidence]:
        import pyarrow.dataset as ds

        try:
            dataset = ds.dataset(store.path or "", format="parquet")
            table = dataset.to_table(filter=ds.field(store.subject_column) == subject)
        except (OSError, ValueError) as exc:
            raise TargetError(f"store {store.name!r}: cannot read {store.path}: {exc}") from None
        rows = table.to_pylist()
        evidence = self.ctx.evidence(
            f"rows of subject {subject} in store {store.name}",
            "file",
            f"{store.path} where {store.subject_column} == {subject!r}",
            {"row_count": len(rows), "rows": jsonable(rows[:50])},
        )
        return rows, evidence

    def plant_sql(self, store: InventoryStore, subject: str) -> dict[str, Any]:
        from sqlalchemy import insert
        from sqlalchemy.exc import SQLAlchemyError

        engine, table = self.table(store)
        values: dict[str, Any] = {store.subject_column: subject}
        if store.time_column:
            values[store.time_column] = self.ctx.now
        for col in table.columns:
            required = not col.nullable and col.default is None and col.server_default is None
            if col.name in values or not required or (col.primary_key and col.autoincrement is True):
                continue
            if col.primary_key and len(table.primary_key.columns) == 1 and _is_integer(col):
                continue  # an integer primary key numbers itself
            values[col.name] = _synthetic(col, self.ctx.now, subject)
        values |= self.params.plant_values.get(store.name, {})
        try:
            with engine.begin() as conn:
                conn.execute(insert(table).values(**values))
        except SQLAlchemyError as exc:
            raise TargetError(
                f"store {store.name!r}: planting the canary failed ({type(exc).__name__}: {exc}); "
                "give the missing columns in plant_values",
                retryable=False,
            ) from None
        return jsonable(values)

    def remove_sql(self, store: InventoryStore, subject: str) -> None:
        from sqlalchemy import delete

        engine, table = self.table(store)
        with engine.begin() as conn:
            conn.execute(delete(table).where(table.c[store.subject_column] == subject))


def _is_integer(col: Any) -> bool:
    from sqlalchemy import Integer

    return isinstance(col.type, Integer)


def _api(ctx: CheckContext) -> Any:
    if ctx.api is None:
        raise ConfigError("this check calls the service under test: configure compliance.api (base URL and roles)")
    return ctx.api


def _inventory(ctx: CheckContext) -> Any:
    if ctx.inventory is None:
        raise ConfigError("this check needs the personal-data inventory: set compliance.inventory")
    return ctx.inventory


@check("gdpr.erasure", title="Erasure request removes the subject from every store in time", params=ErasureParams)
def erasure(ctx: CheckContext) -> list[ResourceResult]:
    """Plant a canary subject in every erasable store, file an erasure request, wait for it to close,
    re-query every store: zero rows, and the request closed within the deadline."""
    params = ctx.params if isinstance(ctx.params, ErasureParams) else ErasureParams()
    inventory, api = _inventory(ctx), _api(ctx)
    stores = inventory.erasable_stores()
    unknown = sorted(set(params.planted_by_requests) - {s.name for s in stores})
    if unknown:
        raise ConfigError(f"planted_by_requests names stores that are not erasable stores of the inventory: {unknown}")
    subject = f"{params.subject_prefix}{uuid.uuid4().hex[:12]}"
    reader = _Stores(ctx, params)
    results: list[ResourceResult] = []
    planted: dict[str, Evidence] = {}
    direct: list[InventoryStore] = []
    try:
        for store in stores:
            if store.name in params.planted_by_requests:
                continue
            if store.kind != "sql":
                raise ConfigError(
                    f"store {store.name!r} ({store.kind}) cannot be planted into directly: "
                    "fill it through plant_requests and list it in planted_by_requests"
                )
            values = reader.plant_sql(store, subject)
            direct.append(store)
            planted[store.name] = ctx.evidence(
                f"canary planted in store {store.name}", "sql", f"INSERT INTO {store.table}", values
            )
        for call in params.plant_requests:
            path = _substitute(call.path, subject)
            response = api.request(call.method, path, role=call.role, json=_substitute(call.json_body, subject))
            if response.status_code >= 300:
                raise TargetError(
                    f"planting the canary: {call.method} {path} answered {response.status_code}: {response.text[:200]}"
                )
        before: dict[str, tuple[int, Evidence]] = {}
        for store in stores:
            rows, evidence = reader.rows(store, subject)
            before[store.name] = (len(rows), evidence)
        request_ev, request_result = _file_and_wait(ctx, params, api, subject)
        for store in stores:
            count_before, ev_before = before[store.name]
            evidence = [e for e in (planted.get(store.name), ev_before) if e is not None]
            if count_before == 0:
                results.append(
                    ResourceResult(
                        f"store:{store.name}",
                        Outcome.ERROR,
                        f"the canary {subject} could not be planted in store {store.name} (0 rows after planting)",
                        evidence,
                    )
                )
                continue
            rows, ev_after = reader.rows(store, subject)
            evidence += [request_ev, ev_after]
            if rows:
                results.append(
                    ResourceResult(
                        f"store:{store.name}",
                        Outcome.FAIL,
                        f"store {store.name} still holds {len(rows)} row(s) of subject {subject} after the erasure "
                        "request closed",
                        evidence,
                    )
                )
            else:
                results.append(
                    ResourceResult(
                        f"store:{store.name}",
                        Outcome.PASS,
                        f"store {store.name}: {count_before} planted row(s) of {subject} erased",
                        evidence,
                    )
                )
        results.append(request_result)
    finally:
        for store in direct:
            try:
                reader.remove_sql(store, subject)
            except Exception:  # noqa: BLE001 - cleanup must not hide the outcome; the canary is synthetic
                pass
    return results


def _file_and_wait(ctx: CheckContext, params: ErasureParams, api: Any, subject: str) -> tuple[Evidence, ResourceResult]:
    response = api.request("POST", params.request_path, role=params.role, json={params.subject_field: subject})
    if response.status_code >= 300:
        raise TargetError(f"POST {params.request_path} answered {response.status_code}: {response.text[:200]}")
    request_id = response.json().get(params.request_id_field)
    if request_id is None:
        raise TargetError(f"POST {params.request_path} answered no {params.request_id_field!r}: {response.text[:200]}")
    path = params.status_path.replace("{request_id}", str(request_id))
    deadline = time.monotonic() + params.wait_s
    while True:
        status = api.request("GET", path, role=params.role)
        if status.status_code != 200:
            raise TargetError(f"GET {path} answered {status.status_code}: {status.text[:200]}")
        body = status.json()
        if body.get(params.status_field) == params.closed_value or time.monotonic() > deadline:
            break
        time.sleep(params.poll_interval_s)
    evidence = ctx.evidence(
        f"erasure request {request_id}",
        "http",
        f"POST {params.request_path}; GET {path}",
        {"filed": response.json(), "final": body},
    )
    resource = f"erasure_request:{request_id}"
    if body.get(params.status_field) != params.closed_value:
        message = f"erasure request {request_id} is still {body.get(params.status_field)!r} after {params.wait_s:g} s"
        return evidence, ResourceResult(resource, Outcome.FAIL, message, [evidence])
    created, closed = utc(body.get(params.created_field)), utc(body.get(params.closed_field))
    if created is None or closed is None:
        message = f"erasure request {request_id} is closed but has no {params.created_field}/{params.closed_field}"
        return evidence, ResourceResult(resource, Outcome.FAIL, message, [evidence])
    took = closed - created
    if took > timedelta(days=params.deadline_days):
        message = f"erasure request {request_id} took {took} to close (deadline {params.deadline_days:g} days)"
        return evidence, ResourceResult(resource, Outcome.FAIL, message, [evidence])
    message = (
        f"erasure request {request_id} closed in {took.total_seconds():.3f} s (deadline {params.deadline_days:g} days)"
    )
    return evidence, ResourceResult(resource, Outcome.PASS, message, [evidence])


# -- consent ---------------------------------------------------------------------------------------------------


class ConsentParams(Params):
    connection: str | None = None  # default: the inventory's only SQL connection
    runs_table: str = "training_runs"
    run_id_column: str = "run_id"
    run_purpose_column: str = "purpose"
    run_basis_column: str = "legal_basis"
    run_started_column: str = "started_at"
    consent_basis: str = "consent"
    usage_table: str = "training_snapshot"  # the rows each run used
    usage_run_column: str = "run_id"
    usage_subject_column: str = "subject_id"
    consent_table: str = "consent_records"
    consent_subject_column: str = "subject_id"
    consent_purpose_column: str = "purpose"
    consent_given_column: str = "given_at"
    consent_withdrawn_column: str = "withdrawn_at"


@check("gdpr.consent", title="Consent-based training used only consented data", params=ConsentParams)
def consent(ctx: CheckContext) -> list[ResourceResult]:
    """Every subject of every consent-based training run had consent for the run's purpose when it started
    (given before, not withdrawn before)."""
    from sqlalchemy import and_, exists, func, or_, select

    p = ctx.params if isinstance(ctx.params, ConsentParams) else ConsentParams()
    name = connection_name(ctx, p.connection)
    engine = ctx.stores.engine(name)
    runs = reflect(engine, p.runs_table, f"store {name!r}")
    usage = reflect(engine, p.usage_table, f"store {name!r}")
    consents = reflect(engine, p.consent_table, f"store {name!r}")
    r_id, r_purpose = column(runs, p.run_id_column, name), column(runs, p.run_purpose_column, name)
    r_basis, r_started = column(runs, p.run_basis_column, name), column(runs, p.run_started_column, name)
    u_run, u_subject = column(usage, p.usage_run_column, name), column(usage, p.usage_subject_column, name)
    c_subject, c_purpose = (
        column(consents, p.consent_subject_column, name),
        column(consents, p.consent_purpose_column, name),
    )
    c_given = column(consents, p.consent_given_column, name)
    c_withdrawn = column(consents, p.consent_withdrawn_column, name)

    runs_stmt = (
        select(r_id, r_purpose, r_started, func.count(func.distinct(u_subject)).label("subjects"))
        .select_from(runs.outerjoin(usage, u_run == r_id))
        .where(r_basis == p.consent_basis)
        .group_by(r_id, r_purpose, r_started)
        .order_by(r_id)
    )
    run_rows = fetch(engine, runs_stmt, f"store {name!r}")
    if not run_rows:
        ev = _ev(ctx, "consent-based training runs", engine, runs_stmt, run_rows)
        return [ResourceResult(f"store:{name}", Outcome.NOT_APPLICABLE, "no consent-based training runs", [ev])]
    valid = exists().where(
        and_(
            c_subject == u_subject,
            c_purpose == r_purpose,
            c_given <= r_started,
            or_(c_withdrawn.is_(None), c_withdrawn > r_started),
        )
    )
    bad_stmt = (
        select(r_id, u_subject)
        .select_from(runs.join(usage, u_run == r_id))
        .where(r_basis == p.consent_basis, ~valid)
        .distinct()
        .order_by(r_id, u_subject)
    )
    bad = fetch(engine, bad_stmt, f"store {name!r}")
    runs_ev = _ev(ctx, "consent-based training runs", engine, runs_stmt, run_rows)
    bad_ev = _ev(ctx, "subjects used without valid consent", engine, bad_stmt, bad)
    results = []
    for run in run_rows:
        run_id = run[r_id.name]
        subjects = [b[u_subject.name] for b in bad if b[r_id.name] == run_id]
        resource = f"training_run:{run_id}"
        if subjects:
            consent_stmt = (
                select(c_subject, c_purpose, c_given, c_withdrawn)
                .where(c_subject.in_(subjects[:50]))
                .order_by(c_subject)
            )
            records = fetch(engine, consent_stmt, f"store {name!r}")
            message = (
                f"training run {run_id} (purpose {run[r_purpose.name]}, started {utc(run[r_started.name])}) used "
                f"{len(subjects)} subject(s) without consent valid at that time: {listed(subjects)}"
            )
            evidence = [
                runs_ev,
                bad_ev,
                _ev(ctx, f"consent records of run {run_id}'s subjects", engine, consent_stmt, records),
            ]
            results.append(ResourceResult(resource, Outcome.FAIL, message, evidence))
        else:
            message = f"training run {run_id}: all {run['subjects']} subject(s) had consent for {run[r_purpose.name]}"
            results.append(ResourceResult(resource, Outcome.PASS, message, [runs_ev, bad_ev]))
    return results


def _ev(ctx: CheckContext, name: str, engine: Engine, stmt: Any, rows: list[dict[str, Any]]) -> Evidence:
    return sql_evidence(ctx, name, engine, stmt, rows)


# -- portability -----------------------------------------------------------------------------------------------


class PortabilityParams(Params):
    path: str = "/privacy/subjects/{subject_id}/export"
    role: str = "admin"
    subject_id: str | None = None  # default: the first subject of subject_store
    subject_store: str | None = None  # default: the first SQL store of the inventory with provided columns
    compare_values: bool = True  # exported values of non-PHI provided columns must equal the stored ones


def _flatten(value: Any, into: dict[str, list[Any]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            into.setdefault(str(key), []).append(item)
            _flatten(item, into)
    elif isinstance(value, list):
        for item in value:
            _flatten(item, into)


@check("gdpr.portability", title="Subject export is machine-readable and complete", params=PortabilityParams)
def portability(ctx: CheckContext) -> list[ResourceResult]:
    """Export one subject through the API: JSON, holding every field the inventory tags ``provided`` (and, for
    non-PHI fields, the stored value)."""
    from sqlalchemy import select

    p = ctx.params if isinstance(ctx.params, PortabilityParams) else PortabilityParams()
    inventory, api = _inventory(ctx), _api(ctx)
    provided = [(s, c) for s, c in inventory.tagged("provided")]
    if not provided:
        return [ResourceResult("inventory", Outcome.NOT_APPLICABLE, "the inventory tags no column 'provided'")]
    sql_stores = [s for s, _ in provided if s.kind == "sql"]
    store = inventory.store(p.subject_store) if p.subject_store else (sql_stores[0] if sql_stores else None)
    stored: dict[str, Any] = {}
    evidence: list[Evidence] = []
    subject = p.subject_id
    if store is not None and store.kind == "sql":
        engine = ctx.stores.engine(store.connection or "")
        table = reflect(engine, store.table or "", f"store {store.name!r}")
        subj_col = column(table, store.subject_column, store.name)
        stmt = (
            select(table).order_by(subj_col).limit(1) if subject is None else select(table).where(subj_col == subject)
        )
        rows = fetch(engine, stmt, f"store {store.name!r}")
        evidence.append(sql_evidence(ctx, f"the subject's row in store {store.name}", engine, stmt, rows))
        if rows:
            stored = rows[0]
            subject = subject or str(rows[0][store.subject_column])
    if subject is None:
        raise TargetError("no subject to export: the subject store is empty and no subject_id param is set")
    path = p.path.replace("{subject_id}", subject)
    response = api.request("GET", path, role=p.role)
    resource = f"export:{subject}"
    try:
        body = response.json()
    except ValueError:
        body = None
    evidence.append(
        ctx.evidence(
            f"export of subject {subject}",
            "http",
            f"GET {path}",
            {
                "status": response.status_code,
                "content_type": response.headers.get("content-type"),
                "body": body if body is not None else response.text[:2000],
            },
        )
    )
    if response.status_code != 200:
        return [ResourceResult(resource, Outcome.FAIL, f"GET {path} answered {response.status_code}", evidence)]
    if body is None or "json" not in (response.headers.get("content-type") or ""):
        return [
            ResourceResult(resource, Outcome.FAIL, f"the export of {subject} is not machine-readable JSON", evidence)
        ]
    fields: dict[str, list[Any]] = {}
    _flatten(body, fields)
    missing, differing = [], []
    for s, col in provided:
        if col not in fields:
            missing.append(f"{s.name}.{col}")
        elif p.compare_values and s is store and col in stored and "phi" not in s.columns.get(col, []):
            if stored[col] is not None and not any(str(v) == str(jsonable(stored[col])) for v in fields[col]):
                differing.append(f"{s.name}.{col}")
    evidence.append(
        ctx.evidence(
            "provided fields against the export",
            "computed",
            "inventory columns tagged provided",
            {"provided": [f"{s.name}.{c}" for s, c in provided], "missing": missing, "differing": differing},
        )
    )
    if missing or differing:
        parts = []
        if missing:
            parts.append(f"missing provided field(s) {listed(missing)}")
        if differing:
            parts.append(f"value(s) differing from the store: {listed(differing)}")
        return [ResourceResult(resource, Outcome.FAIL, f"export of {subject}: " + "; ".join(parts), evidence)]
    message = f"export of {subject} is JSON with all {len(provided)} provided field(s)"
    return [ResourceResult(resource, Outcome.PASS, message, evidence)]


__all__ = ["ConsentParams", "ErasureParams", "PortabilityParams", "consent", "erasure", "portability"]
