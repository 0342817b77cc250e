"""Regenerate the golden datasets in this directory from their seeded generators.

    .venv/bin/python include/demo_platform/assay/data_quality/golden/build_golden.py [--out DIR]

Only run this on purpose (the generators or the schema changed): it rewrites each ``<name>.csv`` and
its ``<name>.yaml`` together, and the diff is what a reviewer accepts as the new golden truth.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEMO = HERE.parents[2]  # include/demo_platform: the generators are the platform's own
for p in (DEMO.parent, DEMO):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import pandas as pd  # noqa: E402

from assay.engines.data_quality.golden import GoldenSpec, write_golden  # noqa: E402


def _fraud_transactions() -> pd.DataFrame:
    from fraud.data import make_fraud_dataset

    return make_fraud_dataset(200, seed=7)


def _customers() -> pd.DataFrame:
    from fraud.customers import generate_customers

    return generate_customers(200, seed=7)


#: name → (frame maker, description, source, unique columns)
GOLDEN: dict[str, tuple[Callable[[], pd.DataFrame], str, dict, tuple[str, ...]]] = {
    "fraud_transactions_200": (
        _fraud_transactions,
        "200 transactions of the demo platform's fraud dataset, the regression input of its model tests",
        {"generator": "demo_platform fraud.data.make_fraud_dataset", "rows": 200, "seed": 7},
        ("customer_id", "email"),
    ),
    "customers_200": (
        _customers,
        "200 synthetic customers with personal fields (all made up), the PII fixture of compliance audits",
        {"generator": "demo_platform fraud.customers.generate_customers", "rows": 200, "seed": 7},
        ("customer_id", "email"),
    ),
}


def build(out: Path = HERE) -> list[GoldenSpec]:
    specs = []
    for name, (make, description, source, unique) in GOLDEN.items():
        specs.append(write_golden(name, make(), out, description=description, source=source, unique_columns=unique))
    return specs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    for spec in build(args.out):
        print(f"{spec.name}: {spec.row_count} rows, {len(spec.columns)} columns -> {spec.data_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
