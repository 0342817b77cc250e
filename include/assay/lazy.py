"""Package names that are imported on first use, so an engine's config imports without its engine.

``assay.config`` imports every engine's config model when the config is loaded, and so does every DAG file
at parse time. An engine package whose ``__init__`` imported its engine modules (numpy, pandas, scipy,
Great Expectations, torch...) would make that cost seconds. Such a package declares its public names
with :func:`lazy_exports` instead (PEP 562 module ``__getattr__``): ``from assay.engines.drift import
run_drift`` still works and imports ``assay.engines.drift.engine`` then, and ``import
assay.engines.drift.config`` imports only that module.

    __all__ = [...]
    __getattr__, __dir__ = lazy_exports(__name__, {"assay.engines.drift.engine": ("run_drift",), ...})
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, Iterable[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, which exports each name of ``exports[module]``
    from ``module``, imported when the name is first looked up (then kept in the package's namespace)."""
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__
