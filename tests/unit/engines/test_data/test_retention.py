"""Retention deletes exactly the snapshots past their dataset's retention, records each deletion, and is ERROR
when an expired snapshot cannot be deleted."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from assay.engines.test_data.retention import run_retention
from assay.engines.test_data.snapshots import DATA_FILE, list_snapshots, publish, staging_dir
from assay.status import Status

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)


def make(root, dataset, step, age_days, rows=10):
    when = NOW - timedelta(days=age_days)
    path, snap_id, created = staging_dir(root, dataset, step, now=when)
    pd.DataFrame({"x": range(rows)}).to_parquet(path / DATA_FILE)
    return publish(path, dataset=dataset, step=step, snap_id=snap_id, created_at=created, rows=rows)


def test_exactly_the_expired_snapshots_are_deleted_and_recorded(tmp_path):
    old = [make(tmp_path, "customers", "sample", 45), make(tmp_path, "customers", "synthetic", 30.01)]
    young = [make(tmp_path, "customers", "sample", 29.99), make(tmp_path, "customers", "synthetic", 1)]
    other = make(tmp_path, "transactions", "sample", 90)  # another dataset: its own retention, not this run's
    result = run_retention("customers", 30, tmp_path, now=NOW)
    assert result.status is Status.PASS
    assert sorted(d.item for d in result.deletions) == sorted(f"{s.step}/{s.id}" for s in old)
    assert all(not s.path.exists() for s in old) and all(s.path.exists() for s in young) and other.path.exists()
    d = next(d for d in result.deletions if d.item == f"sample/{old[0].id}")
    assert d.created_at == old[0].created_at and d.rows == 10 and d.bytes > 0 and d.sha256 == old[0].manifest["sha256"]
    assert "retention_days=30" in d.reason
    assert result.metric("test_data.snapshots_deleted") == 2 and result.metric("test_data.snapshots_kept") == 2
    assert [s.id for s in list_snapshots(tmp_path, "customers")] == [s.id for s in young]
    # a second run deletes nothing more
    again = run_retention("customers", 30, tmp_path, now=NOW)
    assert again.deletions == [] and again.status is Status.PASS


def test_unpublished_staging_dirs_are_never_listed_and_old_ones_are_cleaned(tmp_path):
    path, _, _ = staging_dir(tmp_path, "customers", "sample", now=NOW - timedelta(days=40))
    old = (NOW - timedelta(days=40)).timestamp()
    os.utime(path, (old, old))
    assert list_snapshots(tmp_path) == []
    result = run_retention("customers", 30, tmp_path, now=NOW)
    assert not path.exists() and result.summary["stale_staging_removed"]


def _immutable(path, on: bool) -> bool:
    """Make ``path`` undeletable even for root (ext4's immutable flag); False where chattr cannot."""
    proc = subprocess.run(["chattr", "+i" if on else "-i", str(path)], capture_output=True, check=False)
    return proc.returncode == 0


def test_an_expired_snapshot_that_cannot_be_deleted_is_error_and_the_others_are_still_recorded(tmp_path):
    stuck = make(tmp_path, "customers", "sample", 45)
    gone = make(tmp_path, "customers", "synthetic", 50)
    if os.geteuid() == 0:
        if not _immutable(stuck.path, True):
            pytest.skip("chattr +i is not available on this filesystem")
    else:
        stuck.path.chmod(0o500)
    try:
        result = run_retention("customers", 30, tmp_path, now=NOW)
    finally:
        _immutable(stuck.path, False) if os.geteuid() == 0 else stuck.path.chmod(0o700)
    assert result.status is Status.ERROR and "could not be deleted" in result.message
    assert f"sample/{stuck.id}" in result.message
    assert [d.item for d in result.deletions] == [f"synthetic/{gone.id}"] and not gone.path.exists()
