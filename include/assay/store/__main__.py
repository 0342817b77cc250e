"""``python -m assay.store migrate [--url URL]``: create or upgrade the metrics database schema."""

from __future__ import annotations

import argparse
import os
import sys

from assay.store.repository import MetricsStore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assay.store")
    parser.add_argument("command", choices=["migrate"])
    parser.add_argument(
        "--url", default=os.environ.get("ASSAY_METRICS_DB_URL"), help="SQLAlchemy URL (default: $ASSAY_METRICS_DB_URL)"
    )
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("give --url or set ASSAY_METRICS_DB_URL")
    store = MetricsStore(args.url)
    store.migrate()
    print(f"metrics database at {store!r} is at the newest schema")
    return 0


if __name__ == "__main__":
    sys.exit(main())
