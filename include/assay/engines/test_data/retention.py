"""Retention: delete a dataset's test-data snapshots older than its ``retention_days`` and record each deletion
(what, when it was made, when deleted, why, how big) as a :class:`~assay.store.records.DeletionRecord`; the
compliance audit's storage-limitation control reads them (``retention.test_data_snapshots``).

A snapshot is deleted when ``now - created_at > retention_days`` (its manifest's creation time: the file
times can be touched by a copy). A snapshot that cannot be deleted (permissions, a busy mount) is ERROR: data
kept past its retention is exactly what the control must not pass; what was deleted before it is still
recorded. Staging directories left by a crashed step are removed too (they were never published).
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from assay.engines.test_data.snapshots import list_snapshots
from assay.results import Result
from assay.status import Status
from assay.store.records import CheckRecord, DeletionRecord, MetricRecord

__all__ = ["run_retention"]

KIND = "test_data"


def run_retention(dataset: str, retention_days: int, snapshot_root: Path, *, now: datetime | None = None) -> Result:
    """Delete ``dataset``'s snapshots older than ``retention_days`` under ``snapshot_root``."""
    started = datetime.now(UTC)
    now = now or started
    cutoff = now - timedelta(days=retention_days)
    reason = f"older than the dataset's retention_days={retention_days} (created before {cutoff.isoformat()})"
    deletions: list[DeletionRecord] = []
    failures: list[str] = []
    kept = []
    for snap in list_snapshots(snapshot_root, dataset):
        if snap.created_at >= cutoff:
            kept.append(snap)
            continue
        size = snap.bytes
        try:
            shutil.rmtree(snap.path)
        except OSError as exc:
            failures.append(f"{snap.step}/{snap.id}: {exc.strerror or exc}")
            continue
        deletions.append(
            DeletionRecord(
                dataset=dataset,
                item=f"{snap.step}/{snap.id}",
                path=str(snap.path),
                created_at=snap.created_at,
                deleted_at=datetime.now(UTC),
                reason=reason,
                bytes=size,
                rows=snap.manifest.get("rows"),
                sha256=snap.manifest.get("sha256"),
            )
        )
    stale = _remove_stale_staging(Path(snapshot_root) / dataset, cutoff)
    oldest_days = max(((now - s.created_at).total_seconds() / 86400 for s in kept), default=0.0)
    checks = [
        CheckRecord(
            "nothing_past_retention",
            Status.ERROR if failures else Status.PASS,
            observed=float(len(failures)),
            threshold=0.0,
            comparator="<=",
            message=(
                f"{len(failures)} expired snapshot(s) could not be deleted: {'; '.join(failures)[:600]}"
                if failures
                else f"no snapshot of {dataset} older than {retention_days} days is left"
            ),
        )
    ]
    metrics = [
        MetricRecord("test_data.snapshots_deleted", float(len(deletions)), "count"),
        MetricRecord("test_data.bytes_deleted", float(sum(d.bytes for d in deletions)), "bytes"),
        MetricRecord("test_data.snapshots_kept", float(len(kept)), "count"),
        MetricRecord("test_data.oldest_kept_days", round(oldest_days, 3), "d"),
    ]
    status = checks[0].status
    message = (
        f"{dataset}: deleted {len(deletions)} snapshot(s) past {retention_days} days, kept {len(kept)}"
        if not failures
        else checks[0].message
    )
    return Result(
        name=f"{dataset}:retention",
        kind=KIND,
        status=status,
        message=message,
        started_at=started,
        finished_at=datetime.now(UTC),
        checks=checks,
        metrics=metrics,
        deletions=deletions,
        summary={
            "retention_days": retention_days,
            "cutoff": cutoff.isoformat(),
            "kept": [f"{s.step}/{s.id}" for s in kept],
            "stale_staging_removed": stale,
        },
    )


def _remove_stale_staging(dataset_dir: Path, cutoff: datetime) -> list[str]:
    """Staging directories of steps that never published, older than the cut-off (by modification time)."""
    removed = []
    if not dataset_dir.is_dir():
        return removed
    for staging in dataset_dir.glob("*/.staging-*"):
        if datetime.fromtimestamp(staging.stat().st_mtime, UTC) < cutoff:
            shutil.rmtree(staging, ignore_errors=True)
            removed.append(str(staging.relative_to(dataset_dir)))
    return removed
