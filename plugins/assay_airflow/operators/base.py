"""What every Assay operator shares: config, the metrics store, run keys, and record-then-fail."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import BaseOperator, BaseOperatorLink
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from assay.config import AssayConfig, load_config
from assay.errors import AssayError, ConfigError
from assay.redaction import redact, strip_url_credentials
from assay.results import Result, error_result, suite_run_record
from assay.status import Status
from assay.store import RecordRejected, RunKey, StoreUnavailable, SuiteRunRecord
from assay.store.outbox import record_or_park
from assay.summary import run_detail_url, summarize
from assay_airflow.hooks.metrics_db import MetricsDbHook
from assay_airflow.masking import mask_config_credentials

if TYPE_CHECKING:
    from airflow.sdk import Context

SUMMARY_XCOM = "assay_summary"
REPORT_XCOM = "assay_report"

#: libraries whose INFO chatter buries a task's own lines (Great Expectations registers ~200 expectations at
#: INFO on every run); inside an Assay task they log from WARNING up.
NOISY_LOGGERS = (
    "great_expectations",
    "alembic",
    "urllib3",
    "matplotlib",
    "numexpr",
    "posthog",
    "py4j",
    "evidently",
    "mlflow",
    "httpx",
)


@contextmanager
def quiet_libraries(names: tuple[str, ...] = NOISY_LOGGERS) -> Iterator[None]:
    """Raise ``names``' loggers to WARNING for the block, then restore their levels."""
    import logging

    loggers = [logging.getLogger(n) for n in names]
    before = [lg.level for lg in loggers]
    for lg in loggers:
        if lg.getEffectiveLevel() < logging.WARNING:
            lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, before, strict=True):
            lg.setLevel(level)


def run_key(context: Context) -> RunKey:
    ti = context["ti"]
    map_index = ti.map_index if ti.map_index is not None else -1
    return RunKey(ti.dag_id, ti.run_id, ti.task_id, map_index, ti.try_number)


def task_work_dir(context: Context, area: str = "results") -> Path:
    """A directory of this task try under ``$ASSAY_HOME/<area>`` for reports, logs and tool outputs."""
    import re

    from assay.config import assay_home

    def safe(part: str) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", part)

    k = run_key(context)
    return assay_home() / area / safe(k.dag_id) / safe(k.run_id) / f"{safe(k.task_id)}.{k.map_index}.{k.try_number}"


def triggering_asset_extras(context: Context) -> dict[str, list[dict[str, Any]]]:
    """The Asset events that triggered this DAG run: asset URI -> the events' extras (empty if none)."""
    accessor = context.get("triggering_asset_events")
    if not accessor:
        return {}
    return {asset.uri: [dict(event.extra or {}) for event in accessor[asset]] for asset in accessor}


def raise_for(status: Status, message: str, *, retryable: bool = True) -> None:
    """Record, then fail: FAIL is final (no retry); ERROR is retried unless ``retryable`` is False (a
    cause a retry cannot change: a bad parameter, a commit that does not exist, a suite out of time)."""
    message = strip_url_credentials(message)
    if status is Status.FAIL:
        raise AirflowFailException(message)
    if status is Status.ERROR:
        raise (AirflowException if retryable else AirflowFailException)(message)


def _base_url(operator: Any) -> str | None:
    try:
        return operator.assay_config.airflow_base_url
    except Exception:  # noqa: BLE001 - a link never fails the task
        return None


class AssayRunLink(BaseOperatorLink):
    """The run's detail page on the Assay page: ``{airflow_base_url}/assay/runs/{dag_id}/{run_id}``."""

    name = "Assay run"

    def get_link(self, operator, *, ti_key) -> str:
        return run_detail_url(_base_url(operator), ti_key.dag_id, ti_key.run_id) or ""


def report_url(base_url: str | None, report: str) -> str:
    """Where a browser opens a report: a URL as it is; a file under ``ASSAY_HOME`` through the Assay page
    (``{base}/assay/reports/<path under ASSAY_HOME>``); any other file as a ``file://`` URI."""
    from urllib.parse import quote

    from assay.paths import assay_home

    if report.startswith(("http://", "https://")):
        return report
    path = Path(report)
    try:
        rel = path.resolve().relative_to(assay_home())
    except (ValueError, OSError):
        return path.resolve().as_uri() if path.is_absolute() else report
    if not base_url:
        return path.resolve().as_uri()
    return f"{base_url.rstrip('/')}/assay/reports/{quote(rel.as_posix())}"


class AssayReportLink(BaseOperatorLink):
    """The HTML report the task's result names (empty when it names none). The path is the one the task
    pushed to XCom (``assay_report``); in the task's own process, the one it just found."""

    name = "Assay report"

    def get_link(self, operator, *, ti_key) -> str:
        report = getattr(operator, "_assay_report", None)
        if not report and hasattr(ti_key, "xcom_pull"):
            try:
                report = ti_key.xcom_pull(task_ids=ti_key.task_id, key=REPORT_XCOM)
            except Exception:  # noqa: BLE001
                report = None
        return report_url(_base_url(operator), str(report)) if report else ""


class AssayOperator(BaseOperator):
    """Base for Assay operators. Subclasses keep ``__init__`` to argument assignment.

    Every ``execute`` ends the same way: the task log's last Assay line is the summary of what the task
    recorded (:func:`assay.summary.summarize`: counts, failed tests with file:line, failed gates with observed
    vs threshold, the report, the run's detail page); XCom holds it (``assay_summary``), the HTML report's
    path (``assay_report``) and, when the task fails, the failed result's ``describe_dict()`` as its
    ``return_value`` (a successful task returns its own value, as before)."""

    ui_color = "#e8f1fb"
    operator_extra_links = (AssayRunLink(), AssayReportLink())

    def __init__(self, *, metrics_conn_id: str = MetricsDbHook.default_conn_name, **kwargs) -> None:
        super().__init__(**kwargs)
        self.metrics_conn_id = metrics_conn_id

    @cached_property
    def metrics_hook(self) -> MetricsDbHook:
        return MetricsDbHook(self.metrics_conn_id)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """What an Assay operator returns to XCom never carries a URL's credentials."""
        super().__init_subclass__(**kwargs)
        execute = cls.__dict__.get("execute")
        if execute is not None:

            @functools.wraps(execute)
            def execute_redacted(self, context):
                if getattr(self, "_assay_executing", False):  # a subclass's execute calling its parent's
                    return redact(execute(self, context))
                self._assay_executing = True
                self._assay_results = []
                try:
                    with quiet_libraries():
                        value = execute(self, context)
                except BaseException as exc:  # a skip is no failure: its return_value stays empty
                    self._assay_finish(context, failed=not isinstance(exc, AirflowSkipException))
                    raise
                finally:
                    self._assay_executing = False
                self._assay_finish(context, failed=False)
                return redact(value)

            cls.execute = execute_redacted

    def _assay_finish(self, context: Context, *, failed: bool) -> None:
        """Log the summary of what this task recorded and push it to XCom (never raises: the task's own
        outcome stands)."""
        results: list[Result] = list(getattr(self, "_assay_results", []))
        if not results:
            return
        try:
            ti = context["ti"]
            summary = summarize(results, detail_url=run_detail_url(_base_url(self), ti.dag_id, ti.run_id))
            self._assay_report = summary.report
            self.log.info("%s", summary.text())
        except Exception as exc:  # noqa: BLE001
            self.log.warning("could not build the task summary: %s", strip_url_credentials(str(exc)))
            return
        try:
            ti.xcom_push(SUMMARY_XCOM, redact(summary.as_dict()))
            if summary.report:
                ti.xcom_push(REPORT_XCOM, summary.report)
            if failed:
                bad = [r for r in results if r.status.is_failure] or results
                ti.xcom_push("return_value", redact(bad[-1].describe_dict()))
        except Exception as exc:  # noqa: BLE001
            self.log.warning("could not push the task summary to XCom: %s", strip_url_credentials(str(exc)))

    @cached_property
    def assay_config(self) -> AssayConfig:
        try:
            cfg = load_config()
        except ConfigError as exc:
            raise AirflowFailException(f"Assay configuration error: {exc}") from None
        mask_config_credentials(cfg)  # the config's URL credentials never reach the task log
        return cfg

    def record(self, record: SuiteRunRecord) -> int:
        """Write ``record`` (retrying, parking it in the outbox if the DB stays down).

        DB down: the record is parked and a retryable ``AirflowException`` raised (the retry, or any
        other task's next recording, flushes it). DB refusing the record itself: it is kept in the
        outbox's dead-letter directory and the task fails for good (a retry would be refused again)."""
        hook = self.metrics_hook
        try:
            return record_or_park(hook.store, hook.outbox, record)
        except StoreUnavailable as exc:
            raise AirflowException(f"{exc}; the result is parked in the outbox and will be recorded on retry") from exc
        except RecordRejected as exc:
            raise AirflowFailException(str(exc)) from exc

    def record_error(
        self,
        context: Context,
        error: AssayError,
        *,
        kind: str,
        name: str,
        started_at: datetime,
        summary: dict[str, Any] | None = None,
        **ids: Any,
    ) -> NoReturn:
        """Record ``error`` as this task's ERROR result for ``name`` (:func:`assay.results.error_result`), then
        raise: final when the error says a retry cannot help (``error.retryable``: a config or parameter error,
        a missing commit), retryable otherwise (a target or tool that failed for now)."""
        result = error_result(error, kind=kind, name=name, started_at=started_at, summary=summary)
        self.record_result(context, result, **ids)
        raise_for(Status.ERROR, f"{name}: ERROR: {result.message}", retryable=error.retryable)

    @contextmanager
    def recording_errors(
        self,
        context: Context,
        *,
        kind: str,
        name: str,
        started_at: datetime,
        summary: dict[str, Any] | None = None,
        **ids: Any,
    ) -> Iterator[None]:
        """Run the block; an ``AssayError`` raised in it is recorded as ERROR and raised as the task's
        failure (see :meth:`record_error`). Nothing an engine reports is lost between its raise and the DB."""
        try:
            yield
        except AssayError as exc:
            self.record_error(context, exc, kind=kind, name=name, started_at=started_at, summary=summary, **ids)

    def record_result(self, context: Context, result: Result, *, started_at: datetime | None = None, **ids: Any) -> str:
        """Record an engine's :class:`~assay.results.Result` as one suite run of this task try, with the ids
        of what was tested (``target``, ``commit_sha``, ``branch``, ``model_version``, ``dataset``).

        ``started_at``: the task's own start, when the suite run began before the engine did (a service
        started for it, a baseline read). Returns the result's message, the reason to put in the task's
        failure (never empty)."""
        if not isinstance(result, Result):
            raise TypeError(f"record_result takes an assay.results.Result, not {type(result).__name__}")
        if isinstance(getattr(self, "_assay_results", None), list):
            self._assay_results.append(result)
        self.record(suite_run_record(result, run_key(context), started_at=started_at, **ids))
        return result.message
