"""Test data management (``assay_test_data``): weekly synthetic refresh, anonymised production samples with a
leak check, retention of snapshots; golden datasets stay in :mod:`assay.engines.data_quality.golden`.

Pieces, one idea each: :mod:`.config` (the ``test_data:`` section), :mod:`.snapshots` (where snapshots live,
their manifests), :mod:`.synthetic`, :mod:`.masking`, :mod:`.leak`, :mod:`.sample`, :mod:`.retention`.
"""

from __future__ import annotations

from assay.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "assay.engines.test_data.synthetic": ("CopulaModel", "fidelity", "fit_copula", "generate", "run_synthetic"),
        "assay.engines.test_data.masking": ("mask_frame", "pseudonymise", "validate_masking"),
        "assay.engines.test_data.leak": ("LeakReport", "leak_check"),
        "assay.engines.test_data.sample": ("draw_sample", "run_sample"),
        "assay.engines.test_data.retention": ("run_retention",),
        "assay.engines.test_data.snapshots": ("Snapshot", "list_snapshots", "publish", "snapshot_root", "staging_dir"),
    },
)

__all__ = [
    "CopulaModel",
    "LeakReport",
    "Snapshot",
    "draw_sample",
    "fidelity",
    "fit_copula",
    "generate",
    "leak_check",
    "list_snapshots",
    "mask_frame",
    "publish",
    "pseudonymise",
    "run_retention",
    "run_sample",
    "run_synthetic",
    "snapshot_root",
    "staging_dir",
    "validate_masking",
]
