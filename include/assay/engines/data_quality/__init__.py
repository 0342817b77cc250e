"""Data quality with Great Expectations 1.x: suites as files, ephemeral validation, reports, golden data.

Great Expectations is imported on first validation, not on import. Suites and golden datasets live
wherever the configuration says (``data_quality.suites_dir`` and ``golden_dir`` in ``assay.yaml``).
"""

from __future__ import annotations

from assay.engines.data_quality.golden import list_golden, validate_golden, write_golden
from assay.engines.data_quality.outcomes import ExpectationOutcome
from assay.engines.data_quality.report import render_report, write_report
from assay.engines.data_quality.result import DataQualityResult
from assay.engines.data_quality.run import attach_report, run_data_quality
from assay.engines.data_quality.runner import validate_dataframe
from assay.engines.data_quality.suites import SuiteSpec, load_suite

__all__ = [
    "DataQualityResult",
    "ExpectationOutcome",
    "SuiteSpec",
    "attach_report",
    "list_golden",
    "load_suite",
    "render_report",
    "write_report",
    "run_data_quality",
    "validate_dataframe",
    "validate_golden",
    "write_golden",
]
