"""Regenerate the golden datasets in this directory from their seeded generators.

    .venv/bin/python include/demo_platform/assay/data_quality/golden/build_golden.py [--out DIR]

Only run this on purpose (the generators or the schema changed): it rewrites each ``<name>.csv`` and
its ``<name>.yaml`` together, and the diff is what a reviewer accepts as the new golden truth.

Each dataset has a version in :data:`GOLDEN`. Changed data needs a new version there (``write_golden``
refuses to write other content under a version the YAML's ``history`` already holds), and the
consumers that read it by version (``models.*.job.evaluation.golden`` and
``performance.load_test.payloads`` in assay.yaml) are moved to the new version on purpose.
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


def _fraud_evaluation() -> pd.DataFrame:
    from fraud.data import make_evaluation_set

    return make_evaluation_set(4000, seed=101, fraud_rate=0.3)


def _inference_payloads() -> pd.DataFrame:
    """The load test's request bodies: feature columns only (no personal fields), floats to 4 places."""
    from fraud.data import FEATURE_COLUMNS, make_fraud_dataset

    frame = make_fraud_dataset(256, seed=20261121)[list(FEATURE_COLUMNS)]
    return frame.apply(lambda s: s.round(4) if s.dtype.kind == "f" else s)


def _customers() -> pd.DataFrame:
    from fraud.customers import generate_customers

    return generate_customers(200, seed=7)


#: name → (frame maker, version, description, source, unique columns)
GOLDEN: dict[str, tuple[Callable[[], pd.DataFrame], int | str, str, dict, tuple[str, ...]]] = {
    "fraud_transactions_200": (
        _fraud_transactions,
        1,
        "200 transactions of the demo platform's fraud dataset, the regression input of its model tests",
        {"generator": "demo_platform fraud.data.make_fraud_dataset", "rows": 200, "seed": 7},
        ("customer_id", "email"),
    ),
    "customers_200": (
        _customers,
        1,
        "200 synthetic customers with personal fields (all made up), the PII fixture of compliance audits",
        {"generator": "demo_platform fraud.customers.generate_customers", "rows": 200, "seed": 7},
        ("customer_id", "email"),
    ),
    "fraud_evaluation_4000": (
        _fraud_evaluation,
        1,
        "the fraud model's evaluation set (protected attributes included), read by version by its model validation",
        {"generator": "demo_platform fraud.data.make_evaluation_set", "rows": 4000, "seed": 101, "fraud_rate": 0.3},
        ("customer_id", "email"),
    ),
    "inference_payloads_256": (
        _inference_payloads,
        1,
        "feature records sent by the inference load test (locustfile_inference.py), read by version",
        {"generator": "demo_platform fraud.data.make_fraud_dataset", "rows": 256, "seed": 20261121, "round": 4},
        (),
    ),
}


def build(out: Path = HERE) -> list[GoldenSpec]:
    specs = []
    for name, (make, version, description, source, unique) in GOLDEN.items():
        specs.append(
            write_golden(
                name, make(), out, version=version, description=description, source=source, unique_columns=unique
            )
        )
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
