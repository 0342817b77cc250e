"""The platform's data exports that Assay's drift, data-quality and A/B checks read (seeded).

``python -m fraud.exports --out DIR [--model PATH] [--rows N]`` writes:

* ``reference.parquet``: last month's scored transactions (the drift reference);
* ``current.parquet``: this month's, in which amounts grew and merchant risk shifted (so some columns
  drift), scored by the same model, with its labels (arrived since);
* ``ab_outcomes.csv``: exposures and conversions per variant (champion/challenger) and metric.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from fraud.data import make_fraud_dataset

MONTH = pd.Timestamp("2026-10-01", tz="UTC")


def _stamp(df: pd.DataFrame, start: pd.Timestamp, days: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    seconds = np.sort(rng.integers(0, days * 86_400, size=len(df)))
    return df.assign(ts=start + pd.to_timedelta(seconds, unit="s"))


def export_frames(rows: int = 20_000, model=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Reference and current frames; ``model`` (anything with ``predict_proba``) adds a ``score`` column."""
    reference = _stamp(make_fraud_dataset(rows, seed=11, fraud_rate=0.1), MONTH, 31, seed=1)
    current = make_fraud_dataset(rows, seed=12, fraud_rate=0.1)
    current["amount"] = current["amount"] * 1.35
    current["merchant_risk"] = (current["merchant_risk"] + 0.08).clip(upper=1.0)
    current = _stamp(current, MONTH + pd.Timedelta(days=31), 30, seed=2)
    if model is not None:
        reference["score"] = model.predict_proba(reference)[:, 1]
        current["score"] = model.predict_proba(current)[:, 1]
    return reference, current


def ab_outcomes(seed: int = 5) -> pd.DataFrame:
    """Experiment outcomes: the challenger converts a little better and does not raise chargebacks."""
    rng = np.random.default_rng(seed)
    rows = []
    for variant, conv_rate, cb_rate in (("champion", 0.100, 0.010), ("challenger", 0.112, 0.010)):
        exposures = 15_000
        rows.append(
            {
                "metric": "approval_conversion",
                "variant": variant,
                "exposures": exposures,
                "conversions": int(rng.binomial(exposures, conv_rate)),
            }
        )
        rows.append(
            {
                "metric": "chargeback",
                "variant": variant,
                "exposures": exposures,
                "conversions": int(rng.binomial(exposures, cb_rate)),
            }
        )
    return pd.DataFrame(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fraud.exports", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--model", help="a saved model version (fraud.artifacts) to score the data with")
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args(argv)
    model = None
    if args.model:
        from fraud.artifacts import load_pipeline

        model = load_pipeline(args.model)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    reference, current = export_frames(args.rows, model)
    reference.to_parquet(out / "reference.parquet", index=False, row_group_size=5_000)
    current.to_parquet(out / "current.parquet", index=False, row_group_size=5_000)
    ab_outcomes().to_csv(out / "ab_outcomes.csv", index=False)
    print(json.dumps({"out": str(out), "rows": args.rows, "scored": model is not None}))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
