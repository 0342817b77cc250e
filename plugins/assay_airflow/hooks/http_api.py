"""Base of the hooks of HTTP APIs Assay reaches through a connection (the git host's commit-status API, a
target's running service): host = base URL, password = the API token.

``host`` may be a whole base URL (``https://api.github.com``, ``http://10.0.0.5:8000/v1``); a bare host
name takes its scheme from ``schema`` (default :attr:`HttpApiHook.default_scheme`) and its ``port``.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.sdk import BaseHook


class HttpApiHook(BaseHook):
    """An HTTP API whose connection (named by the subclass's ``conn_name_attr``) holds its URL and token."""

    default_scheme = "https"

    @property
    def conn_id(self) -> str:
        return getattr(self, self.conn_name_attr)

    @cached_property
    def connection(self) -> Any:
        """The connection, read once (``AirflowNotFoundException`` when it is not defined)."""
        return self.get_connection(self.conn_id)

    @property
    def base_url(self) -> str:
        """The API's base URL, without a trailing slash."""
        conn = self.connection
        host = conn.host or ""
        if "://" not in host:
            host = f"{conn.schema or self.default_scheme}://{host}" + (f":{conn.port}" if conn.port else "")
        return host.rstrip("/")

    @property
    def token(self) -> str | None:
        """The API token (the connection's password), or None."""
        return self.connection.password or None
