"""benchmarks/dag_parse.py runs end to end and names a DAG file that loads an engine library at parse time.
The limit is set out of reach here: what is checked is the script, not this machine's speed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "dag_parse.py"), "--rounds", "1", "--limit", "1000", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        check=False,
    )


@pytest.mark.slow
def test_a_dag_file_is_timed_and_a_heavy_import_is_named(tmp_path):
    heavy = tmp_path / "heavy_dag.py"
    heavy.write_text("import numpy\nfrom airflow.sdk import DAG\n")
    proc = bench(str(REPO / "dags" / "assay_commit_watch.py"), str(heavy))
    assert proc.returncode == 1, proc.stderr[-3000:]  # the heavy file fails the run
    rows = {
        line.split()[0]: line
        for line in proc.stdout.splitlines()
        if line.split()[:1] and line.split()[0].endswith(".py")
    }
    assert "heavy" not in rows["assay_commit_watch.py"] and not rows["assay_commit_watch.py"].endswith("OVER")
    assert "heavy: numpy" in rows["heavy_dag.py"] and rows["heavy_dag.py"].endswith("OVER")
    wall, _, cpu, _, ratio = (float(x) for x in rows["assay_commit_watch.py"].split()[1:6])
    assert 0 < wall and 0 < cpu and 0 < ratio
    assert "over the limit or loading a heavy module: heavy_dag.py" in proc.stdout
