"""Regenerate ``data/inference_transactions.json``, the golden payloads of the inference load test.

Run from the repository root: ``python include/demo_platform/assay/performance/make_inference_payloads.py``.
The records are the feature columns only (no personal fields) of the demo platform's seeded synthetic
data, so the same seed always gives the same file. The load test itself reads the same records from the
golden dataset ``inference_payloads_256`` by version (``data_quality/golden/build_golden.py``); this JSON
is what the locustfile falls back to when run on its own.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROWS, SEED = 256, 20261121


def main() -> None:
    sys.path.insert(0, str(HERE.parents[1]))  # include/demo_platform
    from fraud.data import FEATURE_COLUMNS, make_fraud_dataset

    frame = make_fraud_dataset(ROWS, seed=SEED)[list(FEATURE_COLUMNS)]
    records = [
        {col: (round(float(v), 4) if isinstance(v, float) else int(v)) for col, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]
    source = json.dumps(f"fraud.data.make_fraud_dataset({ROWS}, seed={SEED}), feature columns only")
    lines = ",\n".join("  " + json.dumps(r) for r in records)
    text = (
        f'{{\n "source": {source},\n "columns": {json.dumps(list(FEATURE_COLUMNS))},\n "records": [\n{lines}\n ]\n}}\n'
    )
    (HERE / "data" / "inference_transactions.json").write_text(text)


if __name__ == "__main__":
    main()
