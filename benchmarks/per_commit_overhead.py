"""Per-commit overhead: trigger → recorded verdict, minus the raw pytest time of the same suites.

Starts a real Airflow (``airflow standalone``: scheduler, API server, LocalExecutor) on loopback with
an embedded SQLite metrics DB, makes a fresh commit of the demo platform for every run, triggers
``assay_per_commit`` through the REST API, and reads the verdict's timestamp from the metrics DB. The
raw time is the same pytest commands (same flags: xdist, report log, coverage JSON) run directly, one
after the other, on a clone of the same commit. Target: <= 10 s overhead on this machine (2 cores).

Because Assay runs two suites at a time, part of its overhead hides behind that parallelism; the
benchmark therefore also prints the orchestration time outright: trigger → verdict minus the time
during which at least one suite task was running (queueing, checkout, recording, gates, scheduling).

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
from support.demo_platform import prepare_demo_repo  # noqa: E402
from support.git_repo import commit_all  # noqa: E402

from assay.config import load_config  # noqa: E402
from assay.engines.per_commit.pytest_suite import build_pytest_argv  # noqa: E402
from assay.process import target_env  # noqa: E402
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
        subprocess.run(
            argv, cwd=clone, env=target_env({"COVERAGE_FILE": str(out / ".coverage")}), capture_output=True, check=False
        )
        times[name] = time.monotonic() - t0
    return times


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def suite_busy_seconds(tis: dict[str, dict]) -> float:
    """Length of the union of the suite tasks' [start, end] intervals."""
    spans = sorted(
        (_ts(t["start_date"]), _ts(t["end_date"]))
        for k, t in tis.items()
        if k.startswith("run_suite") and t.get("start_date") and t.get("end_date")
    )
    busy, current = 0.0, None
    for start, end in spans:
        if current is None or start > current[1]:
            if current is not None:
                busy += (current[1] - current[0]).total_seconds()
            current = [start, end]
        else:
            current[1] = max(current[1], end)
    if current is not None:
        busy += (current[1] - current[0]).total_seconds()
    return busy


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
            busy = suite_busy_seconds(stack.task_instances("assay_per_commit", run_id))
            raw = raw_pytest_seconds(demo, sha, home)
            rows.append((sha, run["state"], to_verdict, raw, to_verdict - busy))
            print(
                f"run {i + 1}: {sha[:10]} {run['state']:7s} trigger→verdict {to_verdict:6.2f} s | raw pytest "
                + " + ".join(f"{k} {v:.2f} s" for k, v in raw.items())
                + f" = {sum(raw.values()):.2f} s"
                + f" | suites running {busy:.2f} s, orchestration {to_verdict - busy:.2f} s",
                flush=True,
            )
    finally:
        stack.stop()
        store.dispose()
    over_sum = [v - sum(r.values()) for _, _, v, r, _ in rows]
    orchestration = [o for *_, o in rows]
    print(
        "\nper-commit overhead (trigger → recorded verdict, minus raw pytest of the same suites, run one after "
        "the other):"
    )
    print(f"  median {statistics.median(over_sum):.2f} s (min {min(over_sum):.2f}, max {max(over_sum):.2f})")
    print(
        f"orchestration time with no suite running (trigger → verdict minus suite-busy time): median "
        f"{statistics.median(orchestration):.2f} s (min {min(orchestration):.2f}, max {max(orchestration):.2f})"
    )
    ok = all(r[1] == "success" for r in rows) and statistics.median(over_sum) <= 10.0
    print(f"target <= 10 s overhead: {'MET' if ok else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
