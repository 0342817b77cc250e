"""Parquet and CSV files of a :class:`~assay.sources.DataSource`, whole or in chunks.

Parquet: one file, or every ``*.parquet`` file of a directory in name order. ``read`` is pandas'
``read_parquet`` file by file; ``iter_chunks`` reads row groups (or batches of ``chunk_rows``) through
pyarrow, so only one row group is in memory at a time. CSV: ``pandas.read_csv`` with the source's
``read_options``, whole or in blocks of ``chunk_rows`` lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from assay.errors import ConfigError
from assay.sources.reading import DEFAULT_CHUNK_ROWS, DataSourceError, check_unique, missing_file, select_columns

if TYPE_CHECKING:
    from assay.sources.spec import DataSource


# -- Parquet ---------------------------------------------------------------------------------------------------


def _parquet_files(source: DataSource) -> list[Path]:
    path = Path(str(source.path))
    if path.is_dir():
        files = sorted(path.glob("*.parquet"))
        if not files:
            raise DataSourceError(f"parquet dataset directory {path} holds no *.parquet file")
        return files
    if not path.is_file():
        raise missing_file(path)
    return [path]


@contextmanager
def _parquet_errors(source: DataSource, file: Path) -> Iterator[None]:
    import pyarrow as pa

    try:
        yield
    except (OSError, pa.ArrowException) as exc:
        raise DataSourceError(
            f"cannot read parquet dataset {source.path}: cannot read {file.name} as Parquet: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def read_parquet(source: DataSource, columns: Sequence[str] | None) -> pd.DataFrame:
    import pyarrow.parquet as pq

    frames = []
    for file in _parquet_files(source):
        with _parquet_errors(source, file):
            names = pq.read_schema(file).names
            check_unique(names, source.label)
            wanted = None if columns is None else select_columns(names, columns)
            frames.append(pd.read_parquet(file, columns=wanted))
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def iter_parquet(source: DataSource, columns: Sequence[str] | None, chunk_rows: int | None) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    for file in _parquet_files(source):
        with _parquet_errors(source, file):
            pf = pq.ParquetFile(file)
            names = pf.schema_arrow.names
            check_unique(names, source.label)
            wanted = select_columns(names, columns)
            if pf.metadata.num_rows == 0:
                yield pf.schema_arrow.empty_table().select(wanted).to_pandas()
            elif chunk_rows:
                for batch in pf.iter_batches(batch_size=chunk_rows, columns=wanted):
                    yield batch.to_pandas()
            else:
                for i in range(pf.num_row_groups):
                    yield pf.read_row_group(i, columns=wanted).to_pandas()


# -- CSV -------------------------------------------------------------------------------------------------------


def _csv_file(source: DataSource) -> Path:
    path = Path(str(source.path))
    if path.is_dir():
        raise DataSourceError(f"dataset file {path} is a directory; a csv source reads one file")
    if not path.is_file():
        raise missing_file(path)
    return path


@contextmanager
def _csv_errors(source: DataSource) -> Iterator[None]:
    try:
        yield
    except pd.errors.EmptyDataError as exc:
        raise DataSourceError(f"cannot read csv dataset {source.path}: the file is empty (no header, no rows)") from exc
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        raise DataSourceError(f"cannot read csv dataset {source.path}: {type(exc).__name__}: {exc}") from exc


def _usecols(columns: Sequence[str] | None) -> Callable[[str], bool] | None:
    if columns is None:
        return None
    wanted = set(columns)
    return lambda name: name in wanted


def _read_csv(source: DataSource, path: Path, columns: Sequence[str] | None, **extra: Any) -> Any:
    try:
        return pd.read_csv(path, usecols=_usecols(columns), **source.read_options, **extra)
    except TypeError as exc:  # an argument read_csv does not take: the config must change, a retry cannot help
        raise ConfigError(f"{source.label}: read_options: {exc}") from exc


def read_csv(source: DataSource, columns: Sequence[str] | None) -> pd.DataFrame:
    path = _csv_file(source)
    with _csv_errors(source):
        frame = _read_csv(source, path, columns)
    return frame if columns is None else frame[select_columns(frame.columns, columns)]


def iter_csv(source: DataSource, columns: Sequence[str] | None, chunk_rows: int | None) -> Iterator[pd.DataFrame]:
    path = _csv_file(source)
    with _csv_errors(source):
        with _read_csv(source, path, columns, chunksize=chunk_rows or DEFAULT_CHUNK_ROWS) as reader:
            for chunk in reader:
                yield chunk if columns is None else chunk[select_columns(chunk.columns, columns)]
