"""Data already in memory as a source, the protocol every source follows, and ``as_source``.

An engine that reads tables (drift, performance decay) takes a :class:`TableSource`: a
:class:`~assay.sources.DataSource` from config, a :class:`FrameSource` wrapping a DataFrame (tests, callers
that hold the data), or any object with the same three members.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from assay.errors import ConfigError
from assay.sources.reading import check_unique, select_columns
from assay.sources.spec import DataSource

if TYPE_CHECKING:
    import pandas as pd


@runtime_checkable
class TableSource(Protocol):
    """A table read whole or in chunks; ``label`` names it in messages."""

    @property
    def label(self) -> str: ...

    def read(self, columns: Sequence[str] | None = None) -> pd.DataFrame: ...

    def iter_chunks(
        self, columns: Sequence[str] | None = None, chunk_rows: int | None = None
    ) -> Iterator[pd.DataFrame]: ...


@dataclass(frozen=True)
class FrameSource:
    """An in-memory DataFrame, whole or (for tests of the chunked path) in slices of ``chunk_rows``."""

    frame: pd.DataFrame = field(repr=False)
    chunk_rows: int | None = None
    label: str = "DataFrame"

    def read(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        check_unique([str(c) for c in self.frame.columns], self.label)
        return self.frame[select_columns(self.frame.columns, columns)]

    def iter_chunks(
        self, columns: Sequence[str] | None = None, chunk_rows: int | None = None
    ) -> Iterator[pd.DataFrame]:
        frame = self.read(columns)
        rows = chunk_rows or self.chunk_rows
        if not rows or len(frame) <= rows:
            yield frame
            return
        for start in range(0, len(frame), rows):
            yield frame.iloc[start : start + rows]


def as_source(data: Any) -> TableSource:
    """A source for a DataFrame, a ``.parquet``/``.csv`` path (or a directory of Parquet files), a config
    mapping (``{kind: ..., ...}``), or a source as it is."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return FrameSource(data)
    if isinstance(data, TableSource):
        return data
    if isinstance(data, str | os.PathLike):
        return DataSource.from_path(data)
    if isinstance(data, dict):
        return DataSource.from_dict(data)
    raise ConfigError(f"unsupported data {type(data).__name__}: give a DataFrame, a path, a DataSource or its mapping")
