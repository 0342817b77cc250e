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
    },
)

__all__: list[str] = ["CopulaModel", "fidelity", "fit_copula", "generate", "run_synthetic"]
