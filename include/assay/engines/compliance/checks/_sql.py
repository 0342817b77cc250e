"""Shared helpers of the compliance checks: reflected tables, bound-parameter queries with their text as
evidence, UTC normalisation, the platform's named SQL connection.

Table and column names come from the inventory or the check's params and are never pasted into SQL text:
tables are reflected (``Table(..., autoload_with=engine)``) and queried through SQLAlchemy Core, so every
value (a subject id like ``x'; DROP TABLE t;--``) is a bound parameter and every name a quoted identifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from assay.errors import ConfigError, TargetError

if TYPE_CHECKING:
    from sqlalchemy import Column, Table
    from sqlalchemy.engine import Engine
    from sqlalchemy.sql import Executable

    from assay.engines.compliance.model import CheckContext, Evidence

MAX_EVIDENCE_ROWS = 50


class Params(BaseModel):
    """Base of every check's params: unknown keys are an error."""

    model_config = ConfigDict(extra="forbid")


def connection_name(ctx: CheckContext, explicit: str | None) -> str:
    """``explicit``, or the inventory's only SQL connection; a ConfigError when that is ambiguous."""
    if explicit:
        return explicit
    names = ctx.inventory.connections() if ctx.inventory is not None else []
    if len(names) == 1:
        return names[0]
    raise ConfigError(
        "set the check's 'connection' param: the inventory names "
        + (f"{len(names)} SQL connections ({', '.join(names)})" if names else "no SQL connection")
    )


def reflect(engine: Engine, table: str, where: str) -> Table:
    """The table as the database has it (``schema.table`` allowed); a TargetError naming ``where`` if absent."""
    from sqlalchemy import MetaData, Table
    from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

    schema, _, name = table.rpartition(".")
    try:
        return Table(name, MetaData(), schema=schema or None, autoload_with=engine)
    except NoSuchTableError:
        raise TargetError(f"{where}: table {table!r} does not exist", retryable=False) from None
    except SQLAlchemyError as exc:
        raise TargetError(f"{where}: cannot read table {table!r}: {type(exc).__name__}: {exc}") from None


def column(table: Table, name: str, where: str) -> Column[Any]:
    try:
        return table.c[name]
    except KeyError:
        known = ", ".join(c.name for c in table.columns)
        raise TargetError(
            f"{where}: table {table.name!r} has no column {name!r} (columns: {known})", retryable=False
        ) from None


def query_text(engine: Engine, statement: Executable) -> str:
    """The statement's SQL as sent (placeholders, not values) and its bound parameters."""
    compiled = statement.compile(dialect=engine.dialect)
    params = {k: jsonable(v) for k, v in compiled.params.items()}
    return f"{compiled} -- params {params}" if params else str(compiled)


def fetch(engine: Engine, statement: Executable, where: str) -> list[dict[str, Any]]:
    """Run a query; rows as dicts. A database error is a TargetError naming ``where``."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(statement)]
    except SQLAlchemyError as exc:
        raise TargetError(f"{where}: query failed: {type(exc).__name__}: {exc}") from None


def sql_evidence(ctx: CheckContext, name: str, engine: Engine, statement: Executable, rows: Sequence[dict]) -> Evidence:
    """Evidence of one query: its text and parameters, the row count and (up to 50) rows."""
    return ctx.evidence(
        name,
        "sql",
        query_text(engine, statement),
        {"row_count": len(rows), "rows": [jsonable(r) for r in rows[:MAX_EVIDENCE_ROWS]]},
    )


def utc(value: Any) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (naive ones, as SQLite returns them, are UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def jsonable(value: Any) -> Any:
    """JSON-safe copy of query results (datetimes as ISO strings, bytes as hex)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value


def listed(items: Sequence[Any], limit: int = 10) -> str:
    """``a, b, c`` or ``a, b, ... (+8 more)`` for a one-line message."""
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")
