"""The one call an operator makes: read a dataset (:mod:`assay.sources`), validate it, write the report.

Bad configuration (unknown suite, malformed suite file, bad source settings) raises ConfigError;
a dataset that cannot be read (missing file, failing query) is an ERROR *result* with the reason, so
the caller can record it before failing the task.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assay.engines.data_quality.report import write_report
from assay.engines.data_quality.result import KIND, DataQualityResult
from assay.engines.data_quality.runner import validate_dataframe
from assay.engines.data_quality.suites import SuiteRef, load_suite
from assay.errors import TargetError
from assay.sources import DataSource


def report_file_name(result: DataQualityResult) -> str:
    def safe(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._")[:80] or "dataset"

    return f"{safe(result.suite_name)}__{safe(result.data_name)}.html"


def attach_report(result: DataQualityResult, report_dir: str | Path | None) -> DataQualityResult:
    """Write the HTML report into ``report_dir`` (if given) and return the result carrying its path."""
    if report_dir is None:
        return result
    path = Path(report_dir) / report_file_name(result)
    result = replace(result, report_path=str(path))
    write_report(result, path)
    return result


def run_data_quality(
    source: DataSource | Mapping[str, Any],
    suite: SuiteRef,
    *,
    engine: Any = None,
    data_name: str | None = None,
    report_dir: str | Path | None = None,
    suites_dir: str | Path | None = None,
) -> DataQualityResult:
    """Validate ``source`` against ``suite``; the report goes to ``<report_dir>/<suite>__<dataset>.html``.

    :param source: a :class:`~assay.sources.DataSource` or its dict (``{"kind": "csv", "path": ...}``).
    :param suite: a suite name (looked up in ``suites_dir``), a path, or a suite object.
    :param engine: the SQLAlchemy engine (or URL, or factory) of a ``kind: sql`` source given as a dict or
        without one; the Airflow operator passes a source that already carries it.
    """
    src = DataSource.from_dict(source, engine=engine)
    spec = load_suite(suite, suites_dir)  # a bad suite fails before any data is read
    name = data_name or src.data_name
    started = datetime.now(UTC)
    try:
        df = src.read()
    except TargetError as exc:
        result = DataQualityResult(
            name=f"{KIND}:{spec.name}",
            suite_name=spec.name,
            data_name=name,
            started_at=started,
            finished_at=datetime.now(UTC),
            outcomes=(),
            row_count=0,
            suite_source=spec.source,
            error=f"dataset could not be loaded: {exc}",
        )
        return attach_report(result, report_dir)
    return attach_report(validate_dataframe(df, spec, data_name=name), report_dir)
