"""Data quality with Great Expectations 1.x: suites as files, ephemeral validation, reports, golden data.

Great Expectations is imported on first validation, not on import. Suites and golden datasets live
wherever the configuration says (``data_quality.suites_dir`` and ``golden_dir`` in ``assay.yaml``).
"""

from __future__ import annotations

from assay.lazy import lazy_exports

# imported on first use: the config imports without the engine (assay.lazy)
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "assay.engines.data_quality.config": ("DataQualityConfig", "GoldenRef"),
        "assay.engines.data_quality.golden": (
            "GoldenVersionError",
            "list_golden",
            "load_golden",
            "validate_golden",
            "verify_golden",
            "write_golden",
        ),
        "assay.engines.data_quality.outcomes": ("ExpectationOutcome",),
        "assay.engines.data_quality.report": ("render_report", "write_report"),
        "assay.engines.data_quality.result": ("DataQualityResult",),
        "assay.engines.data_quality.run": ("attach_report", "run_data_quality"),
        "assay.engines.data_quality.runner": ("validate_dataframe",),
        "assay.engines.data_quality.suites": ("SuiteSpec", "load_suite"),
    },
)

__all__ = [
    "DataQualityConfig",
    "DataQualityResult",
    "ExpectationOutcome",
    "GoldenRef",
    "GoldenVersionError",
    "SuiteSpec",
    "attach_report",
    "list_golden",
    "load_golden",
    "load_suite",
    "render_report",
    "write_report",
    "run_data_quality",
    "validate_dataframe",
    "validate_golden",
    "verify_golden",
    "write_golden",
]
