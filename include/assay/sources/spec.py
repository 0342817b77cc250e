"""``DataSource``: the one data-source spec, validated once; ``read()`` and ``iter_chunks()`` dispatch by kind.

Validation needs no pandas, pyarrow or SQLAlchemy (they load when data is read), so ``assay.config`` can
check every source of ``assay.yaml`` at load time without making a DAG file slow to parse.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

KINDS = ("parquet", "csv", "sql")
FILE_KINDS = ("parquet", "csv")
CONFIG_KEYS = ("kind", "path", "query", "conn_id", "params", "read_options", "name", "chunk_rows")
# Arguments of the pandas reader that Assay sets itself: where to read, the chunking, the column choice.
RESERVED_READ_OPTIONS = {
    "csv": frozenset({"filepath_or_buffer", "chunksize", "iterator", "usecols"}),
    "sql": frozenset({"sql", "con", "params", "chunksize"}),
}
_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz", ".csv.zst")
_PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True)
class DataSource:
    """Where a table comes from; see :mod:`assay.sources` for the config shape.

    :param kind: ``parquet`` (a file, or a directory of ``*.parquet`` files), ``csv`` or ``sql``.
    :param path: the file or directory (parquet, csv).
    :param query: the SQL text (sql), run with :func:`sqlalchemy.text`; ``params`` are bound to it.
    :param conn_id: the Airflow connection a sql source queries; the Airflow layer turns it into ``engine``.
    :param params: bound parameters of ``query`` (sql).
    :param read_options: keyword arguments of ``pandas.read_csv`` (csv) or ``pandas.read_sql_query`` (sql);
        a parquet source takes none (its row groups are read as they are).
    :param name: what results call the data; default: the file name, or ``sql:<conn_id>``.
    :param chunk_rows: rows per chunk of ``iter_chunks`` (default: Parquet's row groups, else 100,000).
    :param engine: for sql, a SQLAlchemy Engine (the caller's, never disposed here), a URL, or a factory
        returning an Engine (made for each read and disposed after). Never part of a config file.
    """

    kind: str
    path: str | None = None
    query: str | None = None
    conn_id: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    read_options: Mapping[str, Any] = field(default_factory=dict)
    name: str | None = None
    chunk_rows: int | None = None
    engine: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"dataset source kind {self.kind!r} is not one of {list(KINDS)}")
        if isinstance(self.path, os.PathLike):
            object.__setattr__(self, "path", os.fspath(self.path))
        for key in ("path", "query", "conn_id", "name"):
            value = getattr(self, key)
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"a {self.kind} dataset source's {key!r} must be a string, got {value!r}")
        for key in ("params", "read_options"):
            value = getattr(self, key)
            if value is None:
                value = {}
            if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
                raise ConfigError(f"a {self.kind} dataset source's {key!r} must be a mapping of names to values")
            object.__setattr__(self, key, dict(value))
        rows = self.chunk_rows
        if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 1):
            raise ConfigError(f"dataset source ({self.kind}): chunk_rows must be a positive integer, got {rows!r}")
        if self.kind in FILE_KINDS:
            self._check_file_source()
        else:
            self._check_sql_source()
        reserved = sorted(RESERVED_READ_OPTIONS.get(self.kind, frozenset()) & set(self.read_options))
        if reserved:
            raise ConfigError(
                f"a {self.kind} dataset source's read_options must not set {reserved}: Assay chooses the data, "
                "the chunks and the columns itself"
            )

    def _check_file_source(self) -> None:
        if not self.path:
            what = "a file or a directory of .parquet files" if self.kind == "parquet" else "a file"
            raise ConfigError(f"a {self.kind} dataset source needs 'path' ({what})")
        if self.query:
            raise ConfigError(f"a {self.kind} dataset source takes 'path', not 'query'")
        for key in ("conn_id", "params", "engine"):
            if getattr(self, key):
                raise ConfigError(f"a {self.kind} dataset source takes no {key!r} (only a sql source does)")
        if self.kind == "parquet" and self.read_options:
            raise ConfigError(
                "a parquet dataset source takes no 'read_options': its row groups are read as they are "
                "(the check chooses the columns)"
            )

    def _check_sql_source(self) -> None:
        if self.query is None or not self.query.strip():
            raise ConfigError("a sql dataset source needs 'query' (the query is empty)")
        if self.path:
            raise ConfigError("a sql dataset source takes 'query', not 'path'")
        if not self.conn_id and self.engine is None:
            raise ConfigError("a sql dataset source needs 'conn_id' (the Airflow connection it queries)")

    # -- construction --------------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Any, *, engine: Any = None) -> DataSource:
        """From config (``assay.yaml``, an operator argument); unknown keys are an error. ``engine`` is the
        SQLAlchemy Engine, URL or factory of a sql source (the caller's; config never holds one)."""
        if isinstance(data, DataSource):
            return data if engine is None else data.with_engine(engine)
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"a dataset source is a mapping such as {{kind: parquet, path: ...}}, not {type(data).__name__}"
            )
        unknown = sorted(set(data) - set(CONFIG_KEYS))
        if unknown:
            raise ConfigError(f"dataset source: unknown key(s) {unknown}; allowed: {sorted(CONFIG_KEYS)}")
        if "kind" not in data:
            raise ConfigError(f"dataset source needs 'kind' (one of {list(KINDS)})")
        return cls(**dict(data), engine=engine)

    @classmethod
    def from_path(cls, path: str | os.PathLike[str], **fields: Any) -> DataSource:
        """A file source whose kind the path tells: a directory or ``.parquet``/``.pq`` file is parquet, a
        ``.csv`` file (also compressed: ``.csv.gz``, ...) is csv; any other path is a ConfigError."""
        p = Path(path)
        name = p.name.lower()
        if p.is_dir() or name.endswith(_PARQUET_SUFFIXES):
            return cls(kind="parquet", path=str(p), **fields)
        if name.endswith(_CSV_SUFFIXES):
            return cls(kind="csv", path=str(p), **fields)
        raise ConfigError(
            f"cannot tell the format of {str(p)!r}: give a path ending in .csv or .parquet (or a directory of "
            ".parquet files), or a source with 'kind'"
        )

    def with_engine(self, engine: Any) -> DataSource:
        """The same sql source reading through ``engine`` (an Engine, a URL or a factory returning an Engine)."""
        return replace(self, engine=engine)

    # -- naming ----------------------------------------------------------------------------------------------

    @property
    def data_name(self) -> str:
        """What results call the data: ``name``, else the file name, else ``sql:<conn_id>``."""
        if self.name:
            return self.name
        if self.kind == "sql":
            return f"sql:{self.conn_id or 'engine'}"
        return Path(str(self.path)).name

    @property
    def label(self) -> str:
        """The source in messages: kind and path, or the database (never its password) and the query."""
        if self.kind in FILE_KINDS:
            return f"{self.kind} {self.path}"
        query = " ".join(str(self.query).split())
        return f"sql {self._database()}: {query[:80]}{'…' if len(query) > 80 else ''}"

    def _database(self) -> str:
        if self.conn_id:
            return f"connection {self.conn_id!r}"
        url = getattr(self.engine, "url", self.engine)
        if callable(url):
            return "<database>"
        try:
            from sqlalchemy.engine import make_url

            return make_url(url).render_as_string(hide_password=True)
        except Exception:  # noqa: BLE001 - a label must never fail, and never shows a raw URL with a password
            return "<database>"

    # -- reading ---------------------------------------------------------------------------------------------

    def read(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The whole table: the requested ``columns`` that exist, in that order (all when None).

        Raises :class:`~assay.sources.DataSourceError` (retryable) when the data cannot be read: a missing
        file (naming its path), a damaged one, a failing query; ConfigError when the source cannot work.
        """
        if self.kind == "sql":
            from assay.sources.sql import read_sql

            return read_sql(self, columns)
        from assay.sources.files import read_csv, read_parquet

        return (read_parquet if self.kind == "parquet" else read_csv)(self, columns)

    def iter_chunks(
        self, columns: Sequence[str] | None = None, chunk_rows: int | None = None
    ) -> Iterator[pd.DataFrame]:
        """The table in pieces of about ``chunk_rows`` rows (default: the spec's ``chunk_rows``, else Parquet
        row groups or 100,000 rows): Parquet row groups or batches, CSV blocks, SQL pages streamed with a
        server-side cursor. At least one frame, empty when the table is. Columns and errors as :meth:`read`."""
        rows = self.chunk_rows if chunk_rows is None else chunk_rows
        if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 1):
            raise ConfigError(f"{self.label}: chunk_rows must be a positive integer, got {rows!r}")
        if self.kind == "sql":
            from assay.sources.sql import iter_sql

            return iter_sql(self, columns, rows)
        from assay.sources.files import iter_csv, iter_parquet

        return (iter_parquet if self.kind == "parquet" else iter_csv)(self, columns, rows)
