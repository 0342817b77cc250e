"""Where test-data snapshots live and how one is published: written aside, then moved into place whole.

Layout under the snapshot root (``test_data.snapshot_dir``, default ``$ASSAY_HOME/test-data``)::

    <dataset>/<step>/<snapshot id>/data.parquet     # step: synthetic | sample
    <dataset>/<step>/<snapshot id>/manifest.json    # dataset, step, id, created_at, rows, bytes, sha256, detail

A snapshot id is its UTC creation time, ``20261207T020000Z``, plus a short random suffix. A step writes into
:func:`staging_dir` (``<dataset>/<step>/.staging-<id>``, never listed) and calls :func:`publish` only once
its checks passed (the leak check, for a sample): the directory is renamed into place, so a reader never sees
half a snapshot and a failed check publishes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["DATA_FILE", "MANIFEST", "Snapshot", "discard", "list_snapshots", "publish", "snapshot_root", "staging_dir"]

DATA_FILE = "data.parquet"
MANIFEST = "manifest.json"
_STAGING = ".staging-"


def snapshot_root(configured: str | os.PathLike[str] | None) -> Path:
    """``test_data.snapshot_dir``, else ``$ASSAY_HOME/test-data``."""
    if configured:
        return Path(configured)
    from assay.paths import assay_home

    return assay_home() / "test-data"


@dataclass(frozen=True)
class Snapshot:
    dataset: str
    step: str
    id: str
    path: Path
    created_at: datetime
    manifest: dict[str, Any]

    @property
    def data(self) -> Path:
        return self.path / DATA_FILE

    @property
    def bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())


def staging_dir(root: Path, dataset: str, step: str, now: datetime | None = None) -> tuple[Path, str, datetime]:
    """A fresh staging directory for a snapshot of ``dataset``/``step``; returns it, the snapshot id and its time."""
    now = now or datetime.now(UTC)
    snap_id = f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"
    path = Path(root) / dataset / step / f"{_STAGING}{snap_id}"
    path.mkdir(parents=True)
    return path, snap_id, now


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def publish(
    staging: Path,
    *,
    dataset: str,
    step: str,
    snap_id: str,
    created_at: datetime,
    rows: int,
    detail: dict[str, Any] | None = None,
) -> Snapshot:
    """Write the manifest and move ``staging`` into place as snapshot ``snap_id``."""
    data = staging / DATA_FILE
    manifest = {
        "dataset": dataset,
        "step": step,
        "id": snap_id,
        "created_at": created_at.isoformat(),
        "rows": int(rows),
        "bytes": data.stat().st_size if data.exists() else 0,
        "sha256": file_sha256(data) if data.exists() else None,
        "detail": detail or {},
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str), encoding="utf-8")
    final = staging.parent / snap_id
    os.replace(staging, final)
    return Snapshot(dataset, step, snap_id, final, created_at, manifest)


def discard(staging: Path) -> None:
    """Remove a staging directory whose snapshot must not be published."""
    shutil.rmtree(staging, ignore_errors=True)


def list_snapshots(root: Path, dataset: str | None = None, step: str | None = None) -> list[Snapshot]:
    """Every published snapshot under ``root`` (of one dataset / step when given), oldest first."""
    out: list[Snapshot] = []
    root = Path(root)
    if not root.is_dir():
        return out
    for ds_dir in sorted(p for p in root.iterdir() if p.is_dir() and (dataset is None or p.name == dataset)):
        for step_dir in sorted(p for p in ds_dir.iterdir() if p.is_dir() and (step is None or p.name == step)):
            for snap in sorted(step_dir.iterdir()):
                if not snap.is_dir() or snap.name.startswith(_STAGING) or not (snap / MANIFEST).is_file():
                    continue
                manifest = json.loads((snap / MANIFEST).read_text(encoding="utf-8"))
                created = datetime.fromisoformat(manifest["created_at"])
                out.append(Snapshot(ds_dir.name, step_dir.name, snap.name, snap, created, manifest))
    return sorted(out, key=lambda s: s.created_at)
