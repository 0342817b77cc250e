"""Audit-trail checks: completeness against scripted actions (GDPR Art. 30(1), 45 CFR 164.312(b)) and the
hash chain's integrity end to end (45 CFR 164.312(c)(2)).

The hash chain the platform keeps and :func:`hash_chain` verifies: records are numbered by a sequence column
without gaps (from ``first_seq``); each record stores the previous record's hash (the first one
``genesis_hash``) and its own hash, the SHA-256 hex of the compact JSON array ``[prev_hash, *fields]`` where
``fields`` are the ``fields`` params' columns in order, timestamps as UTC ISO 8601 with microseconds.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
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
    utc,
)
from assay.engines.compliance.model import Outcome, ResourceResult
from assay.engines.compliance.registry import check
from assay.errors import ConfigError, TargetError

if TYPE_CHECKING:
    from assay.engines.compliance.model import CheckContext

DEFAULT_OUTCOMES = {"2xx": "success", "401": "denied", "403": "denied", "429": "throttled", "4xx": "rejected"}


class ScriptedAction(Params):
    """One action the audit performs. ``repeat`` sends it up to that many times, stopping at the first
    ``expect_status`` (to provoke a rate limit); every response sent must have its audit record."""

    method: str = "GET"
    path: str
    role: str | None = None  # None: no token
    json_body: Any = Field(default=None, alias="json")
    expect_status: int
    repeat: int = Field(default=1, ge=1, le=10_000)


class TrailParams(Params):
    connection: str | None = None
    table: str = "audit_log"
    request_id_column: str = "request_id"
    actor_column: str = "actor"
    action_column: str = "action"
    resource_column: str = "resource"
    outcome_column: str = "outcome"
    time_column: str = "occurred_at"
    request_id_header: str = "X-Request-ID"
    actions: list[ScriptedAction] = Field(min_length=1, default_factory=list)
    actors: dict[str, str] = Field(default_factory=dict)  # role -> the actor the log must name
    anonymous_actor: str | None = "anonymous"  # the actor of requests without a token (None: not compared)
    outcomes: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_OUTCOMES))  # "403" / "4xx" -> outcome
    clock_skew_s: float = Field(default=2.0, ge=0)
    settle_s: float = Field(default=5.0, ge=0)  # how long records may take to appear


def _expected_outcome(outcomes: dict[str, str], status: int) -> str | None:
    return outcomes.get(str(status)) or outcomes.get(f"{status // 100}xx")


@check("audit.trail_completeness", title="Every scripted action has exactly one audit record", params=TrailParams)
def trail_completeness(ctx: CheckContext) -> list[ResourceResult]:
    """Perform the scripted actions (success, 401, 403, 400, 429 ...) and require for each response exactly one
    audit record with its request id, the caller as actor, an action, the path as resource, the outcome its
    status means, and a UTC time within the request's window."""
    from sqlalchemy import bindparam, select

    p = ctx.params if isinstance(ctx.params, TrailParams) else TrailParams()
    if not p.actions:
        raise ConfigError("audit.trail_completeness needs 'actions': the scripted requests to verify")
    if ctx.api is None:
        raise ConfigError("audit.trail_completeness calls the service under test: configure compliance.api")
    name = connection_name(ctx, p.connection)
    engine = ctx.stores.engine(name)
    table = reflect(engine, p.table, f"store {name!r}")
    cols = {
        k: column(table, getattr(p, f"{k}_column"), name)
        for k in ("request_id", "actor", "action", "resource", "outcome", "time")
    }
    sent: list[tuple[int, dict[str, Any]]] = []  # (action index, what was sent and answered)
    problems_by_action: dict[int, list[str]] = {i: [] for i in range(len(p.actions))}
    for i, action in enumerate(p.actions):
        last = None
        for _ in range(action.repeat):
            before = ctx_now()
            response = ctx.api.request(action.method, action.path, role=action.role, json=action.json_body)
            after = ctx_now()
            last = response.status_code
            sent.append(
                (
                    i,
                    {
                        "method": action.method.upper(),
                        "path": action.path,
                        "role": action.role,
                        "status": response.status_code,
                        "request_id": response.headers.get(p.request_id_header),
                        "sent_at": before,
                        "answered_at": after,
                    },
                )
            )
            if response.status_code == action.expect_status:
                break
        if last != action.expect_status:
            raise TargetError(
                f"scripted action {action.method} {action.path} as {action.role or 'no token'} answered {last}, "
                f"not the {action.expect_status} it is meant to provoke (after {action.repeat} attempt(s))",
                retryable=False,
            )
    ids = [s["request_id"] for _, s in sent if s["request_id"]]
    stmt = select(*cols.values()).where(cols["request_id"].in_(bindparam("ids", expanding=True)))
    deadline = time.monotonic() + p.settle_s
    while True:
        rows = fetch(engine, stmt.params(ids=ids), f"store {name!r}") if ids else []
        found = {r[cols["request_id"].name] for r in rows}
        if set(ids) <= found or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    by_id: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_id.setdefault(row[cols["request_id"].name], []).append(row)
    for i, s in sent:
        label = f"{s['status']} {s['method']} {s['path']}"
        rid = s["request_id"]
        if not rid:
            problems_by_action[i].append(f"{label}: the response has no {p.request_id_header} header to match")
            continue
        matches = by_id.get(rid, [])
        if len(matches) != 1:
            problems_by_action[i].append(f"{label} (request {rid}): {len(matches)} audit records, expected 1")
            continue
        row = matches[0]
        wrong = []
        actor = p.actors.get(s["role"]) if s["role"] is not None else p.anonymous_actor
        if not row[cols["actor"].name] or (actor is not None and row[cols["actor"].name] != actor):
            wrong.append(f"actor {row[cols['actor'].name]!r} (expected {actor!r})")
        if not row[cols["action"].name]:
            wrong.append("no action")
        if row[cols["resource"].name] != s["path"]:
            wrong.append(f"resource {row[cols['resource'].name]!r} (expected {s['path']!r})")
        expected = _expected_outcome(p.outcomes, s["status"])
        if row[cols["outcome"].name] != expected:
            wrong.append(f"outcome {row[cols['outcome'].name]!r} (expected {expected!r})")
        wrong += _time_problems(row[cols["time"].name], s, p.clock_skew_s)
        if wrong:
            problems_by_action[i].append(f"{label} (request {rid}): " + ", ".join(wrong))
    evidence_query = ctx.evidence(
        "audit records of the scripted requests",
        "sql",
        query_text(engine, stmt.params(ids=ids)),
        {"row_count": len(rows), "rows": jsonable(rows[:200])},
    )
    results = []
    for i, action in enumerate(p.actions):
        mine = [jsonable(s) for j, s in sent if j == i]
        ev = [
            ctx.evidence(
                f"scripted requests: {action.method} {action.path}", "http", f"{action.method} {action.path}", mine
            ),
            evidence_query,
        ]
        resource = f"action:{action.method.upper()} {action.path} -> {action.expect_status}"
        problems = problems_by_action[i]
        if problems:
            results.append(ResourceResult(resource, Outcome.FAIL, "; ".join(problems[:5]), ev))
        else:
            results.append(
                ResourceResult(
                    resource, Outcome.PASS, f"{len(mine)} request(s), each with exactly one complete audit record", ev
                )
            )
    return results


def ctx_now() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


def _time_problems(value: Any, sent: dict[str, Any], skew_s: float) -> list[str]:
    if value is None:
        return ["no time"]
    if isinstance(value, datetime) and value.tzinfo is not None and value.utcoffset() != timedelta(0):
        return [f"time {value.isoformat()} is not UTC"]
    stamp = utc(value)
    low, high = sent["sent_at"] - timedelta(seconds=skew_s), sent["answered_at"] + timedelta(seconds=skew_s)
    if stamp is None or not low <= stamp <= high:
        return [f"time {jsonable(value)} outside the request's window {low.isoformat()}..{high.isoformat()}"]
    return []


# -- hash chain ------------------------------------------------------------------------------------------------


class ChainParams(Params):
    connection: str | None = None
    table: str = "audit_log"
    seq_column: str = "seq"
    prev_hash_column: str = "prev_hash"
    hash_column: str = "row_hash"
    fields: list[str] = Field(min_length=1, default_factory=lambda: ["seq"])  # hashed after prev_hash, in order
    genesis_hash: str = "0" * 64
    first_seq: int = 1
    max_listed: int = Field(default=100, ge=1)
    # Optional: where the platform keeps the chain's last seq and hash, so a truncated tail is found too.
    head_table: str | None = None
    head_seq_column: str = "seq"
    head_hash_column: str = "row_hash"
    # PostgreSQL: compute each record's hash in the database (sha256 over the same JSON text) and recompute
    # in Python only the records whose database hash differs, so a million records verify in seconds.
    server_side_hash: bool = True


def canonical(value: Any) -> Any:
    """A field's value as the chain hashes it."""
    if isinstance(value, datetime):
        return utc(value).isoformat(timespec="microseconds")  # type: ignore[union-attr]
    return value


_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def chain_hash(prev_hash: str, values: list[Any]) -> str:
    """SHA-256 hex of the compact JSON array ``[prev_hash, *values]`` (datetimes canonical, see above)."""
    return hashlib.sha256(_ENCODE([prev_hash, *map(canonical, values)]).encode("utf-8")).hexdigest()


def _utc_iso(value: Any) -> Any:
    if value is None or not isinstance(value, datetime):
        return canonical(value)
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


@check("audit.hash_chain", title="The audit log's sequence and hash chain verify end to end", params=ChainParams)
def hash_chain(ctx: CheckContext) -> list[ResourceResult]:
    """Read the audit log in sequence order, streaming: no gap in the sequence, each record's previous hash is
    its predecessor's hash, each record's hash recomputes. A deleted or edited record is named by seq."""
    from sqlalchemy import DateTime, func, select
    from sqlalchemy.exc import SQLAlchemyError

    p = ctx.params if isinstance(ctx.params, ChainParams) else ChainParams()
    name = connection_name(ctx, p.connection)
    engine = ctx.stores.engine(name)
    table = reflect(engine, p.table, f"store {name!r}")
    seq = column(table, p.seq_column, name)
    prev_col, hash_col = column(table, p.prev_hash_column, name), column(table, p.hash_column, name)
    fields = [column(table, f, name) for f in p.fields]
    stmt = select(seq, prev_col, hash_col, *[f for f in fields if f.name != seq.name]).order_by(seq)
    db_hash = _postgres_hash(engine, prev_col, fields) if p.server_side_hash else None
    read_stmt = stmt
    suspects: list[int] = []  # records whose database-computed hash differs: recomputed in Python below
    unsequenced_stmt = select(func.count()).select_from(table).where(seq.is_(None))
    problems: list[tuple[int | None, str]] = []
    head = _chain_head(engine, p, name) if p.head_table else None  # read first: the log may grow meanwhile
    count, expected_seq, prev_hash, last_seq = 0, p.first_seq, p.genesis_hash, None
    try:
        with engine.connect() as conn:
            unsequenced = conn.execute(unsequenced_stmt).scalar_one()
            if db_hash is not None:
                read_stmt, count, last_seq, prev_hash, problems, suspects = _verify_in_postgres(
                    conn, p, seq, prev_col, hash_col, db_hash, head
                )
            chained = read_stmt.where(seq.is_not(None)) if db_hash is None else None
            if chained is not None and head is not None:  # records appended while the audit reads: the next audit's
                chained = chained.where(seq <= head["seq"])
            result = (
                []
                if chained is None
                else conn.execution_options(stream_results=True, yield_per=10_000).execute(chained)
            )
            # plain tuples and precomputed converters: this loop is the cost of verifying millions of records
            positions = {c.name: i for i, c in enumerate(stmt.selected_columns)}
            seq_i, prev_i, hash_i = positions[seq.name], positions[prev_col.name], positions[hash_col.name]
            getters = [(positions[f.name], isinstance(f.type, DateTime)) for f in fields]
            encode, sha256 = _ENCODE, hashlib.sha256
            for row in result:
                n = row[seq_i]
                count += 1
                gap = False
                if n != expected_seq:
                    gap = True
                    if n > expected_seq:
                        lost = f"{expected_seq}" if n - expected_seq == 1 else f"{expected_seq}..{n - 1}"
                        problems.append((expected_seq, f"seq {lost} missing (deleted) before seq {n}"))
                    else:
                        problems.append((n, f"seq {n} out of order or duplicated (after seq {last_seq})"))
                stored_prev, stored = row[prev_i], row[hash_i]
                if stored_prev != prev_hash and not gap:  # after a gap the link is broken by the deletion
                    problems.append((n, f"seq {n}: prev_hash does not match the hash of the record before it"))
                values = [_utc_iso(row[i]) if is_time else row[i] for i, is_time in getters]
                recomputed = sha256(encode([stored_prev or "", *values]).encode("utf-8")).hexdigest()
                if recomputed != stored:
                    problems.append((n, f"seq {n} was altered: its stored hash does not match its content"))
                prev_hash, last_seq, expected_seq = stored, n, max(expected_seq, n) + 1
            for start in range(0, len(suspects), 1000):  # the database's JSON text may differ: Python decides
                batch = conn.execute(stmt.where(seq.in_(suspects[start : start + 1000])))
                pos = {c.name: i for i, c in enumerate(stmt.selected_columns)}
                for row in batch:
                    values = [row[pos[f.name]] for f in fields]
                    if chain_hash(row[pos[prev_col.name]] or "", values) != row[pos[hash_col.name]]:
                        n = row[pos[seq.name]]
                        problems.append((n, f"seq {n} was altered: its stored hash does not match its content"))
            problems.sort(key=lambda problem: (problem[0] is None, problem[0] or 0))
    except SQLAlchemyError as exc:
        raise TargetError(f"store {name!r}: reading {p.table!r} failed: {type(exc).__name__}: {exc}") from None
    if head is not None and (head["seq"], head["hash"]) != (last_seq or 0, prev_hash):
        if last_seq is not None and head["seq"] > last_seq:
            lost = f"{last_seq + 1}" if head["seq"] == last_seq + 1 else f"{last_seq + 1}..{head['seq']}"
            problems.append(
                (last_seq + 1, f"seq {lost} missing (deleted) at the end: the chain head is seq {head['seq']}")
            )
        else:
            problems.append(
                (last_seq, f"the chain head (seq {head['seq']}) does not match the last record (seq {last_seq})")
            )
    source = query_text(engine, read_stmt)
    summary = {
        "rows": count,
        "first_seq": p.first_seq,
        "last_seq": last_seq,
        "last_hash": prev_hash,
        "unsequenced_rows": unsequenced,
        "problems": [msg for _, msg in problems[: p.max_listed]],
        "problem_count": len(problems),
        "hash": "sha256 of JSON [prev_hash, " + ", ".join(p.fields) + "]",
        "chain_head": head,
        "hashed_in": "database (PostgreSQL sha256), mismatches recomputed in Python"
        if db_hash is not None
        else "Python",
        "recomputed_in_python": len(suspects),
    }
    evidence = [ctx.evidence(f"hash-chain verification of {p.table}", "sql", source, summary)]
    if unsequenced:
        problems.append((None, f"{unsequenced} record(s) of {p.table} have no sequence number (outside the chain)"))
    if count == 0:
        return [ResourceResult(f"audit_log:{p.table}", Outcome.FAIL, f"{p.table} holds no chained records", evidence)]
    if not problems:
        message = f"{count} records, seq {p.first_seq}..{last_seq}: no gap, every hash verifies"
        return [ResourceResult(f"audit_log:{p.table}", Outcome.PASS, message, evidence)]
    results = []
    for n, message in problems[: p.max_listed]:
        resource = f"audit_log:seq {n}" if n is not None else f"audit_log:{p.table}"
        results.append(ResourceResult(resource, Outcome.FAIL, message, evidence))
    if len(problems) > p.max_listed:
        more = f"{len(problems) - p.max_listed} more chain problems (first ones listed: {listed([m for _, m in problems], 3)})"
        results.append(ResourceResult(f"audit_log:{p.table}", Outcome.FAIL, more, evidence))
    return results


def _verify_in_postgres(
    conn: Any, p: ChainParams, seq: Any, prev_col: Any, hash_col: Any, db_hash: Any, head: dict[str, Any] | None
) -> tuple[Any, int, int | None, str, list[tuple[int | None, str]], list[int]]:
    """The chain verified inside PostgreSQL: each record's hash computed there, its links compared with a window
    over the sequence; only the records that break something come back (hash mismatches are then recomputed in
    Python, which decides). Returns the query, the row count, the last seq and hash, problems and suspects."""
    from sqlalchemy import and_, func, literal, or_, select

    rows = select(
        seq.label("seq"),
        prev_col.label("prev_hash"),
        hash_col.label("row_hash"),
        func.lag(seq).over(order_by=seq).label("prev_seq"),
        func.lag(hash_col).over(order_by=seq).label("prev_row_hash"),
    ).where(seq.is_not(None))
    if head is not None:
        rows = rows.where(seq <= head["seq"])
    r = rows.subquery("chain")
    broken = (
        select(r)
        .where(
            or_(
                and_(r.c.prev_seq.is_(None), r.c.seq != p.first_seq),
                r.c.seq != r.c.prev_seq + 1,
                func.coalesce(r.c.prev_row_hash, literal(p.genesis_hash)).is_distinct_from(r.c.prev_hash),
            )
        )
        .order_by(r.c.seq)
        .limit(100_000)
    )
    stats = select(func.count(), func.max(seq)).where(seq.is_not(None))  # straight from the table: no hashing
    if head is not None:
        stats = stats.where(seq <= head["seq"])
    count, last_seq = conn.execute(stats).one()
    last_hash = p.genesis_hash
    if last_seq is not None:
        last_hash = conn.execute(select(hash_col).where(seq == last_seq).limit(1)).scalar_one()
    problems: list[tuple[int | None, str]] = []
    for row in conn.execute(broken).mappings():
        n, before = row["seq"], row["prev_seq"]
        expected = p.first_seq if before is None else before + 1
        gap = n != expected
        if gap and n > expected:
            lost = f"{expected}" if n - expected == 1 else f"{expected}..{n - 1}"
            problems.append((expected, f"seq {lost} missing (deleted) before seq {n}"))
        elif gap:
            problems.append((n, f"seq {n} out of order or duplicated (after seq {before})"))
        if not gap and (row["prev_row_hash"] or p.genesis_hash) != row["prev_hash"]:
            problems.append((n, f"seq {n}: prev_hash does not match the hash of the record before it"))
    # the hashes: a plain scan the database may run in parallel (no window), returning only mismatches
    mismatched = select(seq).where(seq.is_not(None), db_hash.is_distinct_from(hash_col)).order_by(seq).limit(100_000)
    if head is not None:
        mismatched = mismatched.where(seq <= head["seq"])
    # PostgreSQL's planner expects nearly every row to pass the filter and prices shipping them between
    # processes too high to scan in parallel; only mismatches come back, so tell it tuples are cheap (this
    # transaction only). Measured at 1M records on 2 cores: 5.1-5.7 s serial, 3.1-3.2 s parallel.
    conn.exec_driver_sql("SET LOCAL parallel_tuple_cost = 0.001")
    suspects = list(conn.execute(mismatched).scalars())
    return broken, count, last_seq, last_hash, problems, suspects


def _postgres_hash(engine: Any, prev_col: Any, fields: list[Any]) -> Any | None:
    """On PostgreSQL, the SQL expression of a record's hash: sha256 of the same compact JSON text Python builds
    (strings through to_json, integers as text, timestamps as UTC ISO with microseconds). None elsewhere, or
    when a field has a type this does not cover (then Python hashes every record)."""
    from sqlalchemy import DateTime, Integer, String, Text, cast, func, literal

    if engine.dialect.name != "postgresql":
        return None

    def piece(col: Any) -> Any:
        if isinstance(col.type, Integer):
            return func.coalesce(cast(col, Text), "null")
        if isinstance(col.type, String):
            return func.coalesce(cast(func.to_json(col), Text), "null")
        if isinstance(col.type, DateTime):
            utc_time = func.timezone("UTC", col) if col.type.timezone else col
            text = func.to_char(utc_time, 'YYYY-MM-DD"T"HH24:MI:SS.US')
            return func.coalesce(literal('"') + text + literal('+00:00"'), "null")
        raise TypeError(col.type)

    try:
        parts = [piece(prev_col), *(piece(f) for f in fields)]
    except TypeError:
        return None
    joined = [literal("[")]
    for i, part in enumerate(parts):
        joined += [literal(",")] if i else []
        joined.append(part)
    joined.append(literal("]"))
    return func.encode(func.sha256(func.convert_to(func.concat(*joined), "UTF8")), "hex")


def _chain_head(engine: Any, p: ChainParams, name: str) -> dict[str, Any] | None:
    from sqlalchemy import select

    table = reflect(engine, p.head_table or "", f"store {name!r}")
    seq, hsh = column(table, p.head_seq_column, name), column(table, p.head_hash_column, name)
    rows = fetch(engine, select(seq, hsh).order_by(seq.desc()).limit(1), f"store {name!r}")
    return {"seq": rows[0][seq.name], "hash": rows[0][hsh.name]} if rows else None


__all__ = [
    "ChainParams",
    "ScriptedAction",
    "TrailParams",
    "canonical",
    "chain_hash",
    "hash_chain",
    "trail_completeness",
]
