"""Worker processes for the store's concurrency tests (real processes, as Celery or LocalExecutor run
tasks): each starts at a shared barrier, then writes through its own store and outbox objects."""

from __future__ import annotations

import random
import traceback
from typing import Any


def _report(results, started, fn) -> None:
    try:
        started.wait(timeout=60)
        results.put(("ok", fn()))
    except Exception as exc:  # noqa: BLE001 - the parent asserts on what each process saw
        results.put((type(exc).__name__, f"{exc}\n{traceback.format_exc()[-1500:]}"))


def flush_then_record(url: str, outbox_dir: str, own: dict[str, Any], started, results) -> None:
    """What every recording task does: flush the shared outbox, then record its own result."""
    from assay.store import MetricsStore, SuiteRunRecord
    from assay.store.outbox import Outbox, record_or_park

    store = MetricsStore(url, attempts=5, backoff_s=0.05)
    _report(results, started, lambda: record_or_park(store, Outbox(outbox_dir), SuiteRunRecord.from_dict(own)))
    store.dispose()


def write_all(url: str, records: list[dict[str, Any]], seed: int, started, results) -> None:
    """Write the same records as the other processes, in an order of its own."""
    from assay.store import MetricsStore, SuiteRunRecord

    store = MetricsStore(url, attempts=5, backoff_s=0.05)
    store.migrate()
    order = list(records)
    random.Random(seed).shuffle(order)
    _report(results, started, lambda: [store.record_suite_run(SuiteRunRecord.from_dict(r)) for r in order])
    store.dispose()
