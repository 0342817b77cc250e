"""Per-commit overhead: trigger → recorded verdict, minus the raw pytest time of the same suites.

Starts a real Airflow (``airflow standalone``: scheduler, API server, LocalExecutor) on loopback with
an embedded SQLite metrics DB, makes a fresh commit of the demo platform for every run, triggers
``assay_per_commit`` through the REST API, and reads the verdict's timestamp from the metrics DB. The
raw time is the same two pytest commands (same flags: xdist, JUnit XML, coverage JSON) run directly
on a clone of the same commit. Target: <= 10 s overhead on this machine (2 cores).

    .venv/bin/python benchmarks/per_commit_overhead.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "include"), str(REPO / "plugins"), str(REPO / "tests")]

from support.airflow_stack import AirflowStack  # noqa: E402

from assay.config import load_config  # noqa: E402
from assay.demo_repo import commit_all, prepare_demo_repo  # noqa: E402
from assay.engines.pytest_suite import build_pytest_argv, target_env  # noqa: E402
from assay.store import MetricsStore  # noqa: E402


def raw_pytest_seconds(repo: Path, sha: str, work: Path) -> dict[str, float]:
    clone = work / f"raw-{sha[:8]}"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    subprocess.run(["git", "checkout", "-q", sha], cwd=clone, check=True)
    target = load_config().target("demo-platform")
    times = {}
    for name, suite in target.suites.items():
        out = work / f"raw-{sha[:8]}-{name}"
        out.mkdir()
        argv = build_pytest_argv(sys.executable, suite, source=target.source, out_dir=out)
        t0 = time.monotonic()
        subprocess.run(argv, cwd=clone, env=target_env({"COVERAGE_FILE": str(out / ".coverage")}),
                       capture_output=True, check=False)
        times[name] = time.monotonic() - t0
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="assay-bench-"))
    metrics_url = f"sqlite:///{home / 'metrics.db'}"
    os.environ["ASSAY_HOME"] = str(home / "assay")
    demo = home / "assay" / "demo-platform"
    prepare_demo_repo(demo)
    stack = AirflowStack(home, env={"ASSAY_METRICS_DB_URL": metrics_url})
    print(f"starting airflow standalone in {home} ...", flush=True)
    t0 = time.monotonic()
    stack.start()
    stack.wait_for_dag("assay_per_commit")
    print(f"airflow ready in {time.monotonic() - t0:.1f} s\n")
    store = MetricsStore(metrics_url)
    rows = []
    try:
        for i in range(args.runs):
            (demo / "BENCH.md").write_text(f"benchmark run {i} at {datetime.now(UTC).isoformat()}\n")
            sha = commit_all(demo, f"benchmark commit {i}")
            triggered = datetime.now(UTC)
            resp = stack.trigger("assay_per_commit", {"target": "demo-platform", "sha": sha, "branch": "main"})
            resp.raise_for_status()
            run_id = resp.json()["dag_run_id"]
            run = stack.wait("assay_per_commit", run_id)
            recorded = {r.name: r for r in store.latest_suite_runs("assay_per_commit", run_id)}
            gate = recorded["per_commit_gates"]
            finished = gate.finished_at if gate.finished_at.tzinfo else gate.finished_at.replace(tzinfo=UTC)
            to_verdict = (finished - triggered).total_seconds()
            in_airflow = {n: recorded[n].summary["duration_s"] for n in ("unit", "integration")}
            raw = raw_pytest_seconds(demo, sha, home)
            rows.append((sha, run["state"], to_verdict, raw, in_airflow))
            print(f"run {i + 1}: {sha[:10]} {run['state']:7s} trigger→verdict {to_verdict:6.2f} s | raw pytest "
                  f"unit {raw['unit']:.2f} s + integration {raw['integration']:.2f} s | inside Assay unit "
                  f"{in_airflow['unit']:.2f} s, integration {in_airflow['integration']:.2f} s", flush=True)
    finally:
        stack.stop()
        store.dispose()
    over_sum = [v - sum(r.values()) for _, _, v, r, _ in rows]
    over_max = [v - max(r.values()) for _, _, v, r, _ in rows]
    print("\nper-commit overhead (trigger → recorded verdict, minus raw pytest):")
    print(f"  vs raw suites run one after the other: median {statistics.median(over_sum):.2f} s "
          f"(min {min(over_sum):.2f}, max {max(over_sum):.2f})")
    print(f"  vs the longer raw suite alone (Assay runs the two suites in parallel): median "
          f"{statistics.median(over_max):.2f} s (min {min(over_max):.2f}, max {max(over_max):.2f})")
    ok = all(r[1] == "success" for r in rows) and statistics.median(over_max) <= 10.0
    print(f"  target <= 10 s (against the parallel critical path): {'MET' if ok else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
