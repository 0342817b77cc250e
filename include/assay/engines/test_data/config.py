"""The ``test_data:`` section of ``assay.yaml`` (pydantic and the standard library only: DAG files load it at
parse time)::

    test_data:
      schedule: "0 2 * * 0"                            # Sunday 02:00 UTC
      snapshot_dir: ${ASSAY_HOME}/test-data            # <dataset>/<step>/<snapshot id>/ (data.parquet, manifest.json)
      inventory: ${ASSAY_REPO}/include/config/personal_data.yaml   # default: compliance.inventory
      key_conn_id: assay_pseudonym_key                 # Airflow connection whose password is the HMAC key
      datasets:
        members:
          retention_days: 30                           # snapshots older than this are deleted (and recorded)
          asset: assay://test-data/members           # an event per published snapshot (extra: step, path)
          synthetic:                                   # weekly synthetic refresh
            rows: 1000000
            seed: 0
            reference: {kind: csv, path: ...}          # learn distributions/correlations from it (optional)
            columns:                                   # column -> how to generate it
              name: {faker: name}
              email: {faker: email}
              amount: {learn: true}                    # from the reference (declared spec also possible)
            quality_suite: members                     # the dataset's GE suite the output must pass
          sample:                                      # anonymised production sample
            source: {kind: sql, conn_id: prod, query: "SELECT * FROM members"}
            fraction: 0.10
            stratify: segment
            seed: 0
            inventory_store: member_table              # the inventory store whose tags say what is personal
            masking:                                   # every personal column needs a rule
              member_id: {method: pseudonymise}        # HMAC-SHA-256 with the key: joins still work
              name: {method: fake, faker: name}
              date_of_birth: {method: generalise, to: month}
              postcode: {method: generalise, to: prefix}
              diagnosis: {method: drop}
            free_text_columns: [notes]                 # scanned for e-mail / phone / card patterns
            k_anonymity: 5                             # over the inventory's quasi-identifiers (after masking)

``${VAR}`` strings are expanded by :func:`assay.config.parse_config` before this model validates them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "MaskingRule",
    "SampleConfig",
    "SyntheticColumn",
    "SyntheticConfig",
    "TestDataConfig",
    "TestDataset",
]

STEPS: tuple[str, ...] = ("synthetic", "sample", "retention")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SyntheticColumn(_Strict):
    """How one synthetic column is made: a Faker provider (``faker: name``, with ``args``; ISO date strings
    in ``args`` are dates), learnt from the reference data (``learn: true``), declared (``distribution``
    with its ``params``: a scipy.stats distribution or a numpy Generator method; or ``values`` with
    ``weights`` for a categorical), or a formatted id per row (``format: "CUST{row:08d}"``, ``params.start``
    the first row number; unique by construction). Exactly one of them.

    ``unique`` (Faker columns): the row number is added to each value (``-<row>``; ``.<row>`` before the ``@``
    of an e-mail).
    ``missing``: the share of nulls (faker / declared / format columns; a learnt column keeps the
    reference's). ``dtype``: the column's dtype after generation (e.g. ``int64``, ``float32``)."""

    faker: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    learn: bool = False
    distribution: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    values: list[Any] | None = None
    weights: list[float] | None = None
    format: str | None = None
    unique: bool = False
    missing: float = Field(default=0.0, ge=0.0, lt=1.0)
    dtype: str | None = None

    @property
    def source(self) -> str:
        """How the column is made: ``faker``, ``learn``, ``distribution``, ``values`` or ``format``."""
        return next(k for k in ("faker", "learn", "distribution", "values", "format") if self._given(k))

    def _given(self, key: str) -> bool:
        return bool(self.learn) if key == "learn" else getattr(self, key) is not None

    @model_validator(mode="after")
    def _one_source(self) -> SyntheticColumn:
        given = [k for k in ("faker", "learn", "distribution", "values", "format") if self._given(k)]
        if not given:
            raise ValueError(
                "a synthetic column needs one of: faker (a Faker provider), learn: true (from the reference), "
                "distribution (with params), values (with weights) or format (an id per row)"
            )
        if len(given) > 1:
            raise ValueError(
                f"a synthetic column takes one of faker / learn / distribution / values / format, got {given}"
            )
        if self.weights is not None:
            if self.values is None:
                raise ValueError("weights need values")
            if len(self.weights) != len(self.values):
                raise ValueError(f"{len(self.weights)} weights for {len(self.values)} values")
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("weights must be >= 0 with a positive sum")
        if self.values is not None and not self.values:
            raise ValueError("values must not be empty")
        if self.unique and given[0] not in ("faker", "format"):
            raise ValueError(f"unique applies to faker or format columns, not to a {given[0]} column")
        if self.learn and self.missing:
            raise ValueError("a learnt column keeps the reference's missing share: drop 'missing'")
        return self


class SyntheticConfig(_Strict):
    rows: int = Field(default=1_000_000, ge=1)
    seed: int = 0
    reference: dict[str, Any] | None = None  # an assay.sources spec
    columns: dict[str, SyntheticColumn] = Field(default_factory=dict)
    quality_suite: str | None = None  # a data_quality suite name or file the output must pass
    locale: str = "en_GB"
    pool_size: int = Field(default=10_000, ge=1)  # Faker values drawn per column, then sampled per row
    correlation_tolerance: float = Field(default=0.05, gt=0)  # max |rank correlation Δ| vs the reference
    marginal_tolerance: float = Field(default=0.05, gt=0)  # max KS statistic / category share Δ per learnt column


class MaskingRule(_Strict):
    """How one personal column is masked: ``pseudonymise`` (keyed HMAC-SHA-256, hex, stable across tables),
    ``fake`` (a Faker provider's value), ``generalise`` (``to``: month / year for dates, prefix for
    postcodes with ``keep`` characters, bucket for numbers with ``width``), or ``drop``."""

    method: Literal["pseudonymise", "fake", "generalise", "drop"]
    faker: str | None = None
    to: str | None = None
    keep: int | None = None
    width: float | None = None


class SampleConfig(_Strict):
    source: dict[str, Any]  # an assay.sources spec (file or SQL through a connection)
    fraction: float = Field(default=0.10, gt=0, le=1)
    stratify: str | None = None
    seed: int = 0
    inventory_store: str  # the store of the personal-data inventory whose column tags apply
    masking: dict[str, MaskingRule] = Field(default_factory=dict)
    free_text_columns: list[str] = Field(default_factory=list)
    k_anonymity: int = Field(default=5, ge=1)
    quasi_identifiers: list[str] | None = None  # default: the inventory's quasi_identifier columns
    # the column whose value, hashed with the seed, orders rows for the draw (same rows whatever the chunking
    # or row order); default: the inventory store's subject_column when the source has it, else the row position
    key_column: str | None = None
    locale: str = "en_GB"  # Faker locale of the fake method


class TestDataset(_Strict):
    retention_days: int = Field(default=30, ge=1)
    asset: str | None = None
    synthetic: SyntheticConfig | None = None
    sample: SampleConfig | None = None


class TestDataConfig(_Strict):
    schedule: str = "0 2 * * 0"
    snapshot_dir: str | None = None  # None: ${ASSAY_HOME}/test-data
    inventory: str | None = None  # None: compliance.inventory
    key_conn_id: str = "assay_pseudonym_key"
    datasets: dict[str, TestDataset] = Field(default_factory=dict)
