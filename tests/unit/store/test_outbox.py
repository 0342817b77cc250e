"""A metrics DB outage while recording: retried, parked, flushed later, never duplicated.

The outage is real: the store talks to PostgreSQL through a loopback TCP proxy that refuses
connections while it is down. Without PostgreSQL, a SQLite file in a directory made read-only and
then writable again plays the same part.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from support.records import make_record
from support.tcp_proxy import OutageProxy

from assay.store import MetricsStore, StoreUnavailable
from assay.store.models import SuiteRun, TestCase
from assay.store.outbox import Outbox, record_or_park


def rows(store) -> tuple[int, int]:
    with Session(store.engine) as s:
        return s.scalar(select(func.count()).select_from(SuiteRun)), s.scalar(
            select(func.count()).select_from(TestCase)
        )


@pytest.fixture
def proxied(postgres_url):
    MetricsStore(postgres_url).migrate()
    url = make_url(postgres_url)
    proxy = OutageProxy((url.host, url.port or 5432))
    store = MetricsStore(url.set(host="127.0.0.1", port=proxy.port).render_as_string(False), attempts=3, backoff_s=0.05)
    yield store, proxy
    store.dispose()
    proxy.close()


@pytest.mark.postgres
def test_short_outage_is_ridden_out_by_the_retries(proxied):
    store, proxy = proxied
    proxy.set_down(True)
    threading.Timer(0.08, proxy.set_down, args=(False,)).start()
    store.backoff_s = 0.2
    store.record_suite_run(make_record())
    assert proxy.refused >= 1
    assert rows(store) == (1, 2)


@pytest.mark.postgres
def test_long_outage_parks_the_result_and_the_next_attempt_flushes_it_once(proxied, tmp_path):
    store, proxy = proxied
    outbox = Outbox(tmp_path / "outbox")
    proxy.set_down(True)
    with pytest.raises(StoreUnavailable):
        record_or_park(store, outbox, make_record(try_number=1, status="ERROR"))
    with pytest.raises(StoreUnavailable):  # parking the same key twice keeps one file
        record_or_park(store, outbox, make_record(try_number=1, status="ERROR"))
    assert len(outbox.pending()) == 1
    proxy.set_down(False)
    record_or_park(store, outbox, make_record(try_number=2, status="FAIL"))  # the retry's own result
    assert outbox.pending() == []
    assert rows(store) == (2, 4)
    assert outbox.flush(store) == 0 and rows(store) == (2, 4)
    statuses = sorted((r.try_number, r.status) for r in Session(store.engine).scalars(select(SuiteRun)))
    assert statuses == [(1, "ERROR"), (2, "FAIL")]


def test_sqlite_outage_parks_and_flushes(tmp_path):
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    good = MetricsStore(f"sqlite:///{db_dir / 'm.db'}")
    good.migrate()
    down = MetricsStore(f"sqlite:///{tmp_path / 'missing-dir' / 'x' / 'm.db'}", attempts=2, backoff_s=0.01)
    down.engine.url  # noqa: B018 - engine built, never reachable: the directory does not exist
    import shutil

    shutil.rmtree(tmp_path / "missing-dir")
    outbox = Outbox(tmp_path / "outbox")
    with pytest.raises(StoreUnavailable):
        record_or_park(down, outbox, make_record())
    assert len(outbox.pending()) == 1
    assert outbox.flush(good) == 1 and outbox.flush(good) == 0
    assert rows(good) == (1, 2)
