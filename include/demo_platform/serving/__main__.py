"""Start the API with uvicorn: ``python -m serving --host 127.0.0.1 --port 8000 [--workers N] ...``.

Options are handed to the app (and to every worker process) as ``DEMO_*`` environment variables,
so ``--workers N`` gives N identical processes under uvicorn's supervisor, which restarts a worker
that dies.
"""

from __future__ import annotations

import argparse
import os
import sys

import uvicorn

from serving import settings as s
from serving.db import Database
from serving.errors import SettingsError
from serving.timing import ReceiptStampingProtocol

APP_FACTORY = "serving.app:create_app_from_env"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m serving", description="Demo platform model-serving API")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="bind port (default 8000)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument(
        "--db-url", help=f"SQLAlchemy URL of the registry DB (env {s.ENV_DB_URL}; default a temp SQLite file)"
    )
    p.add_argument("--tokens-file", help=f"JSON tokens file (env {s.ENV_TOKENS_FILE}; default the demo tokens)")
    p.add_argument("--model-path", help=f"pipeline saved by fraud.artifacts (env {s.ENV_MODEL_PATH})")
    p.add_argument("--no-train", action="store_true", help="without --model-path, serve no model (predict → 503)")
    p.add_argument("--rate-limit", type=float, help=f"requests/s per caller (env {s.ENV_RATE_PER_S}; default 1000)")
    p.add_argument("--burst", type=int, help=f"token-bucket size per caller (env {s.ENV_RATE_BURST}; default 2000)")
    p.add_argument("--test-mode", action="store_true", help="enable the Pact provider-state hook (tests only)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.add_argument("--access-log", action="store_true", help="log every request (off by default: load tests)")
    args = p.parse_args(argv)
    if args.workers < 1:
        p.error(f"--workers must be >= 1, got {args.workers}")
    return args


def export_settings(args: argparse.Namespace, env: dict[str, str]) -> None:
    """Write the options the app reads into ``env`` (normally ``os.environ``)."""
    pairs = {
        s.ENV_DB_URL: args.db_url,
        s.ENV_TOKENS_FILE: args.tokens_file,
        s.ENV_MODEL_PATH: args.model_path,
        s.ENV_RATE_PER_S: None if args.rate_limit is None else str(args.rate_limit),
        s.ENV_RATE_BURST: None if args.burst is None else str(args.burst),
        s.ENV_TRAIN_MODEL: "0" if args.no_train else None,
        s.ENV_TEST_MODE: "1" if args.test_mode else None,
    }
    env.update({k: v for k, v in pairs.items() if v is not None})


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    export_settings(args, os.environ)  # type: ignore[arg-type]
    try:
        settings = s.Settings.from_env()  # fail fast, before any worker starts
        db = Database(settings.db_url)
        db.create_schema()  # once, here, so workers never race to create tables
        db.close()
    except SettingsError as exc:
        print(f"python -m serving: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=args.access_log,
        http=ReceiptStampingProtocol,  # requests are timed from their receipt (serving/timing.py)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
