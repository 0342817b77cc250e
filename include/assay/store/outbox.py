"""A local outbox for results the metrics database could not take.

When ``record_suite_run`` still fails after its retries, the record is written here as one JSON file
named by its idempotency key (so parking the same record twice keeps one file). Every later recording
on the worker first flushes the outbox; a flushed record is deleted only after the database committed
it, and because writes are idempotent a crash between commit and delete cannot duplicate rows.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from assay.store.records import SuiteRunRecord
from assay.store.repository import MetricsStore, StoreUnavailable

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory)

    def park(self, record: SuiteRunRecord) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"{record.idempotency_key}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record.to_dict(), sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)
        return path

    def pending(self) -> list[Path]:
        return sorted(self.dir.glob("*.json")) if self.dir.is_dir() else []

    def flush(self, store: MetricsStore) -> int:
        """Write every parked record; return how many were flushed. Stops at the first outage."""
        flushed = 0
        for path in self.pending():
            record = SuiteRunRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
            store.record_suite_run(record)
            path.unlink(missing_ok=True)
            flushed += 1
        if flushed:
            log.info("flushed %d parked result(s) from %s to the metrics DB", flushed, self.dir)
        return flushed


def record_or_park(store: MetricsStore, outbox: Outbox, record: SuiteRunRecord) -> int:
    """Flush what is parked, then record ``record``; if the DB stays down, park it and re-raise."""
    try:
        store.ensure_schema()
        outbox.flush(store)
        return store.record_suite_run(record)
    except StoreUnavailable:
        path = outbox.park(record)
        log.error("metrics DB unavailable; result parked at %s and will be flushed on the next attempt", path)
        raise
