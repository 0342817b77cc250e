"""What every Assay operator shares: config, the metrics store, run keys, and record-then-fail."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, NoReturn

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from assay.config import AssayConfig, load_config
from assay.errors import ConfigError
from assay.status import Status
from assay.store import RunKey, StoreUnavailable, SuiteRunRecord
from assay.store.outbox import record_or_park
from assay_airflow.hooks.metrics_db import MetricsDbHook

if TYPE_CHECKING:
    from airflow.sdk import Context


def run_key(context: Context) -> RunKey:
    ti = context["ti"]
    map_index = ti.map_index if ti.map_index is not None else -1
    return RunKey(ti.dag_id, ti.run_id, ti.task_id, map_index, ti.try_number)


def raise_for(status: Status, message: str) -> None:
    """Record, then fail: FAIL is final (no retry), ERROR is retryable."""
    if status is Status.FAIL:
        raise AirflowFailException(message)
    if status is Status.ERROR:
        raise AirflowException(message)


class AssayOperator(BaseOperator):
    """Base for Assay operators. Subclasses keep ``__init__`` to argument assignment."""

    ui_color = "#e8f1fb"

    def __init__(self, *, metrics_conn_id: str = MetricsDbHook.default_conn_name, **kwargs) -> None:
        super().__init__(**kwargs)
        self.metrics_conn_id = metrics_conn_id

    @cached_property
    def metrics_hook(self) -> MetricsDbHook:
        return MetricsDbHook(self.metrics_conn_id)

    @cached_property
    def assay_config(self) -> AssayConfig:
        try:
            return load_config()
        except ConfigError as exc:
            raise AirflowFailException(f"Assay configuration error: {exc}") from None

    def record(self, record: SuiteRunRecord) -> int:
        """Write ``record`` (retrying, parking it in the outbox if the DB stays down)."""
        hook = self.metrics_hook
        try:
            return record_or_park(hook.store, hook.outbox, record)
        except StoreUnavailable as exc:
            raise AirflowException(f"{exc}; the result is parked in the outbox and will be recorded on retry") from exc

    def fail_bad_input(self, message: str) -> NoReturn:
        raise AirflowFailException(message)
