"""Operator of ``assay_test_data``: one step (synthetic refresh, anonymised sample, retention) of one dataset.

Record, then fail: a failed leak check or quality suite is FAIL (nothing published), a source that cannot be
read or a key connection that is absent is ERROR (nothing written unmasked). A published snapshot updates the
dataset's Asset (extra: step, snapshot id, path, rows), so the DAGs scheduled on it (drift, data quality) see
new test data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from assay.errors import ConfigError
from assay_airflow.operators.base import AssayOperator, raise_for

if TYPE_CHECKING:
    from airflow.sdk import Context

    from assay.engines.test_data.config import TestDataConfig, TestDataset

KIND = "test_data"


class TestDataOperator(AssayOperator):
    """Run ``step`` (``synthetic``, ``sample`` or ``retention``) of test dataset ``dataset``; the run's params
    ``dataset`` / ``step`` (``all`` by default) select what runs, the other tasks skip."""

    template_fields = ("dataset", "step")

    def __init__(self, *, dataset: str, step: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dataset = dataset
        self.step = step

    def _section(self) -> tuple[TestDataConfig, TestDataset]:
        section = self.assay_config.test_data
        if section is None or self.dataset not in section.datasets:
            raise AirflowFailException(f"test dataset {self.dataset!r} is not configured in assay.yaml (test_data)")
        return section, section.datasets[self.dataset]

    def execute(self, context: Context) -> dict[str, Any]:
        from assay.engines.test_data.snapshots import snapshot_root

        params = context.get("params") or {}
        for key, mine in (("dataset", self.dataset), ("step", self.step)):
            if (params.get(key) or "all") not in ("all", mine):
                raise AirflowSkipException(f"this run does {key} {params.get(key)!r} only")
        section, ds = self._section()
        root = snapshot_root(section.snapshot_dir)
        started = datetime.now(UTC)
        name = f"{self.dataset}:{self.step}"
        with self.recording_errors(context, kind=KIND, name=name, started_at=started, dataset=self.dataset):
            result = self._run(section, ds, root)
        reason = self.record_result(context, result, started_at=started, dataset=self.dataset)
        snapshot = (result.summary or {}).get("snapshot")
        if ds.asset and snapshot and self.step in ("synthetic", "sample") and not result.status.is_failure:
            from airflow.sdk import Asset

            if not isinstance(snapshot, dict):  # the synthetic step gives its id, and the path beside it
                snapshot = {"id": snapshot, "path": result.summary.get("path")}
            extra = {"dataset": self.dataset, "step": self.step, "id": snapshot.get("id"), "path": snapshot.get("path")}
            context["outlet_events"][Asset(ds.asset)].extra.update(extra | {"rows": result.metric("rows")})
        raise_for(result.status, f"{name}: {result.status.value}: {reason}")
        return result.describe_dict()

    def _run(self, section: TestDataConfig, ds: TestDataset, root):  # noqa: ANN001
        if self.step == "retention":
            from assay.engines.test_data.retention import run_retention

            return run_retention(self.dataset, ds.retention_days, root)
        if self.step == "synthetic":
            if ds.synthetic is None:
                raise ConfigError(f"test dataset {self.dataset!r} has no 'synthetic' section")
            from assay.engines.test_data.synthetic import run_synthetic

            dq = self.assay_config.data_quality
            return run_synthetic(
                self.dataset, ds.synthetic, root, suites_dir=dq.suites_dir if dq and dq.suites_dir else None
            )
        if self.step == "sample":
            if ds.sample is None:
                raise ConfigError(f"test dataset {self.dataset!r} has no 'sample' section")
            from assay.engines.test_data.sample import run_sample
            from assay.inventory import load_inventory
            from assay_airflow.hooks.pseudonym_key import PseudonymKeyHook
            from assay_airflow.hooks.sql import data_source

            inventory_path = section.inventory or (
                self.assay_config.compliance.inventory if self.assay_config.compliance else None
            )
            if not inventory_path:
                raise ConfigError("test_data.inventory (or compliance.inventory) must name the personal-data inventory")
            needs_key = any(r.method == "pseudonymise" for r in ds.sample.masking.values())
            key = PseudonymKeyHook(section.key_conn_id).key() if needs_key else None
            return run_sample(
                self.dataset,
                ds.sample,
                inventory=load_inventory(inventory_path),
                key=key,
                snapshot_root=root,
                source=data_source(ds.sample.source),
            )
        raise ConfigError(f"unknown test-data step {self.step!r} (synthetic, sample or retention)")
