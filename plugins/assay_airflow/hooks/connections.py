"""Whether a connection is defined at all: an alert channel nobody configured is not a failing one."""

from __future__ import annotations

from airflow.sdk import BaseHook


def connection_defined(conn_id: str) -> bool:
    """Whether ``conn_id`` is defined (environment, secrets backend or metadata DB). A connection that
    cannot be read for another reason counts as defined: using it then fails, and says why."""
    try:
        BaseHook.get_connection(conn_id)
    except Exception as exc:  # noqa: BLE001
        return not (type(exc).__name__ == "AirflowNotFoundException" or "isn't defined" in str(exc))
    return True
