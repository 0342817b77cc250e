"""Data quality with Great Expectations 1.x: suites as files, ephemeral validation, reports, golden data.

Great Expectations is imported on first validation, not on import, so ``synthetic`` stays light.
"""

from __future__ import annotations

from assay.engines.data_quality.golden import GOLDEN_DIR, list_golden, validate_golden, write_golden
from assay.engines.data_quality.outcomes import ExpectationOutcome
from assay.engines.data_quality.report import render_report, write_report
from assay.engines.data_quality.result import DataQualityResult
from assay.engines.data_quality.run import attach_report, run_data_quality
from assay.engines.data_quality.runner import validate_dataframe
from assay.engines.data_quality.sources import DatasetSource, load_dataset
from assay.engines.data_quality.suites import SUITES_DIR, SuiteSpec, load_suite
from assay.engines.data_quality.synthetic import generate_customers, write_customers_parquet

__all__ = [
    "GOLDEN_DIR",
    "SUITES_DIR",
    "DataQualityResult",
    "DatasetSource",
    "ExpectationOutcome",
    "SuiteSpec",
    "attach_report",
    "generate_customers",
    "list_golden",
    "load_dataset",
    "load_suite",
    "render_report",
    "write_report",
    "run_data_quality",
    "validate_dataframe",
    "validate_golden",
    "write_customers_parquet",
    "write_golden",
]
