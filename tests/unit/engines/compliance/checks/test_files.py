"""hipaa.phi_encryption and retention.expired_records on a Parquet store of the inventory (real files)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.fernet import Fernet

from assay.engines.compliance.checks.hipaa import phi_encryption
from assay.engines.compliance.checks.retention import expired_records
from assay.engines.compliance.model import CheckContext, StoreResolver
from assay.inventory import parse_inventory

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def _context(tmp_path, rows: dict) -> CheckContext:
    path = tmp_path / "patients.parquet"
    pq.write_table(pa.table(rows), path)
    inventory = parse_inventory(
        {
            "subject": "patient",
            "stores": [
                {
                    "name": "snapshot",
                    "kind": "parquet",
                    "path": str(path),
                    "subject_column": "patient_id",
                    "time_column": "created_at",
                    "retention_days": 30,
                    "columns": {"diagnosis": ["phi"]},
                }
            ],
        }
    )
    return CheckContext(
        params=None,
        now=NOW,
        stores=StoreResolver({}),
        api=None,
        inventory=inventory,
        metrics_url=None,
        work_dir=tmp_path,
        evidence_days=2557,
    )


def test_a_parquet_store_with_ciphertext_and_recent_rows_passes(tmp_path):
    token = Fernet(Fernet.generate_key()).encrypt(b"asthma").decode()
    ctx = _context(
        tmp_path,
        {"patient_id": ["p1", "p2"], "diagnosis": [token, None], "created_at": [NOW - timedelta(days=1)] * 2},
    )
    assert [r.status.value for r in phi_encryption(ctx)] == ["PASS"]
    assert [r.status.value for r in expired_records(ctx)] == ["PASS"]


def test_plaintext_and_expired_rows_in_a_parquet_store_fail_naming_the_subject(tmp_path):
    ctx = _context(
        tmp_path,
        {
            "patient_id": ["p1", "p2"],
            "diagnosis": ["gAAAAA-not-really", "asthma"],
            "created_at": [NOW - timedelta(days=1), NOW - timedelta(days=90)],
        },
    )
    phi = phi_encryption(ctx)
    assert [(r.resource, r.status.value) for r in phi] == [("store:snapshot.diagnosis", "FAIL")]
    assert "2 plaintext value(s) of 2" in phi[0].message and phi[0].evidence[0].content["plaintext_subjects"] == [
        "p1",
        "p2",
    ]
    expired = expired_records(ctx)
    assert [r.status.value for r in expired] == ["FAIL"] and "p2" in expired[0].message
