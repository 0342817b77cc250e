"""Synthetic data and data-quality timings: the generator at 1M rows, Parquet streaming, one validation.

    .venv/bin/python benchmarks/synthetic_data.py [--rows 1000000] [--validate-rows 10000] [--runs 3]

Reports the median of ``--runs`` for the demo platform's generator (``fraud.customers``):
``generate_customers(rows)``, ``write_customers_parquet(rows)`` (row groups of 100k), and
``validate_dataframe`` of ``rows`` demo fraud transactions against the demo's ``fraud_transactions`` suite (a fresh ephemeral GE context each time; the one-off GE import is shown
separately). Targets: 1M rows generated in a few seconds; a 10k-row validation well under a second.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "include" / "demo_platform"
SUITES_DIR = DEMO / "assay" / "data_quality" / "suites"
sys.path[:0] = [str(REPO / "include"), str(DEMO)]

from fraud.customers import generate_customers, write_customers_parquet  # noqa: E402


def _median_s(fn, runs: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--validate-rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    gen_s, df = _median_s(lambda: generate_customers(args.rows, seed=42), args.runs)
    print(
        f"generate_customers({args.rows:,}): {gen_s:.2f} s median of {args.runs} "
        f"({df.memory_usage(deep=True).sum() / 1e6:.0f} MB in memory)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "customers.parquet"
        pq_s, _ = _median_s(
            lambda: write_customers_parquet(path, args.rows, seed=42, row_group_size=100_000), args.runs
        )
        print(f"write_customers_parquet({args.rows:,}): {pq_s:.2f} s ({path.stat().st_size / 1e6:.1f} MB)")

    t0 = time.perf_counter()
    import great_expectations  # noqa: F401

    print(f"import great_expectations: {time.perf_counter() - t0:.2f} s (once per worker process)")
    from fraud.data import make_fraud_dataset

    from assay.engines.data_quality.runner import validate_dataframe

    frame = make_fraud_dataset(args.validate_rows, seed=3)
    val_s, result = _median_s(
        lambda: validate_dataframe(frame, "fraud_transactions", data_name="bench", suites_dir=SUITES_DIR), args.runs
    )
    print(
        f"validate_dataframe({args.validate_rows:,} rows, fraud_transactions, "
        f"{result.counts['evaluated']} expectations): {val_s:.2f} s -> {result.status.value}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
