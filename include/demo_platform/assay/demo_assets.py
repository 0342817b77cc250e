"""Model versions and data exports of the bundled demo platform, for the model, drift, data-quality
and A/B DAGs (``make run`` calls this; files that exist are reused).

The demo platform makes them itself, as a platform would: ``python -m fraud.artifacts train`` saves a
model version, ``python -m fraud.exports`` writes the reference/current data and A/B outcomes, and
``fraud.customers`` the customer table (``data/customers/production.parquet``). They run
as subprocesses in ``include/demo_platform`` so Assay imports none of the target's code.
``python include/demo_platform/assay/demo_assets.py [ASSAY_HOME]`` prints what it made (``include`` on
``PYTHONPATH``, as ``make`` sets it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from assay.config import assay_home
from assay.errors import TargetError
from assay.process import run_command

DEMO_DIR = Path(__file__).resolve().parents[1]


def _run(argv: list[str], log: Path) -> None:
    res = run_command([sys.executable, *argv], cwd=DEMO_DIR, timeout_s=900, log_path=log)
    if res.timed_out or res.returncode != 0:
        raise TargetError(f"demo platform command {' '.join(argv)} failed:\n{res.output_tail[-1500:]}")


def prepare_demo_assets(
    home: Path | None = None,
    *,
    versions: dict[str, int] | None = None,
    rows: int = 20_000,
    train_rows: int = 6_000,
    epochs: int = 15,
    customer_rows: int = 200_000,
) -> dict[str, str]:
    """Train the demo model versions (``v1`` is scored into the data) and export the datasets."""
    home = Path(home or assay_home())
    models = home / "models" / "fraud-detector"
    data = home / "data" / "fraud-transactions"
    logs = home / "logs" / "demo_assets"
    made = {}
    for version, seed in (versions or {"v1": 1, "v2": 2}).items():
        path = models / f"{version}.pt"
        if not path.exists():
            _run(
                [
                    "-m",
                    "fraud.artifacts",
                    "train",
                    "--out",
                    str(path),
                    "--seed",
                    str(seed),
                    "--fraud-rate",
                    "0.3",
                    "--rows",
                    str(train_rows),
                    "--epochs",
                    str(epochs),
                ],
                logs / f"train-{version}.log",
            )
        made[f"model {version}"] = str(path)
    first = models / f"{next(iter(versions or {'v1': 1}))}.pt"
    if not (data / "current.parquet").exists():
        _run(
            ["-m", "fraud.exports", "--out", str(data), "--model", str(first), "--rows", str(rows)],
            logs / "exports.log",
        )
    made["data"] = str(data)
    # the platform's customer table as production holds it (personal fields in clear): the source of the
    # anonymised test-data sample and the reference of the synthetic refresh (assay_test_data)
    customers = home / "data" / "customers" / "production.parquet"
    if not customers.exists():
        code = (
            "import sys; from fraud.customers import write_customers_parquet as w; w(sys.argv[1], int(sys.argv[2]), 11)"
        )
        _run(["-c", code, str(customers), str(customer_rows)], logs / "customers.log")
    made["customers"] = str(customers)
    return made


if __name__ == "__main__":
    print(json.dumps(prepare_demo_assets(Path(sys.argv[1]) if len(sys.argv) > 1 else None), indent=2))
