"""Operators of ``assay_drift_checks`` and ``assay_data_quality``: one configured dataset each.

A run triggered by Asset events checks only the datasets whose Asset fired; a scheduled or manual run
checks them all. Every statistic, expectation and verdict is recorded before the task fails.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from assay.config import DatasetConfig
from assay.errors import AssayError, ConfigError
from assay.results import error_result
from assay.status import Status, worst
from assay_airflow.hooks.sql import data_source
from assay_airflow.operators.base import AssayOperator, raise_for, triggering_asset_extras

if TYPE_CHECKING:
    from airflow.sdk import Context


class _DatasetOperator(AssayOperator):
    template_fields = ("dataset",)

    def __init__(self, *, dataset: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dataset = dataset

    def dataset_config(self, context: Context) -> DatasetConfig:
        try:
            ds = self.assay_config.datasets[self.dataset]
        except KeyError:
            raise AirflowFailException(f"dataset {self.dataset!r} is not configured in assay.yaml") from None
        chosen = (context.get("params") or {}).get("dataset") or "all"
        if chosen not in ("all", self.dataset):
            raise AirflowSkipException(f"this run checks dataset {chosen!r}")
        events = triggering_asset_extras(context)
        if events and ds.asset not in events:
            raise AirflowSkipException(f"this run was triggered by {sorted(events)}, not by {ds.asset!r}")
        return ds


class DriftCheckOperator(_DatasetOperator):
    """Data drift (reference vs current, per column and for the dataset), prediction drift, and, where
    labels arrived, performance decay per time window. XCom: the drift summary."""

    def execute(self, context: Context) -> dict[str, Any]:
        from assay.engines.drift import DecayConfig, DriftConfig, run_drift, run_performance_decay

        ds = self.dataset_config(context)
        self._skip_unless_due(context)
        started = datetime.now(UTC)
        with self.recording_errors(context, kind="drift", name="data_drift", started_at=started, dataset=self.dataset):
            if ds.reference is None or ds.drift is None:
                raise ConfigError(f"dataset {self.dataset!r} needs 'reference' and 'drift' for a drift check")
            current, reference = data_source(ds.current), data_source(ds.reference)
            result = run_drift(reference, current, DriftConfig.from_mapping(ds.drift))
        self.record_result(context, result, started_at=started, dataset=self.dataset)
        statuses = [result.status]
        if ds.concept is not None:
            started = datetime.now(UTC)
            with self.recording_errors(
                context, kind="drift", name="concept_drift", started_at=started, dataset=self.dataset
            ):
                decay = run_performance_decay(current, DecayConfig.from_mapping(ds.concept), reference=reference)
            self.record_result(context, decay, started_at=started, dataset=self.dataset)
            statuses.append(decay.status)
        verdict = worst(statuses)
        self.log.info("drift of %s: %s: %s", self.dataset, verdict.value, result.message)
        raise_for(verdict, f"dataset {self.dataset!r}: drift {verdict.value}: {result.message}")
        return result.describe_dict()

    def _skip_unless_due(self, context: Context) -> None:
        """A scheduled run checks a dataset only when its own cron is due at the run's time."""
        from croniter import croniter

        dag_run = context.get("dag_run")
        if dag_run is None or str(getattr(dag_run, "run_type", "")) not in ("scheduled", "DagRunType.SCHEDULED"):
            return
        cron = self.assay_config.drift_cron(self.dataset)
        when = getattr(dag_run, "run_after", None) or getattr(dag_run, "logical_date", None)
        if when is not None and not croniter.match(cron, when):
            raise AirflowSkipException(f"dataset {self.dataset!r} follows {cron!r}, not due at {when}")


class DataQualityOperator(_DatasetOperator):
    """Validate the dataset's current data with its Great Expectations suite; write the HTML report."""

    def execute(self, context: Context) -> dict[str, Any]:
        from assay.config import assay_home
        from assay.engines.data_quality import run_data_quality

        ds = self.dataset_config(context)
        if not ds.quality_suite:
            raise AirflowSkipException(f"dataset {self.dataset!r} names no quality_suite")
        started = datetime.now(UTC)
        dq = self.assay_config.data_quality
        report_dir = dq.report_dir or str(assay_home() / "reports" / "data_quality")
        with self.recording_errors(
            context,
            kind="data_quality",
            name=f"data_quality:{ds.quality_suite}",
            started_at=started,
            dataset=self.dataset,
        ):
            result = run_data_quality(
                data_source(ds.current),
                ds.quality_suite,
                data_name=self.dataset,
                report_dir=report_dir,
                suites_dir=dq.suites_dir,
            )
        reason = self.record_result(context, result, started_at=started, dataset=self.dataset)
        self.log.info("data quality of %s: %s: %s", self.dataset, result.status.value, reason)
        raise_for(result.status, f"dataset {self.dataset!r} suite {result.suite_name!r}: {reason}")
        return result.describe_dict()


class GoldenDatasetsOperator(AssayOperator):
    """Validate every configured golden dataset against its committed schema and statistics."""

    def execute(self, context: Context) -> dict[str, str]:
        from assay.engines.data_quality import validate_golden

        verdicts: dict[str, str] = {}
        errors: list[AssayError] = []
        dq = self.assay_config.data_quality
        for name in dq.golden:
            started = datetime.now(UTC)
            try:
                result = validate_golden(name, directory=dq.golden_dir)
            except AssayError as exc:  # recorded; the other golden datasets are still validated
                failed = error_result(exc, kind="data_quality", name=f"golden:{name}", started_at=started)
                self.record_result(context, failed, dataset=name)
                verdicts[name] = Status.ERROR.value
                errors.append(exc)
                continue
            self.record_result(context, result, started_at=started, dataset=name)
            verdicts[name] = result.status.value
        verdict = worst(verdicts.values(), empty=Status.SKIP)
        reasons = "".join(f"; {e}" for e in errors)
        raise_for(verdict, f"golden datasets: {verdicts}{reasons}", retryable=any(e.retryable for e in errors))
        return verdicts
