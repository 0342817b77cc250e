"""Transient failures are retried with exponential backoff (tenacity), on an injected sleep."""

from __future__ import annotations

import shutil

import pytest
from support.records import make_record

from assay.store import MetricsStore, StoreUnavailable


def test_an_unreachable_database_is_retried_with_doubling_waits_then_reported(tmp_path):
    sleeps: list[float] = []
    down = MetricsStore(
        f"sqlite:///{tmp_path / 'gone' / 'm.db'}", attempts=5, backoff_s=0.5, max_backoff_s=2.0, sleep=sleeps.append
    )
    shutil.rmtree(tmp_path / "gone")
    with pytest.raises(StoreUnavailable, match="after 5 attempts: .*unable to open database file") as err:
        down.record_suite_run(make_record())
    assert sleeps == [0.5, 1.0, 2.0, 2.0]
    assert err.value.retryable  # a retry of the task may find the database back


def test_an_error_about_the_statement_is_not_retried(tmp_path):
    sleeps: list[float] = []
    store = MetricsStore(f"sqlite:///{tmp_path / 'm.db'}", attempts=5, backoff_s=0.5, sleep=sleeps.append)
    # never migrated: "no such table" is an answer about the statement, not an outage
    with pytest.raises(Exception, match="no such table"):
        store.record_suite_run(make_record())
    assert sleeps == []
