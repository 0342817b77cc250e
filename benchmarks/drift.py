"""Drift engine benchmark: 1,000,000 rows x 25 columns (20 numeric, 5 categorical with 10 levels).

Reference and current data are seeded (``tests/support/drift_data.py``; current shifts 3 numeric and 1
categorical column) and written to Parquet (row groups of 100,000 rows). Every measurement runs in its
own child process, which reports its wall and CPU time, its RSS once the data is loaded, and its peak
RSS during the run (VmHWM, reset after loading via /proc/self/clear_refs; the whole process: interpreter,
libraries and both datasets included) as well as the process's lifetime peak (``ru_maxrss``, loading
included). "extra MB" is the run's peak minus the RSS before it: what the engine itself added on top of
the loaded DataFrames. The machine is shared: wall time varies with the load average, CPU time much less.

* engine on DataFrames (both files loaded with ``pandas.read_parquet`` first; load not timed), 1 thread
  (the default) and 2, alternately ``--repeat`` times each (medians shown, and the 2-thread / 1-thread
  ratio of the same run, which is what chose the default);
* engine reading the Parquet files row group by row group (time includes reading), spool in memory and on disk;
* the plain per-column scipy baseline on the same DataFrames with the same automatic choice
  (``ks_2samp`` / ``chi2_contingency`` up to 1000 rows, else ``wasserstein_distance`` / std and
  ``jensenshannon`` on category shares; here always the latter two).

The drifted-column decisions of every engine run must equal the baseline's and their statistics agree to
1e-9 (asserted; exit 1 if not). Targets for the engine on DataFrames with the default thread count: at
1M x 25, <= 5 s and <= 1.5 GB peak; with ``--large`` (5,000,000 rows x 25; the Parquet run with the
memory spool is left out there, it holds both datasets by design), <= 400 MB extra.

    .venv/bin/python benchmarks/drift.py [--rows 1000000] [--repeat 3]
    .venv/bin/python benchmarks/drift.py --large
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "include"), str(REPO / "tests")]

from assay.engines.drift.config import DriftConfig, resolve_threads  # noqa: E402

TARGET_S = 5.0
TARGET_MB = 1536.0
LARGE_ROWS = 5_000_000
TARGET_EXTRA_MB_LARGE = 400.0
DEFAULT_THREADS = resolve_threads(DriftConfig().threads)  # what "auto" picks now; the headline run uses it
ROW_GROUP = 100_000
STAT_TOLERANCE = 1e-9


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _start_measuring() -> tuple[float, float, float]:
    """RSS now (the loaded data included), then reset the peak-RSS mark so the run's own peak is measured."""
    rss = _status_mb("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:  # not Linux, or not allowed: the peak then also covers loading
        pass
    return rss, time.perf_counter(), time.process_time()


def _stop_measuring(start: tuple[float, float, float]) -> dict:
    rss, wall0, cpu0 = start
    return {
        "seconds": time.perf_counter() - wall0,
        "cpu_seconds": time.process_time() - cpu0,
        "loaded_mb": rss,
        "peak_mb": _status_mb("VmHWM"),
        "lifetime_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def _load(workdir: Path):
    """Both files as DataFrames; Arrow's allocator then returns the decoding buffers it kept cached."""
    import pandas as pd
    import pyarrow as pa

    frames = pd.read_parquet(workdir / "reference.parquet"), pd.read_parquet(workdir / "current.parquet")
    pa.default_memory_pool().release_unused()
    return frames


def child_engine(workdir: Path, mode: str, threads: int) -> dict:
    from assay.engines.drift import DriftConfig, run_drift
    from assay.sources import DataSource

    if mode == "frames":
        ref, cur = _load(workdir)
        spool = "memory"
    else:
        ref = DataSource(kind="parquet", path=str(workdir / "reference.parquet"))
        cur = DataSource(kind="parquet", path=str(workdir / "current.parquet"))
        spool = "disk" if mode == "parquet-disk" else "memory"
    start = _start_measuring()
    result = run_drift(ref, cur, DriftConfig(threads=threads, spool=spool))
    return {
        **_stop_measuring(start),
        "status": result.status.value,
        "decisions": {r.column: r.drifted for r in result.columns},
        "stats": {r.column: r.statistic for r in result.columns},
        "tests": {r.column: r.test for r in result.columns},
        "share": result.share_drifted,
    }


def child_scipy(workdir: Path) -> dict:
    """Plain per-column scipy, Evidently's automatic choice, no sharing of work between columns."""
    import numpy as np
    import pandas as pd
    from scipy import stats
    from scipy.spatial import distance

    ref, cur = _load(workdir)
    start = _start_measuring()
    decisions, values, tests = {}, {}, {}
    choice_s = 0.0
    for col in ref.columns:
        c0 = time.perf_counter()
        r, c = ref[col].dropna(), cur[col].dropna()
        numeric = pd.api.types.is_numeric_dtype(r.dtype) and r.nunique() > 5
        small = len(r) <= 1000
        choice_s += time.perf_counter() - c0
        if numeric and small:
            value = stats.ks_2samp(r, c).pvalue
            tests[col], drifted = "ks", value < 0.05
        elif numeric:
            value = stats.wasserstein_distance(r, c) / max(float(np.std(r)), 0.001)
            tests[col], drifted = "wasserstein", value >= 0.1
        else:
            keys = sorted(set(r.unique()) | set(c.unique()))
            rc, cc = r.value_counts().reindex(keys, fill_value=0), c.value_counts().reindex(keys, fill_value=0)
            if small:
                value = stats.chi2_contingency(np.vstack([rc.to_numpy(), cc.to_numpy()]), correction=False).pvalue
                tests[col], drifted = "chisquare", value < 0.05
            else:
                value = distance.jensenshannon(rc.to_numpy() / len(r), cc.to_numpy() / len(c))
                tests[col], drifted = "jensenshannon", value >= 0.1
        decisions[col], values[col] = bool(drifted), float(value)
    return {
        **_stop_measuring(start),
        "choice_seconds": choice_s,
        "decisions": decisions,
        "stats": values,
        "tests": tests,
    }


def _run_child(workdir: Path, *args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(workdir), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if proc.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _median(runs: list[dict]) -> dict:
    """The run with the median wall time (its other figures alongside), plus every wall time."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    return {
        **ordered[len(ordered) // 2],
        "walls": [r["seconds"] for r in runs],
        "cpus": [r["cpu_seconds"] for r in runs],
    }


def _label(threads: int) -> str:
    default = " (default: auto)" if threads == DEFAULT_THREADS else ""
    return f"engine, DataFrames, {threads} thread{'s' if threads > 1 else ''}{default}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rows", type=int, default=None, help="rows per side (default 1,000,000; 5,000,000 with --large)"
    )
    parser.add_argument("--large", action="store_true", help="5M x 25: the memory case (peak extra <= 400 MB)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each thread count, alternating")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        workdir, mode, *rest = args.child
        out = child_scipy(Path(workdir)) if mode == "scipy" else child_engine(Path(workdir), mode, int(rest[0]))
        print(json.dumps(out))
        return 0
    rows = args.rows or (LARGE_ROWS if args.large else 1_000_000)

    from support.drift_data import make_pair

    with tempfile.TemporaryDirectory(prefix="assay-drift-bench-") as tmp:
        workdir = Path(tmp)
        t0 = time.perf_counter()
        ref, cur = make_pair(rows)
        ref.to_parquet(workdir / "reference.parquet", row_group_size=ROW_GROUP)
        cur.to_parquet(workdir / "current.parquet", row_group_size=ROW_GROUP)
        shape = ref.shape
        del ref, cur
        print(
            f"data: {shape[0]:,} rows x {shape[1]} columns per side (20 numeric, 5 categorical x 10 levels), "
            f"seeded; generated and written in {time.perf_counter() - t0:.1f} s",
            flush=True,
        )

        baseline = _run_child(workdir, "scipy")
        by_threads: dict[int, list[dict]] = {1: [], 2: []}
        for _ in range(max(1, args.repeat)):
            for threads in (DEFAULT_THREADS, 3 - DEFAULT_THREADS):
                by_threads[threads].append(_run_child(workdir, "frames", str(threads)))
        runs = {_label(t): _median(by_threads[t]) for t in (DEFAULT_THREADS, 3 - DEFAULT_THREADS)}
        if not args.large:
            runs["engine, Parquet row groups, spool memory"] = _run_child(workdir, "parquet", str(DEFAULT_THREADS))
        runs["engine, Parquet row groups, spool disk"] = _run_child(workdir, "parquet-disk", str(DEFAULT_THREADS))

    print(f"load average at the end: {Path('/proc/loadavg').read_text().split()[:3]} (2 cores, shared)")
    print(
        f"\n{'run':42} {'wall s':>7} {'CPU s':>6} {'RSS before MB':>14} {'peak RSS in run MB':>19} "
        f"{'extra MB':>9} {'process peak MB':>16}"
    )
    for name, run in {"scipy per-column baseline": baseline, **runs}.items():
        print(
            f"{name:42} {run['seconds']:7.2f} {run['cpu_seconds']:6.2f} {run['loaded_mb']:14.0f} "
            f"{run['peak_mb']:19.0f} {run['peak_mb'] - run['loaded_mb']:9.0f} {run['lifetime_peak_mb']:16.0f}"
        )
    print(
        f"(baseline: automatic choice, i.e. nunique per column, took {baseline['choice_seconds']:.2f} s of it; "
        "'RSS before' is the loaded data plus the interpreter; 'peak RSS in run' includes that data; "
        "'extra MB' = peak - before)"
    )
    one, two = runs[_label(1)], runs[_label(2)]
    print(
        f"threads, {len(one['walls'])} alternating run(s) each: 1 thread wall {_fmt(one['walls'])} s, "
        f"CPU {_fmt(one['cpus'])} s; 2 threads wall {_fmt(two['walls'])} s, CPU {_fmt(two['cpus'])} s; "
        f"median wall 2/1 = {two['seconds'] / one['seconds']:.2f}, extra MB 2/1 = "
        f"{(two['peak_mb'] - two['loaded_mb']) / max(1.0, one['peak_mb'] - one['loaded_mb']):.2f}"
    )

    drifted = sorted(c for c, d in baseline["decisions"].items() if d)
    print(f"\nbaseline tests: {sorted(set(baseline['tests'].values()))}; drifted columns: {drifted}")
    ok = True
    for name, run in runs.items():
        same = run["decisions"] == baseline["decisions"] and run["tests"] == baseline["tests"]
        worst = max(abs(run["stats"][c] - baseline["stats"][c]) for c in baseline["stats"])
        ok &= same and worst <= STAT_TOLERANCE
        print(
            f"{name}: drifted {sorted(c for c, d in run['decisions'].items() if d)}; same decisions as scipy: "
            f"{same}; max |statistic - scipy| = {worst:.2e}; share {run['share']:.2f}"
        )

    headline = runs[_label(DEFAULT_THREADS)]
    extra = headline["peak_mb"] - headline["loaded_mb"]
    speedup = baseline["seconds"] / headline["seconds"]
    if args.large:
        verdict = (
            f"target <= {TARGET_EXTRA_MB_LARGE:.0f} MB extra: {'met' if extra <= TARGET_EXTRA_MB_LARGE else 'MISSED'}"
        )
    else:
        verdict = (
            f"target <= {TARGET_S:.0f} s: {'met' if headline['seconds'] <= TARGET_S else 'MISSED'}; peak RSS "
            f"{headline['peak_mb']:.0f} MB, target <= {TARGET_MB:.0f} MB: "
            f"{'met' if headline['peak_mb'] <= TARGET_MB else 'MISSED'}"
        )
    print(
        f"\nengine (DataFrames, default {DEFAULT_THREADS} thread): {headline['seconds']:.2f} s wall, "
        f"{headline['cpu_seconds']:.2f} s CPU, {extra:.0f} MB extra over the loaded data ({verdict}); scipy "
        f"baseline {baseline['seconds']:.2f} s wall, {baseline['cpu_seconds']:.2f} s CPU ({speedup:.1f}x the "
        "engine's wall time)"
    )
    print(f"decisions equal to the scipy baseline in every run: {ok}")
    assert ok, "the engine's drifted-column decisions or statistics differ from scipy's"
    return 0


def _fmt(values: list[float]) -> str:
    return "/".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
