"""Exceptions of the serving package; the app maps each to one HTTP status."""

from __future__ import annotations


class SettingsError(ValueError):
    """A setting has a value the API cannot run with; the message names the setting to fix."""


class DatabaseUnavailable(RuntimeError):
    """The registry database cannot be reached (real outage or the ``db_down`` fault) → 503."""


class ModelNotFound(LookupError):
    """No registered model has the requested id → 404."""


class ModelConflict(RuntimeError):
    """The request contradicts the registry's state (duplicate version, already retired) → 409."""
