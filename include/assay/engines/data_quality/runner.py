"""Validate a pandas DataFrame against a suite with Great Expectations 1.x in an ephemeral context.

Every call builds its own in-memory (``mode="ephemeral"``) Data Context, data source, batch definition,
suite and validation definition, and nothing is written to disk. Parallel Airflow tasks therefore
share no GE project directory or store files (the race the GE Airflow provider has with a shared
file context), and every GE object used here is bound to its own context, not GE's process-wide
"current" one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from assay.engines.data_quality.outcomes import MAX_EXAMPLES, ExpectationOutcome, json_safe, outcome_from_ge
from assay.engines.data_quality.result import KIND, DataQualityResult
from assay.engines.data_quality.suites import SuiteRef, SuiteSpec, load_suite
from assay.errors import ConfigError
from assay.status import Status

NO_ROWS = "assay_dataset_has_rows"


def ephemeral_context():
    """A fresh in-memory GE Data Context: no files, no analytics, no progress bars."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _rows_guard(row_count: int) -> ExpectationOutcome:
    """Assay's own check that there is anything to validate (GE passes many expectations on 0 rows)."""
    ok = row_count > 0
    return ExpectationOutcome(
        expectation_type=NO_ROWS,
        status=Status.PASS if ok else Status.ERROR,
        kwargs={"min_value": 1},
        observed_value=row_count,
        source="assay",
        message=f"{row_count} rows" if ok else "the dataset has no rows: an empty dataset cannot show data quality",
    )


def validate_dataframe(
    df: pd.DataFrame,
    suite: SuiteRef,
    *,
    data_name: str,
    partial_unexpected_count: int = MAX_EXAMPLES,
    suites_dir: str | Path | None = None,
    name: str | None = None,
) -> DataQualityResult:
    """Run every expectation of ``suite`` on ``df`` and return each one's outcome.

    :param df: the data; never modified.
    :param suite: a suite name (``<suites_dir>/<name>.json``), a path to a GE suite JSON file, a dict in
        that format, a :class:`SuiteSpec` or a ``gx.ExpectationSuite`` (copied).
    :param data_name: what the data is, for results and reports (e.g. ``transactions@2025-01-01``).
    :param suites_dir: where suite names are looked up (``data_quality.suites_dir`` in ``assay.yaml``).
    :param name: the suite run's name (default ``data_quality:<suite>``).
    Raises :class:`ConfigError` for a bad suite or a non-DataFrame; a failure inside GE is an ERROR result.
    """
    if not isinstance(df, pd.DataFrame):
        raise ConfigError(f"validate_dataframe needs a pandas DataFrame for {data_name!r}, got {type(df).__name__}")
    spec = load_suite(suite, suites_dir)
    started = datetime.now(UTC)
    import great_expectations as gx

    columns = tuple(str(c) for c in df.columns)
    base = dict(
        name=name or f"{KIND}:{spec.name}",
        suite_name=spec.name,
        data_name=data_name,
        row_count=len(df),
        columns=columns,
        suite_source=spec.source,
        ge_version=gx.__version__,
    )
    try:
        raw, stats = _run_ge(df, spec, partial_unexpected_count)
    except Exception as exc:  # noqa: BLE001 - GE itself broke: the dataset could not be evaluated
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())
        return DataQualityResult(
            started_at=started,
            finished_at=datetime.now(UTC),
            outcomes=(_rows_guard(len(df)),),
            error=f"Great Expectations failed to run the suite: {detail}",
            **base,
        )
    outcomes = [_rows_guard(len(df))]
    for entry, result in zip(spec.expectations, raw, strict=True):
        if result is None:
            outcomes.append(
                ExpectationOutcome(
                    expectation_type=entry["type"],
                    status=Status.ERROR,
                    kwargs=json_safe(entry["kwargs"]),
                    message="GE returned no result for this expectation",
                )
            )
        else:
            outcomes.append(
                outcome_from_ge(
                    result, row_count=len(df), dataset_columns=columns, personal_columns=spec.personal_columns
                )
            )
    return DataQualityResult(
        started_at=started, finished_at=datetime.now(UTC), outcomes=tuple(outcomes), ge_statistics=stats, **base
    )


def _run_ge(df: pd.DataFrame, spec: SuiteSpec, partial_unexpected_count: int) -> tuple[list[Any], dict[str, Any]]:
    """GE's per-expectation result dicts, in the suite's order (None where GE returned none)."""
    from great_expectations.core.validation_definition import ValidationDefinition

    context = ephemeral_context()
    tag = uuid.uuid4().hex[:12]
    batch_definition = (
        context.data_sources.add_pandas(f"assay_{tag}")
        .add_dataframe_asset(f"frame_{tag}")
        .add_batch_definition_whole_dataframe(f"whole_{tag}")
    )
    suite = context.suites.add(spec.build())  # the context's store assigns every expectation an id
    definition = context.validation_definitions.add(
        ValidationDefinition(name=f"validation_{tag}", data=batch_definition, suite=suite)
    )
    result = definition.run(
        batch_parameters={"dataframe": df},
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": partial_unexpected_count},
    )
    by_id = {r.expectation_config.id: r for r in result.results}
    ordered = [by_id.get(e.id) for e in suite.expectations]
    return [None if r is None else r.to_json_dict() for r in ordered], json_safe(dict(result.statistics))
