"""The one error type users see from the engine, and its two kinds."""

from __future__ import annotations


class AssayError(Exception):
    """Base class for every error Assay raises on purpose."""


class ConfigError(AssayError):
    """The configuration file or a run's parameters are invalid; the message says what to fix."""


class TargetError(AssayError):
    """The target (repo, commit, environment) could not be prepared; the run is ERROR."""


class ToolError(AssayError):
    """A test tool crashed, hung or produced no usable output; the suite is ERROR."""
