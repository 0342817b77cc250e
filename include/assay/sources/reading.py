"""What every reader of a data source shares: the error it raises, the default chunk size, and how the
requested columns are chosen. No pandas here: this module is imported when a config is validated."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from assay.errors import TargetError

DEFAULT_CHUNK_ROWS = 100_000


class DataSourceError(TargetError):
    """A data source could not be read (missing file, bad format, failing query); the run is ERROR.

    Retryable, as every TargetError: the file may land or the database come back before the next try.
    """


def select_columns(available: Iterable[str], columns: Sequence[str] | None) -> list[str]:
    """The requested columns that exist, in the requested order (all of them when ``columns`` is None)."""
    available = list(available)
    if columns is None:
        return available
    present = set(available)
    return list(dict.fromkeys(c for c in columns if c in present))


def check_unique(names: Iterable[str], label: str) -> None:
    seen: set[str] = set()
    dupes = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if dupes:
        raise DataSourceError(f"{label}: duplicate column name(s) {dupes}; rename them so each column is unique")


def missing_file(path: str | Path) -> DataSourceError:
    return DataSourceError(f"dataset file {path} does not exist (no such file or directory; check the source's 'path')")
