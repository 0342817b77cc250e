"""Test data management timings: the weekly synthetic refresh at 1M rows (part 1); the anonymised sample,
masking and the leak check of a 10M-row source sampled to 1M (part 2: ``benchmarks/test_data_sample.py``, run
here as a child process so each part's peak RSS is its own; ``--skip-sample`` leaves it out).

    .venv/bin/python benchmarks/test_data.py [--rows 1000000] [--reference-rows 100000] [--target-s 10] [--suite]

Part 1, :func:`bench_synthetic`: ``run_synthetic`` end to end (read the reference, learn it, generate, fidelity
checks, Parquet write, publish) for ``--rows`` rows with realistic personal fields from Faker (name, e-mail,
phone, address, postcode, city, date of birth, a formatted id) and the demo customers' transaction features
learnt from ``--reference-rows`` of them (Gaussian copula). Target: 1M rows in <= 10 s wall. ``--suite`` also
validates the output with the demo's ``synthetic_customers`` GE suite (its time is printed; the target
excludes it). Prints rows/s, wall, peak RSS (VmHWM) and the fidelity figures; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "include" / "demo_platform"
SUITES_DIR = DEMO / "assay" / "data_quality" / "suites"
sys.path[:0] = [str(REPO / "include"), str(DEMO)]


def peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def customer_columns() -> dict:
    """The columns the shipped config generates for the demo's customers (``test_data.datasets.customers``):
    Faker personal fields and the transaction features learnt from the reference."""
    from assay.config import DEFAULT_CONFIG_PATH, load_config

    synthetic = load_config(DEFAULT_CONFIG_PATH).test_data.datasets["customers"].synthetic
    return {name: col.model_dump(exclude_defaults=True) for name, col in synthetic.columns.items()}


def bench_synthetic(
    rows: int = 1_000_000,
    *,
    reference_rows: int = 100_000,
    seed: int = 0,
    suite: bool = False,
    workdir: Path | None = None,
) -> dict:
    """One synthetic refresh of ``rows`` rows; its figures (wall, rows/s, bytes, fidelity, timings)."""
    from fraud.customers import write_customers_parquet

    from assay.engines.test_data import run_synthetic
    from assay.engines.test_data.config import SyntheticConfig

    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        reference = write_customers_parquet(Path(tmp) / "reference.parquet", reference_rows, seed=11)
        cfg = SyntheticConfig(
            rows=rows,
            seed=seed,
            reference={"kind": "parquet", "path": str(reference)},
            columns=customer_columns(),
            quality_suite="synthetic_customers" if suite else None,
        )
        t0 = time.perf_counter()
        result = run_synthetic("bench", cfg, Path(tmp) / "snapshots", suites_dir=SUITES_DIR)
        wall = time.perf_counter() - t0
    timings = dict(result.summary.get("timings", {}))
    fid = result.summary.get("fidelity", {})
    worst_marginal = max(fid.get("marginals", {}).items(), key=lambda kv: kv[1]["value"], default=(None, {}))
    return {
        "rows": rows,
        "status": result.status.value,
        "message": result.message,
        "wall_s": wall,
        "wall_without_suite_s": wall - timings.get("quality_suite_s", 0.0) - timings.get("load_suite_s", 0.0),
        "rows_per_s": rows / wall,
        "bytes": result.metric("bytes"),
        "timings": timings,
        "correlation": fid.get("correlation", {}),
        "worst_marginal": (worst_marginal[0], worst_marginal[1].get("measure"), worst_marginal[1].get("value")),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reference-rows", type=int, default=100_000)
    parser.add_argument("--target-s", type=float, default=10.0, help="synthetic refresh wall-time target")
    parser.add_argument("--suite", action="store_true", help="also validate with the synthetic_customers suite")
    parser.add_argument("--skip-sample", action="store_true", help="leave out part 2 (the 10M-row sample)")
    args = parser.parse_args(argv)
    missed: list[str] = []

    s = bench_synthetic(args.rows, reference_rows=args.reference_rows, suite=args.suite)
    corr = s["correlation"]
    name, measure, value = s["worst_marginal"]
    columns = customer_columns()
    learnt = sum(1 for c in columns.values() if c.get("learn"))
    print(f"synthetic refresh, {s['rows']:,} rows ({len(columns)} columns, {learnt} learnt): {s['status']}")
    print(f"  wall {s['wall_s']:.2f} s ({s['rows_per_s']:,.0f} rows/s), {s['bytes'] / 1e6:.1f} MB Parquet")
    print(f"  steps: {', '.join(f'{k} {v:.2f}' for k, v in s['timings'].items())}")
    print(f"  peak RSS {peak_rss_mb():.0f} MB (VmHWM, whole process: reference, model, frame, Parquet write)")
    if corr:
        print(
            f"  fidelity: max rank-correlation delta {corr['max_delta']:.4f} ({' ~ '.join(corr['pair'])}), "
            f"worst marginal {name} {measure} {value:.4f}"
        )
    print(f"  {s['message']}")
    if s["status"] != "PASS":
        missed.append(f"synthetic refresh status {s['status']}")
    if s["wall_without_suite_s"] > args.target_s:
        missed.append(f"synthetic refresh {s['wall_without_suite_s']:.2f} s > {args.target_s:.0f} s")

    if not args.skip_sample:
        import subprocess
        from pathlib import Path

        print("\nanonymised sample (part 2: benchmarks/test_data_sample.py, own process)", flush=True)
        part2 = subprocess.run([sys.executable, str(Path(__file__).with_name("test_data_sample.py"))], check=False)
        if part2.returncode != 0:
            missed.append("anonymised sample (part 2): see its figures above")

    for miss in missed:
        print(f"MISSED: {miss}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
