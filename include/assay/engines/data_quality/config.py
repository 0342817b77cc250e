"""Where the data-quality engine finds expectation suites and golden datasets, and where it writes reports.
A plain pydantic model (unknown keys forbidden), composed by ``assay.config``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GoldenRef(_Strict):
    """A golden dataset read *by version* (model evaluation data, load-test payloads).

    ``dir`` is the golden directory; when absent the operator uses ``data_quality.golden_dir``. The
    consumer gets the data only if the file is exactly ``version`` and unchanged since it was written
    (``assay.engines.data_quality.golden.load_golden``); otherwise its check is refused, never run on
    other data.
    """

    name: str = Field(min_length=1)
    version: str | int
    dir: str | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _not_bool(cls, v: str | int) -> str | int:
        if isinstance(v, bool) or v == "":
            raise ValueError("version must be a non-empty string or an integer")
        return v

    def with_default_dir(self, golden_dir: str | None) -> GoldenRef:
        """This reference with ``dir`` filled from ``data_quality.golden_dir`` when it names none."""
        return self if self.dir or not golden_dir else self.model_copy(update={"dir": golden_dir})

    def label(self) -> str:
        return f"golden:{self.name}@{self.version}"


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
