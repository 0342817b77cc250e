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
        "assay.engines.test_data.masking": ("mask_frame", "pseudonymise", "validate_masking"),
        "assay.engines.test_data.leak": ("LeakReport", "leak_check"),
        "assay.engines.test_data.sample": ("draw_sample", "run_sample"),
    },
)

__all__ = ["LeakReport", "draw_sample", "leak_check", "mask_frame", "pseudonymise", "run_sample", "validate_masking"]
