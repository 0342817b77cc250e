"""The one error type users see from the engine, its kinds, and whether a retry could help.

``retryable`` tells the Airflow layer how to fail after recording: a cause that a retry cannot change (a
bad config or parameter, a commit that does not exist, a syntax error in the code under test, a suite
that ran out of time) fails the task for good; a passing fault (a fetch that timed out, a service still
starting, the metrics DB down) is retried. Each kind has a default; a raise site that knows better says
so: ``TargetError("commit ... does not exist", retryable=False)``.
"""

from __future__ import annotations


class AssayError(Exception):
    """Base class for every error Assay raises on purpose. Its message never carries a URL's credentials
    (``assay.redaction``), so neither does anything that shows it: a record, a log, a traceback, an alert."""

    retryable: bool = False

    def __init__(self, *args: object, retryable: bool | None = None) -> None:
        from assay.redaction import redact

        super().__init__(*(redact(a) for a in args))
        if retryable is not None:
            self.retryable = retryable


class ConfigError(AssayError):
    """The configuration file or a run's parameters are invalid; the message says what to fix."""

    retryable = False


class TargetError(AssayError):
    """The target (repo, commit, environment, service) could not be prepared; the run is ERROR.

    Retryable by default (an unreachable host, a service slow to start); pass ``retryable=False`` where
    the cause is in the target itself (the commit or repository does not exist).
    """

    retryable = True


class ToolError(AssayError):
    """A test tool crashed, hung or produced no usable output; the suite is ERROR (retryable by default)."""

    retryable = True
