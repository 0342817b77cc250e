"""Hook for a target's already running service (``api_conn_id`` in the target's config): its base URL and
the tokens the load test and the chaos experiments use."""

from __future__ import annotations

from assay_airflow.hooks.http_api import HttpApiHook


class TargetServiceHook(HttpApiHook):
    """The running service a target's ``api_conn_id`` names, instead of one Assay starts for the run.

    Connection (type ``http``): host = base URL, password = the token requests carry, extra
    ``{"admin_token": "..."}`` for the server-side timings and the chaos actions that need an admin.
    """

    conn_name_attr = "api_conn_id"
    default_conn_name = "assay_target_api"
    conn_type = "http"
    hook_name = "Assay target service (HTTP API)"
    default_scheme = "http"

    def __init__(self, api_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.api_conn_id = api_conn_id

    @property
    def admin_token(self) -> str | None:
        """The admin token (the connection's extra ``admin_token``), or None."""
        return self.connection.extra_dejson.get("admin_token") or None
