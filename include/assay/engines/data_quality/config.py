"""Where the data-quality engine finds expectation suites and golden datasets, and where it writes reports.
A plain pydantic model (unknown keys forbidden), composed by ``assay.config``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataQualityConfig(_Strict):
    """Where expectation suites and golden datasets live, and which golden datasets every run validates.

    ``suites_dir`` holds ``<name>.json`` suites (a dataset's ``quality_suite`` may name one, or give a
    file path); ``golden_dir`` holds each golden dataset as ``<name>.csv`` plus ``<name>.yaml``.
    """

    suites_dir: str | None = None
    golden_dir: str | None = None
    golden: list[str] = Field(default_factory=list)  # golden datasets (in golden_dir) validated on every run
    report_dir: str | None = None  # default: $ASSAY_HOME/reports/data_quality

    @model_validator(mode="after")
    def _golden_needs_a_directory(self) -> DataQualityConfig:
        if self.golden and not self.golden_dir:
            raise ValueError("golden datasets are listed but golden_dir (the folder of their .csv/.yaml) is not set")
        return self
