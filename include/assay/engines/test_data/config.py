"""The ``test_data:`` section of ``assay.yaml`` (pydantic and the standard library only: DAG files load it at
parse time)::

    test_data:
      schedule: "0 2 * * 0"                            # Sunday 02:00 UTC
      snapshot_dir: ${ASSAY_HOME}/test-data            # <dataset>/<step>/<snapshot id>/ (data.parquet, manifest.json)
      inventory: ${ASSAY_REPO}/include/config/personal_data.yaml   # default: compliance.inventory
      key_conn_id: assay_pseudonym_key                 # Airflow connection whose password is the HMAC key
      datasets:
        customers:
          retention_days: 30                           # snapshots older than this are deleted (and recorded)
          asset: assay://test-data/customers           # an event per published snapshot (extra: step, path)
          synthetic:                                   # weekly synthetic refresh
            rows: 1000000
            seed: 0
            reference: {kind: csv, path: ...}          # learn distributions/correlations from it (optional)
            columns:                                   # column -> how to generate it
              name: {faker: name}
              email: {faker: email}
              amount: {learn: true}                    # from the reference (declared spec also possible)
            quality_suite: customers                   # the dataset's GE suite the output must pass
          sample:                                      # anonymised production sample
            source: {kind: sql, conn_id: prod, query: "SELECT * FROM customers"}
            fraction: 0.10
            stratify: is_fraud
            seed: 0
            inventory_store: raw_customers             # the inventory store whose tags say what is personal
            masking:                                   # every personal column needs a rule
              customer_id: {method: pseudonymise}      # HMAC-SHA-256 with the key: joins still work
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

from pydantic import BaseModel, ConfigDict, Field

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
    """How one synthetic column is made: a Faker provider (``faker: name``, with ``args``), learnt from the
    reference data (``learn: true``), or declared (``distribution`` with its params, or ``values`` with
    ``weights`` for a categorical)."""

    faker: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    learn: bool = False
    distribution: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    values: list[Any] | None = None
    weights: list[float] | None = None
    unique: bool = False


class SyntheticConfig(_Strict):
    rows: int = Field(default=1_000_000, ge=1)
    seed: int = 0
    reference: dict[str, Any] | None = None  # an assay.sources spec
    columns: dict[str, SyntheticColumn] = Field(default_factory=dict)
    quality_suite: str | None = None  # a data_quality suite name or file the output must pass
    locale: str = "en_GB"


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
