"""The drift benchmark script runs end to end on small data and agrees with the scipy baseline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]


@pytest.mark.slow
def test_benchmark_runs_and_decisions_equal_scipy():
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "drift.py"), "--rows", "5000"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "5,000 rows x 25 columns" in out
    assert "decisions equal to the scipy baseline in every run: True" in out
    assert "drifted columns: ['cat_1', 'num_00', 'num_05', 'num_10']" in out
    for run in (
        "scipy per-column baseline",
        "engine, DataFrames, 1 thread",
        "engine, DataFrames, 2 threads",
        "(default: auto)",
        "engine, Parquet row groups, spool disk",
    ):
        assert run in out
    assert "median wall 2/1 = " in out and "extra MB" in out
