"""Where the numeric values of a column wait between the chunked read and the per-column evaluation.

``MemorySpool`` keeps the chunks' arrays; ``DiskSpool`` appends them as raw float64 to one file per
column under a temporary directory, so only one column (per worker thread) is in memory at a time. Both
return exactly the values appended, in order, so results do not depend on the spool.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np


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

    def put(self, key: str, values: np.ndarray) -> None:
        with open(self._path(key), "wb") as fh:
            np.ascontiguousarray(values, dtype=np.float64).tofile(fh)

    def drop(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


def make_spool(mode: str, parent: str | None = None) -> MemorySpool | DiskSpool:
    return DiskSpool(parent) if mode == "disk" else MemorySpool()
