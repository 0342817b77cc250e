"""Where the numeric values of a column wait between the chunked read and the per-column evaluation.

``MemorySpool`` keeps the chunks' arrays (for a DataFrame source, views of the caller's data: no copy);
``DiskSpool`` appends them as raw float64 to one file per column under a temporary directory, so only one
column (per worker thread) is in memory at a time. Both return exactly the values appended, in order, so
results do not depend on the spool. ``parts`` reads a column piece by piece without joining it;
``take_sorted`` hands over the column sorted (one copy) and forgets it, so its memory goes with the caller.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

#: Values per piece when a disk spool is read piece by piece.
READ_BLOCK = 1 << 20


class MemorySpool:
    def __init__(self) -> None:
        self._parts: dict[str, list[np.ndarray]] = {}

    def append(self, key: str, values: np.ndarray) -> None:
        if values.size:
            self._parts.setdefault(key, []).append(values)

    def take(self, key: str) -> np.ndarray:
        parts = self._parts.get(key, [])
        if not parts:
            return np.empty(0, dtype=np.float64)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def parts(self, key: str) -> Iterator[np.ndarray]:
        yield from list(self._parts.get(key, []))

    def take_sorted(self, key: str) -> np.ndarray:
        parts = self._parts.pop(key, [])
        if not parts:
            return np.empty(0, dtype=np.float64)
        if len(parts) == 1:
            return np.sort(parts[0])
        joined = np.concatenate(parts)
        del parts
        joined.sort()
        return joined

    def put(self, key: str, values: np.ndarray) -> None:
        self._parts[key] = [values]

    def drop(self, key: str) -> None:
        self._parts.pop(key, None)

    def close(self) -> None:
        self._parts.clear()


class DiskSpool:
    def __init__(self, parent: str | None = None) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="assay-drift-", dir=parent))
        self._files: dict[str, Path] = {}
        self._lock = threading.Lock()

    def _path(self, key: str) -> Path:
        with self._lock:
            if key not in self._files:
                self._files[key] = self._dir / f"{len(self._files)}.f64"
            return self._files[key]

    def append(self, key: str, values: np.ndarray) -> None:
        with open(self._path(key), "ab") as fh:
            np.ascontiguousarray(values, dtype=np.float64).tofile(fh)

    def take(self, key: str) -> np.ndarray:
        path = self._path(key)
        return np.fromfile(path, dtype=np.float64) if path.exists() else np.empty(0, dtype=np.float64)

    def parts(self, key: str) -> Iterator[np.ndarray]:
        path = self._path(key)
        if not path.exists():
            return
        with open(path, "rb") as fh:
            while True:
                block = np.fromfile(fh, dtype=np.float64, count=READ_BLOCK)
                if not block.size:
                    return
                yield block

    def take_sorted(self, key: str) -> np.ndarray:
        values = self.take(key)
        self.drop(key)
        values.sort()
        return values

    def put(self, key: str, values: np.ndarray) -> None:
        with open(self._path(key), "wb") as fh:
            np.ascontiguousarray(values, dtype=np.float64).tofile(fh)

    def drop(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


def make_spool(mode: str, parent: str | None = None) -> MemorySpool | DiskSpool:
    return DiskSpool(parent) if mode == "disk" else MemorySpool()
