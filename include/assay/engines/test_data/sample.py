"""The anonymised production sample: draw, mask, leak-check, publish.

:func:`run_sample` reads the configured production source in chunks, draws ``fraction`` of its rows
stratified by ``stratify``, masks every personal column of the inventory store by its rule
(:mod:`.masking`), runs the leak check against the whole source (:mod:`.leak`) and publishes the snapshot
only when every leak check passes.

**The draw** is reproducible and independent of the chunking: each row gets a priority, a seeded 64-bit hash
of its key (``key_column``, default the inventory store's subject column, else the row's position), and each
stratum keeps its ``round(fraction * rows)`` rows of smallest priority (so the proportions hold to a row).
One pass keeps the rows whose priority is below a generous cut (priorities are uniform, so about
``fraction`` plus a margin of the rows); a stratum whose exact cut lies beyond it (a very small stratum)
triggers a second pass. Rows sharing a key share a priority (a subject's rows are drawn together).

**Order of safety**: each rule is validated and the key's presence checked before anything is read; the
coverage (every personal column the source has needs a rule, every rule's column must exist: ConfigError
naming them) once the source's columns are known, before any row is drawn; the leak check runs on the masked frame in memory, and only a passing
sample is written (to a staging directory, then published whole): a failed leak check writes nothing.
A pseudonymise rule without a key raises :class:`~assay.errors.TargetError` (not retryable: the key
connection must be created), so the run is ERROR and nothing is written; a missing source raises
:class:`~assay.sources.DataSourceError` (ERROR).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.engines.test_data import snapshots
from assay.engines.test_data.config import SampleConfig
from assay.engines.test_data.leak import leak_check
from assay.engines.test_data.masking import mask_frame, needs_key, seeded_hash, validate_masking
from assay.errors import ConfigError, TargetError
from assay.inventory import ColumnTag, PersonalDataInventory
from assay.results import Result
from assay.status import Status, worst
from assay.store.records import MetricRecord

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from assay.sources import TableSource

__all__ = ["KIND", "draw_sample", "prefetch", "run_sample"]

KIND = "test_data"
LEAK_CHUNK_ROWS = 500_000


def _priorities(chunk: pd.DataFrame, key_column: str | None, start: int, seed: int) -> np.ndarray:
    import numpy as np
    import pandas as pd

    if key_column is not None:
        return seeded_hash(chunk[key_column], seed)
    return seeded_hash(pd.Series(np.arange(start, start + len(chunk)), dtype="int64"), seed)


def draw_sample(
    source: TableSource,
    fraction: float,
    *,
    stratify: str | None,
    seed: int,
    key_column: str | None,
    columns: list[str] | None = None,
    chunk_rows: int | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The stratified, seeded draw (module docstring): the sampled rows in source order, and figures
    (rows read, per-stratum rows and draws)."""
    import numpy as np
    import pandas as pd

    margin = 0.02 + 0.1 * fraction
    cut = np.uint64(min(2**64 - 1, int((fraction + margin) * 2**64))) if fraction + margin < 1 else None
    kept: list[pd.DataFrame] = []
    kept_prio: list[np.ndarray] = []
    all_prio: list[np.ndarray] = []
    all_strata: list[Any] = []
    rows = 0
    for chunk in prefetch(source.iter_chunks(columns=columns, chunk_rows=chunk_rows)):
        for needed in (key_column, stratify):
            if needed is not None and needed not in chunk.columns:
                raise ConfigError(f"test data sample: column {needed!r} is not in the source {source.label}")
        prio = _priorities(chunk, key_column, rows, seed)
        rows += len(chunk)
        all_prio.append(prio)
        if stratify is not None:
            all_strata.append(chunk[stratify].to_numpy())
        mask = prio < cut if cut is not None else np.ones(len(chunk), bool)
        kept.append(chunk.iloc[np.flatnonzero(mask)])
        kept_prio.append(prio[mask])
    prio = np.concatenate(all_prio) if all_prio else np.zeros(0, np.uint64)
    codes, labels = (
        pd.factorize(np.concatenate(all_strata), use_na_sentinel=False)
        if stratify is not None and all_strata
        else (np.zeros(len(prio), np.int64), np.array(["all"], dtype=object))
    )
    thresholds = np.zeros(len(labels), dtype=np.uint64)
    draws, sizes = [], []
    for s in range(len(labels)):
        p = prio[codes == s]
        n = int(round(fraction * len(p)))
        sizes.append(len(p))
        draws.append(n)
        thresholds[s] = np.partition(p, n - 1)[n - 1] if n else 0
    has_draw = np.array([d > 0 for d in draws], dtype=bool)
    del prio, codes, all_prio, all_strata
    lookup = {lab: i for i, lab in enumerate(labels) if not pd.isna(lab)}
    nan_code = next((i for i, lab in enumerate(labels) if pd.isna(lab)), -1)

    def selected(chunk: pd.DataFrame, prio: np.ndarray) -> np.ndarray:
        if not len(chunk):
            return np.zeros(0, bool)
        if stratify is None:
            codes = np.zeros(len(chunk), np.int64)
        else:
            values = pd.Series(chunk[stratify].to_numpy(), dtype=object)
            codes = values.map(lookup).fillna(nan_code).to_numpy(dtype=np.int64)
        return (prio <= thresholds[codes]) & has_draw[codes]

    if cut is not None and bool((thresholds[has_draw] >= cut).any()):
        passes, kept, start = 2, [], 0  # a small stratum's cut lies beyond the first pass: read again
        for chunk in prefetch(source.iter_chunks(columns=columns, chunk_rows=chunk_rows)):
            prio = _priorities(chunk, key_column, start, seed)
            start += len(chunk)
            kept.append(chunk.iloc[np.flatnonzero(selected(chunk, prio))])
    else:
        passes = 1
        kept = [c.iloc[np.flatnonzero(selected(c, p))] for c, p in zip(kept, kept_prio, strict=True)]
    frame = pd.concat(kept) if len(kept) > 1 else (kept[0] if kept else pd.DataFrame())
    sample = frame.reset_index(drop=True)
    strata = [
        {"stratum": None if pd.isna(lab) else str(lab), "rows": int(size), "drawn": int(draw)}
        for lab, size, draw in zip(labels, sizes, draws, strict=True)
    ]
    return sample, {"rows_read": rows, "rows_sampled": len(sample), "strata": strata, "passes": passes}


def prefetch(chunks: Iterator[pd.DataFrame], depth: int = 1) -> Iterator[pd.DataFrame]:
    """``chunks`` read one ahead on a background thread: decoding the next chunk (Arrow and Parquet release
    the GIL) overlaps the work on this one. Errors are raised here, in order."""
    import queue
    import threading

    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def fill() -> None:
        try:
            for chunk in chunks:
                if stop.is_set():
                    return
                box.put(("chunk", chunk))
            box.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            box.put(("error", exc))

    thread = threading.Thread(target=fill, name="assay-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, item = box.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                box.get_nowait()
            except queue.Empty:
                thread.join(0.05)


@contextmanager
def _system_arrow_pool() -> Iterator[None]:
    """Arrow allocates from the C library's allocator while a sample runs: mimalloc (the wheels' default)
    keeps the pages of freed chunks, so streaming 10M rows twice held about 300 MB more at its peak. Buffers
    remember their pool, so switching back afterwards is safe; the switch is process-wide for its duration
    (a task process runs one sample at a time)."""
    import pyarrow as pa

    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def _release_arrow_memory() -> None:
    """Hand the chunks' freed Arrow buffers back to the system (the pool keeps them otherwise)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _peek_columns(source: TableSource) -> list[str]:
    for chunk in source.iter_chunks(chunk_rows=1):
        return [str(c) for c in chunk.columns]
    return []


def run_sample(
    dataset: str,
    cfg: SampleConfig,
    *,
    inventory: PersonalDataInventory,
    key: bytes | None,
    snapshot_root: Path,
    source: TableSource | None = None,
    now: datetime | None = None,
) -> Result:
    """Draw, mask, leak-check and (when every check passes) publish an anonymised sample of ``dataset``."""
    with _system_arrow_pool():
        return _run_sample(
            dataset, cfg, inventory=inventory, key=key, snapshot_root=snapshot_root, source=source, now=now
        )


def _run_sample(
    dataset: str,
    cfg: SampleConfig,
    *,
    inventory: PersonalDataInventory,
    key: bytes | None,
    snapshot_root: Path,
    source: TableSource | None = None,
    now: datetime | None = None,
) -> Result:
    from assay.sources import DataSource, DataSourceError

    started = now or datetime.now(UTC)
    t0 = time.monotonic()
    name = f"{dataset}:sample"
    try:
        store = inventory.store(cfg.inventory_store)
    except KeyError as exc:
        raise ConfigError(f"test data sample of {dataset!r}: {exc.args[0]}") from None
    personal = store.columns_tagged(ColumnTag.PERSONAL)
    validate_masking([], cfg.masking)  # each rule complete, before anything is read
    keyed = needs_key(cfg.masking)
    if keyed and not key:
        raise TargetError(
            f"test data sample of {dataset!r}: the pseudonymisation key is absent (column(s) {', '.join(keyed)} "
            "need it); nothing was read or written",
            retryable=False,
        )
    src = source if source is not None else DataSource.from_dict(cfg.source)
    columns = _peek_columns(src)  # a missing source raises DataSourceError here
    validate_masking(personal, cfg.masking, columns)  # every personal column of the source has a rule
    # the leak check looks for the values of every personal column, and of every column a rule masks (a
    # column masked on purpose is personal even where the inventory forgot to tag it)
    personal_present = list(dict.fromkeys([c for c in personal if c in columns] + list(cfg.masking)))
    named = {"free_text_columns": cfg.free_text_columns, "quasi_identifiers": cfg.quasi_identifiers or []}
    for field_name, wanted in named.items():
        absent = [c for c in wanted if c not in columns]
        if absent:
            raise ConfigError(f"test data sample of {dataset!r}: {field_name} not in the source: {', '.join(absent)}")
    quasi = (
        cfg.quasi_identifiers if cfg.quasi_identifiers is not None else store.columns_tagged(ColumnTag.QUASI_IDENTIFIER)
    )
    key_column = cfg.key_column or (store.subject_column if store.subject_column in columns else None)

    sample, draw = draw_sample(
        src, cfg.fraction, stratify=cfg.stratify, seed=cfg.seed, key_column=key_column, columns=None
    )
    if draw["rows_read"] == 0:
        raise DataSourceError(f"test data sample of {dataset!r}: the source {src.label} has no rows; nothing published")
    if draw["rows_sampled"] == 0:
        raise ConfigError(
            f"test data sample of {dataset!r}: fraction {cfg.fraction} draws no row from {draw['rows_read']} rows"
        )
    _release_arrow_memory()
    masked = mask_frame(sample, cfg.masking, key=key, seed=cfg.seed, locale=cfg.locale)
    report = leak_check(
        prefetch(src.iter_chunks(columns=personal_present, chunk_rows=LEAK_CHUNK_ROWS)),
        masked,
        personal_columns=personal_present,
        free_text_columns=cfg.free_text_columns,
        quasi_identifiers=quasi,
        k=cfg.k_anonymity,
        digest_source=sample[personal_present],
    )
    del sample
    _release_arrow_memory()
    size = 0
    snapshot = None
    if report.passed:
        staging, snap_id, created = snapshots.staging_dir(snapshot_root, dataset, "sample", now)
        try:
            masked.to_parquet(staging / snapshots.DATA_FILE, index=False)
            snapshot = snapshots.publish(
                staging,
                dataset=dataset,
                step="sample",
                snap_id=snap_id,
                created_at=created,
                rows=len(masked),
                detail={
                    "fraction": cfg.fraction,
                    "stratify": cfg.stratify,
                    "seed": cfg.seed,
                    "masked_columns": sorted(cfg.masking),
                    "smallest_group": report.smallest_group,
                },
            )
        except BaseException:
            snapshots.discard(staging)
            raise
        size = int(snapshot.manifest["bytes"])
    duration = time.monotonic() - t0
    rows_read, rows_sampled = draw["rows_read"], draw["rows_sampled"]
    labels = {"dataset": dataset}
    metrics = [
        MetricRecord("rows_read", float(rows_read), "rows", labels),
        MetricRecord("rows_sampled", float(rows_sampled), "rows", labels),
        MetricRecord("rows", float(rows_sampled if snapshot is not None else 0), "rows", labels),  # published
        MetricRecord("sample_share", rows_sampled / rows_read if rows_read else 0.0, "ratio", labels),
        MetricRecord("masked_columns", float(len(cfg.masking)), "columns", labels),
        MetricRecord("smallest_k", float(report.smallest_group or 0), "rows", labels),
        MetricRecord("bytes", float(size), "bytes", labels),
        MetricRecord("duration_s", duration, "s", labels),
    ]
    status = worst([Status(c.status) for c in report.checks])
    if snapshot is not None:
        message = (
            f"published sample {snapshot.id}: {rows_sampled} of {rows_read} rows, {len(cfg.masking)} columns masked"
        )
    else:
        failed = [f"{c.name}: {c.message}" for c in report.checks if c.status != Status.PASS.value]
        message = f"leak check failed, nothing published - {'; '.join(failed)}"
    return Result(
        name=name,
        kind=KIND,
        status=status,
        message=message,
        started_at=started,
        finished_at=started + timedelta(seconds=duration),
        checks=report.checks,
        metrics=metrics,
        summary={
            "source": getattr(src, "label", "source"),
            "snapshot": {"id": snapshot.id, "path": str(snapshot.path)} if snapshot else None,
            "draw": draw,
            "key_column": key_column,
            "masked_columns": {c: r.method for c, r in cfg.masking.items()},
            "leak": report.figures,
        },
    )
