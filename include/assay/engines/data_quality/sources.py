"""Where a dataset comes from: a CSV or Parquet file, or a SQL query through a SQLAlchemy engine.

The engine is the caller's (the Airflow operator builds it from a connection), so no credentials
pass through here. Everything is loaded into pandas and validated by :mod:`.runner`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from assay.errors import ConfigError, TargetError

SourceKind = Literal["csv", "parquet", "sql"]
_KINDS = ("csv", "parquet", "sql")


@dataclass(frozen=True)
class DatasetSource:
    """One dataset to validate.

    :param kind: ``csv``, ``parquet`` or ``sql``.
    :param path: file path (csv, parquet).
    :param query: SQL text (sql); run with :func:`sqlalchemy.text`, ``params`` bound.
    :param conn_id: the Airflow connection the operator turns into a SQLAlchemy engine (sql); unused here.
    :param name: what to call the data in results; default: the file name or ``sql:<conn_id>``.
    :param read_options: extra keyword arguments for ``pd.read_csv`` / ``pd.read_parquet``.
    """

    kind: SourceKind
    path: str | None = None
    query: str | None = None
    conn_id: str | None = None
    name: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    read_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ConfigError(f"dataset source kind {self.kind!r} is not one of {list(_KINDS)}")
        if self.kind in ("csv", "parquet"):
            if not self.path:
                raise ConfigError(f"a {self.kind} dataset source needs 'path'")
            if self.query:
                raise ConfigError(f"a {self.kind} dataset source takes 'path', not 'query'")
        if self.kind == "sql":
            if not self.query or not self.query.strip():
                raise ConfigError("a sql dataset source needs 'query'")
            if self.path:
                raise ConfigError("a sql dataset source takes 'query', not 'path'")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetSource:
        """From config (e.g. an operator argument); unknown keys are an error."""
        allowed = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ConfigError(f"dataset source: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
        if "kind" not in data:
            raise ConfigError(f"dataset source needs 'kind' (one of {list(_KINDS)})")
        return cls(**dict(data))

    @property
    def data_name(self) -> str:
        if self.name:
            return self.name
        if self.kind == "sql":
            return f"sql:{self.conn_id or 'engine'}"
        return Path(str(self.path)).name


def load_dataset(source: DatasetSource, *, engine: Any = None) -> pd.DataFrame:
    """Read the source into a DataFrame; an unreadable source raises :class:`TargetError` saying why."""
    if source.kind == "sql":
        return _read_sql(source, engine)
    path = Path(str(source.path))
    if not path.is_file():
        raise TargetError(f"dataset file {path} does not exist (source {source.data_name!r})")
    try:
        if source.kind == "csv":
            return pd.read_csv(path, **source.read_options)
        return pd.read_parquet(path, **source.read_options)
    except Exception as exc:  # noqa: BLE001 - any reader error means the file cannot be validated
        raise TargetError(f"cannot read {source.kind} dataset {path}: {type(exc).__name__}: {exc}") from exc


def _read_sql(source: DatasetSource, engine: Any) -> pd.DataFrame:
    if engine is None:
        raise ConfigError(
            f"sql dataset {source.data_name!r} needs a SQLAlchemy engine (built by the operator "
            f"from connection {source.conn_id!r})"
        )
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with engine.connect() as conn:
            return pd.read_sql_query(text(source.query), conn, params=source.params or None)
    except (SQLAlchemyError, pd.errors.DatabaseError) as exc:
        root = exc.__cause__ if isinstance(exc.__cause__, SQLAlchemyError) else exc  # pandas wraps SQLAlchemy's
        orig = getattr(root, "orig", None) or root
        detail = " ".join(str(orig).split())
        raise TargetError(f"query for dataset {source.data_name!r} failed: {type(orig).__name__}: {detail}") from exc
