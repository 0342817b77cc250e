"""Where tabular data comes from: one spec for every engine that reads it (drift and performance decay,
data quality, golden datasets, model validation's evaluation files, A/B outcomes).

The shape, in ``assay.yaml`` or wherever a source is configured::

    {kind: parquet, path: /data/current.parquet}         # a file, or a directory of *.parquet files
    {kind: csv, path: /data/outcomes.csv, read_options: {sep: ";"}}
    {kind: sql, conn_id: warehouse, query: "SELECT * FROM scored WHERE day = :day", params: {day: "2026-01-05"}}

with optional ``name`` (what results call the data) and ``chunk_rows`` (rows per chunk). Usage::

    from assay.sources import DataSource

    source = DataSource.from_dict(spec)          # validated once: a ConfigError says what to fix
    frame = source.read(columns=["amount"])      # the whole table
    for chunk in source.iter_chunks(chunk_rows=50_000):  # Parquet row groups, CSV blocks, SQL pages
        ...

``read()`` and ``iter_chunks()`` give the same rows (``pd.concat`` of the chunks equals the whole, up to
the dtype pandas infers for a chunk that holds only missing values), the requested columns that exist in
the requested order. A file that does not exist is no config error (data lands later) but a
:class:`DataSourceError` when read, naming the path: the run is ERROR, never PASS.

SQL: engines never read Airflow connections. A sql source carries ``engine`` (an Engine, a URL or a
factory returning an Engine), injected by the Airflow layer in one place, ``assay_airflow.hooks.sql``.

Why this room (``assay.sources``, beside ``assay.errors`` and ``assay.status``, not inside an engine):
several engines read the same sources, so the spec belongs to none of them; it imports no engine, so
every engine and ``assay.config`` can use it without an import circle; and importing it loads no pandas,
pyarrow or SQLAlchemy (they load when data is read), so validating ``assay.yaml`` at DAG parse stays cheap.
"""

from __future__ import annotations

from assay.sources.frame import FrameSource, TableSource, as_source
from assay.sources.reading import DEFAULT_CHUNK_ROWS, DataSourceError
from assay.sources.spec import CONFIG_KEYS, KINDS, DataSource

__all__ = [
    "CONFIG_KEYS",
    "DEFAULT_CHUNK_ROWS",
    "KINDS",
    "DataSource",
    "DataSourceError",
    "FrameSource",
    "TableSource",
    "as_source",
]
