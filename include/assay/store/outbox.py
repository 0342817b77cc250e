"""The outbox: results the metrics database could not take yet, kept on disk until it can.

When ``record_suite_run`` still fails after its retries, the record is written here as one JSON file
named by its idempotency key (parking the same record twice keeps one file). Every later recording
first flushes the outbox; a flushed record is deleted only after the database committed it, and
because writes are idempotent upserts a crash between commit and delete cannot duplicate rows.

The directory is shared: in a deployment with several workers it lives on a volume every worker
mounts (``$ASSAY_HOME/outbox`` by default, ``ASSAY_OUTBOX_DIR`` to move it), so a record parked by one
worker is flushed by whichever records next. Flushes take turns through an exclusive ``flock`` on
``<outbox>/.lock`` (a worker that finds the lock taken leaves the flush to its holder); parking needs no
lock (write to a unique temporary file, then rename). A record the database refuses for good
(``RecordRejected``: a value too long for its column) moves to ``<outbox>/dead-letter/`` with the reason
beside it, and the flush goes on with the next one: one bad record never blocks the rest.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from assay.store.records import SuiteRunRecord
from assay.store.repository import MetricsStore, RecordRejected, StoreUnavailable

log = logging.getLogger(__name__)

DEAD_LETTER = "dead-letter"
LOCK_FILE = ".lock"
_CLAIMED = ".flushing"


class Outbox:
    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory)
        self.dead_letter_dir = self.dir / DEAD_LETTER

    def __repr__(self) -> str:
        return f"Outbox({self.dir})"

    # -- parking ---------------------------------------------------------------------------------
    def park(self, record: SuiteRunRecord) -> Path:
        """Keep ``record`` for a later flush; returns its file."""
        return self._write(self.dir, record)

    def dead_letter(self, record: SuiteRunRecord, reason: str) -> Path:
        """Set aside a record the database refuses: ``<key>.json`` (the record, as parked) and
        ``<key>.reason.txt``. Once the cause is fixed, moving the ``.json`` back into the outbox
        directory records it on the next flush."""
        path = self._write(self.dead_letter_dir, record)
        path.with_name(f"{record.idempotency_key}.reason.txt").write_text(reason + "\n", encoding="utf-8")
        log.error(
            "%s (dag %s, run %s, try %s); kept at %s",
            reason,
            record.key.dag_id,
            record.key.run_id,
            record.key.try_number,
            path,
        )
        return path

    @staticmethod
    def _write(directory: Path, record: SuiteRunRecord) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{record.idempotency_key}.json"
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{record.idempotency_key}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(record.to_dict(), out, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        return path

    # -- reading -----------------------------------------------------------------------------------
    def pending(self) -> list[Path]:
        """Parked records, including any a flusher claimed and did not finish (it died holding the lock)."""
        if not self.dir.is_dir():
            return []
        return sorted([*self.dir.glob("*.json"), *self.dir.glob(f"*.json{_CLAIMED}")])

    def dead_letters(self) -> list[Path]:
        return sorted(self.dead_letter_dir.glob("*.json")) if self.dead_letter_dir.is_dir() else []

    # -- flushing ----------------------------------------------------------------------------------
    @contextmanager
    def _flush_lock(self, *, wait: bool) -> Iterator[bool]:
        """Hold ``<outbox>/.lock`` exclusively; yields False (without waiting) if another flush holds it."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / LOCK_FILE, "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def flush(self, store: MetricsStore, *, wait: bool = False) -> int:
        """Write every parked record; return how many were recorded.

        One flush at a time per outbox: without ``wait`` a call that finds another flush running returns
        0 at once (that flush records what is parked). A refused record goes to the dead-letter
        directory and the flush goes on; an outage (``StoreUnavailable``) stops it and is raised, with
        everything not yet recorded still parked."""
        if not self.dir.is_dir():
            return 0
        flushed = 0
        with self._flush_lock(wait=wait) as held:
            if not held:
                log.info("another task is flushing the outbox %s; leaving it to that one", self.dir)
                return 0
            for path in self.pending():
                # Claim the file: a record parked again under the same key meanwhile is a new file, kept
                # for the next flush instead of being deleted unrecorded below.
                claimed = path if path.name.endswith(_CLAIMED) else path.with_name(path.name + _CLAIMED)
                if claimed != path:
                    try:
                        os.replace(path, claimed)
                    except FileNotFoundError:
                        continue
                record = SuiteRunRecord.from_dict(json.loads(claimed.read_text(encoding="utf-8")))
                try:
                    store.record_suite_run(record)
                except RecordRejected as exc:
                    self.dead_letter(record, str(exc))
                except BaseException:  # an outage (StoreUnavailable) or anything unexpected: keep it parked
                    self._unclaim(claimed)
                    raise
                else:
                    flushed += 1
                claimed.unlink(missing_ok=True)
        if flushed:
            log.info("flushed %d parked result(s) from %s to the metrics DB", flushed, self.dir)
        return flushed

    def _unclaim(self, claimed: Path) -> None:
        """Put a claimed record back unless the same key was parked again meanwhile (that copy is newer)."""
        original = claimed.with_name(claimed.name.removesuffix(_CLAIMED))
        if original.exists():
            claimed.unlink(missing_ok=True)
        else:
            os.replace(claimed, original)


def record_or_park(store: MetricsStore, outbox: Outbox, record: SuiteRunRecord) -> int:
    """Flush what is parked, then record ``record``.

    If the DB stays down, ``record`` is parked and ``StoreUnavailable`` re-raised; if the DB refuses
    ``record`` itself, it goes to the dead-letter directory and ``RecordRejected`` is re-raised (its
    message says where the record is kept)."""
    try:
        store.ensure_schema()
        outbox.flush(store)
        return store.record_suite_run(record)
    except StoreUnavailable:
        path = outbox.park(record)
        log.error("metrics DB unavailable; result parked at %s and will be flushed on the next attempt", path)
        raise
    except RecordRejected as exc:
        path = outbox.dead_letter(record, str(exc))
        raise RecordRejected(f"{exc}; the result is kept at {path}") from exc
