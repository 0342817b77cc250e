"""Checks registered by id: ``@check("gdpr.erasure", title=..., params=ErasureParams)`` on a function of a
:class:`~assay.engines.compliance.model.CheckContext` returning ``list[ResourceResult]``.

The control catalog names checks by id (:mod:`.catalog` validates every id and its params against the
check's params model when it loads). :func:`load_builtin_checks` imports ``assay.engines.compliance.checks``,
whose modules register the shipped checks.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assay.engines.compliance.model import CheckContext, ResourceResult

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["CheckFn", "CheckSpec", "check", "check_ids", "get_check", "load_builtin_checks", "unregister"]

CheckFn = Callable[[CheckContext], list[ResourceResult]]

BUILTIN_CHECKS_PACKAGE = "assay.engines.compliance.checks"

_REGISTRY: dict[str, CheckSpec] = {}


@dataclass(frozen=True)
class CheckSpec:
    """A registered check: its id, title, the pydantic model of its params (None: it takes none), the callable."""

    id: str
    title: str
    params_model: type[BaseModel] | None
    fn: CheckFn


def check(check_id: str, *, title: str, params: type[BaseModel] | None = None) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated function as check ``check_id``. Registering the same function again (a module
    reloaded) replaces it; a different function under a taken id is an error."""
    if not isinstance(check_id, str) or not check_id.strip() or check_id != check_id.strip() or len(check_id) > 200:
        raise ValueError(
            f"a check id must be a non-empty string of at most 200 characters without surrounding spaces, got {check_id!r}"
        )

    def register(fn: CheckFn) -> CheckFn:
        old = _REGISTRY.get(check_id)
        if old is not None and _qualname(old.fn) != _qualname(fn):
            raise ValueError(f"check id {check_id!r} is already registered by {_qualname(old.fn)}")
        _REGISTRY[check_id] = CheckSpec(id=check_id, title=title, params_model=params, fn=fn)
        return fn

    return register


def _qualname(fn: Callable[..., object]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def get_check(check_id: str) -> CheckSpec:
    """The check registered as ``check_id``; a KeyError naming the known ids otherwise."""
    try:
        return _REGISTRY[check_id]
    except KeyError:
        raise KeyError(f"unknown check {check_id!r} (known: {', '.join(check_ids()) or 'none'})") from None


def check_ids() -> list[str]:
    return sorted(_REGISTRY)


def unregister(check_id: str) -> None:
    """Forget ``check_id`` (tests that register checks of their own clean up with it)."""
    _REGISTRY.pop(check_id, None)


def load_builtin_checks() -> None:
    """Import the shipped checks (each module of the checks package registers its checks on import)."""
    import pkgutil

    package = importlib.import_module(BUILTIN_CHECKS_PACKAGE)
    for info in pkgutil.iter_modules(getattr(package, "__path__", []), prefix=f"{BUILTIN_CHECKS_PACKAGE}."):
        importlib.import_module(info.name)
