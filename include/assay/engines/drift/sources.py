"""Where reference and current data come from: a DataFrame, Parquet, CSV or a SQL query, read in chunks.

Every source yields pandas DataFrames holding the requested columns that exist (a missing column is
simply absent, so the engine can report it per column). Chunks are Parquet row groups (or batches of
``batch_rows``), CSV blocks of ``chunk_rows`` lines, or SQL pages streamed with a server-side cursor
(``stream_results`` + ``yield_per``: no LIMIT/OFFSET paging). A source that cannot be read raises
:class:`DataSourceError` with what to fix.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from assay.errors import ConfigError, TargetError

DEFAULT_CHUNK_ROWS = 100_000


class DataSourceError(TargetError):
    """A data source could not be read (missing file, bad format, failing query)."""


@runtime_checkable
class DataSource(Protocol):
    """Anything that yields DataFrame chunks; ``label`` names it in messages."""

    label: str

    def iter_chunks(self, columns: Sequence[str] | None = None) -> Iterator[pd.DataFrame]: ...


def _select(available: Sequence[str], columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        return list(available)
    present = set(available)
    return [c for c in columns if c in present]


def _check_unique(names: Sequence[str], label: str) -> None:
    seen: set[str] = set()
    dupes = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if dupes:
        raise DataSourceError(f"{label}: duplicate column name(s) {dupes}; rename them so each column is unique")


@dataclass(frozen=True)
class FrameSource:
    """An in-memory DataFrame, whole or (for tests of the chunked path) in slices of ``chunk_rows``."""

    frame: pd.DataFrame = field(repr=False)
    chunk_rows: int | None = None
    label: str = "DataFrame"

    def iter_chunks(self, columns: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
        _check_unique([str(c) for c in self.frame.columns], self.label)
        frame = self.frame[_select(list(self.frame.columns), columns)]
        if not self.chunk_rows or len(frame) <= self.chunk_rows:
            yield frame
            return
        for start in range(0, len(frame), self.chunk_rows):
            yield frame.iloc[start : start + self.chunk_rows]


@dataclass(frozen=True)
class ParquetSource:
    """A Parquet file, or a directory of ``*.parquet`` files, read row group by row group via pyarrow."""

    path: str
    batch_rows: int | None = None

    @property
    def label(self) -> str:
        return f"parquet {self.path}"

    def _files(self) -> list[Path]:
        p = Path(self.path)
        if p.is_dir():
            files = sorted(p.glob("*.parquet"))
            if not files:
                raise DataSourceError(f"{self.label}: the directory holds no *.parquet file")
            return files
        if not p.is_file():
            raise DataSourceError(f"{self.label}: no such file or directory")
        return [p]

    def iter_chunks(self, columns: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        for path in self._files():
            try:
                pf = pq.ParquetFile(path)
                names = pf.schema_arrow.names
                _check_unique(names, self.label)
                cols = _select(names, columns)
                if pf.metadata.num_rows == 0:
                    yield pf.schema_arrow.empty_table().select(cols).to_pandas()
                elif self.batch_rows:
                    for batch in pf.iter_batches(batch_size=self.batch_rows, columns=cols):
                        yield batch.to_pandas()
                else:
                    for i in range(pf.num_row_groups):
                        yield pf.read_row_group(i, columns=cols).to_pandas()
            except (OSError, pa.ArrowException) as exc:
                raise DataSourceError(f"{self.label}: cannot read {path.name}: {exc}") from exc


@dataclass(frozen=True)
class CsvSource:
    """A CSV file read in blocks of ``chunk_rows`` lines; ``options`` go to ``pandas.read_csv`` (e.g. ``sep``)."""

    path: str
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"csv {self.path}"

    def iter_chunks(self, columns: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
        if not Path(self.path).is_file():
            raise DataSourceError(f"{self.label}: no such file")
        wanted = None if columns is None else set(columns)
        usecols = None if wanted is None else (lambda c: c in wanted)
        try:
            with pd.read_csv(self.path, chunksize=self.chunk_rows, usecols=usecols, **dict(self.options)) as reader:
                yield from reader
        except pd.errors.EmptyDataError as exc:
            raise DataSourceError(f"{self.label}: the file is empty (no header, no rows)") from exc
        except (OSError, UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
            raise DataSourceError(f"{self.label}: cannot parse: {exc}") from exc


@dataclass(frozen=True)
class SqlSource:
    """The rows of a SQL query, streamed in pages of ``chunk_rows`` through SQLAlchemy.

    ``engine`` is a SQLAlchemy Engine (the Airflow operator builds one from a connection) or a URL; an
    engine made here from a URL is disposed of after the read.
    """

    engine: Any = field(repr=False)
    query: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    chunk_rows: int = DEFAULT_CHUNK_ROWS

    @property
    def label(self) -> str:
        url = getattr(self.engine, "url", self.engine)
        try:
            from sqlalchemy.engine import make_url

            shown = make_url(url).render_as_string(hide_password=True)
        except Exception:  # noqa: BLE001 - a label must never fail; never show a raw URL with a password
            shown = "<database>"
        query = " ".join(self.query.split())
        return f"sql {shown}: {query[:80]}{'…' if len(query) > 80 else ''}"

    def iter_chunks(self, columns: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
        from sqlalchemy import create_engine, text
        from sqlalchemy.exc import SQLAlchemyError

        owned = isinstance(self.engine, str) or not hasattr(self.engine, "connect")
        try:
            engine = create_engine(self.engine) if owned else self.engine
        except (SQLAlchemyError, ValueError, ImportError) as exc:
            raise DataSourceError(f"{self.label}: bad database URL: {exc}") from exc
        try:
            with engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=self.chunk_rows).execute(
                    text(self.query), dict(self.params)
                )
                if not result.returns_rows:
                    raise DataSourceError(f"{self.label}: the statement returns no rows; give a SELECT query")
                keys = list(result.keys())
                _check_unique(keys, self.label)
                cols = _select(keys, columns)
                produced = False
                for rows in result.partitions(self.chunk_rows):
                    produced = True
                    yield pd.DataFrame.from_records([tuple(r) for r in rows], columns=keys)[cols]
                if not produced:
                    yield pd.DataFrame(columns=cols)
        except SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise DataSourceError(f"{self.label}: query failed: {type(exc).__name__}: {detail}") from exc
        finally:
            if owned:
                engine.dispose()


def parquet_source(path: str | Path, *, batch_rows: int | None = None) -> ParquetSource:
    return ParquetSource(str(path), batch_rows)


def csv_source(path: str | Path, *, chunk_rows: int = DEFAULT_CHUNK_ROWS, **read_csv_options: Any) -> CsvSource:
    return CsvSource(str(path), chunk_rows, read_csv_options)


def sql_source(
    engine: Any, query: str, *, params: Mapping[str, Any] | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> SqlSource:
    """A query's rows from a SQLAlchemy Engine or URL (the operator passes the engine of an Airflow connection)."""
    if not isinstance(query, str) or not query.strip():
        raise ConfigError("sql_source: the query is empty")
    return SqlSource(engine, query, dict(params or {}), chunk_rows)


def as_source(data: Any) -> DataSource:
    """A DataSource for a DataFrame, a ``.parquet``/``.csv`` path (or a directory of Parquet files), or a source."""
    if isinstance(data, pd.DataFrame):
        return FrameSource(data)
    if isinstance(data, DataSource):
        return data
    if isinstance(data, str | Path):
        p = Path(data)
        if p.is_dir() or p.suffix in (".parquet", ".pq"):
            return parquet_source(p)
        if p.suffix == ".csv" or p.name.endswith((".csv.gz", ".csv.zip", ".csv.bz2")):
            return csv_source(p)
        raise ConfigError(
            f"cannot tell the format of {str(p)!r}: use a .parquet or .csv path, or parquet_source/csv_source"
        )
    raise ConfigError(f"unsupported data {type(data).__name__}: give a DataFrame, a path or a DataSource")


def source_from_spec(spec: Mapping[str, Any], *, sql_engine: Any = None) -> DataSource:
    """A source from a config mapping: ``{parquet: PATH}``, ``{csv: PATH, options: {...}}`` or
    ``{sql: QUERY, conn_id: ID, params: {...}}``, each with optional ``chunk_rows``.

    For ``sql`` the caller resolves ``conn_id`` and passes ``sql_engine`` (an Engine or URL).
    """
    kinds = [k for k in ("parquet", "csv", "sql") if k in spec]
    if len(kinds) != 1:
        raise ConfigError(f"data source {dict(spec)!r}: give exactly one of 'parquet', 'csv' or 'sql'")
    kind = kinds[0]
    allowed = {kind, "chunk_rows"} | {"csv": {"options"}, "sql": {"conn_id", "params"}, "parquet": set()}[kind]
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ConfigError(f"data source ({kind}): unknown key {unknown[0]!r}; allowed: {sorted(allowed)}")
    chunk_rows = spec.get("chunk_rows")
    if chunk_rows is not None and (isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1):
        raise ConfigError(f"data source ({kind}): chunk_rows must be a positive integer, got {chunk_rows!r}")
    if kind == "parquet":
        return parquet_source(spec["parquet"], batch_rows=chunk_rows)
    if kind == "csv":
        return csv_source(spec["csv"], chunk_rows=chunk_rows or DEFAULT_CHUNK_ROWS, **dict(spec.get("options") or {}))
    if sql_engine is None:
        raise ConfigError(f"data source (sql, conn_id={spec.get('conn_id')!r}): no database engine was given")
    return sql_source(sql_engine, spec["sql"], params=spec.get("params"), chunk_rows=chunk_rows or DEFAULT_CHUNK_ROWS)
