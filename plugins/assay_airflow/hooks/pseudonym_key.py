"""Hook for the key of keyed pseudonymisation (``test_data.key_conn_id``, default ``assay_pseudonym_key``):
the only code that reads it. The key never leaves the task: not in the metrics DB, XCom, logs or snapshots."""

from __future__ import annotations

from airflow.exceptions import AirflowNotFoundException
from airflow.sdk import BaseHook

from assay.errors import ConfigError

MIN_KEY_BYTES = 16


class PseudonymKeyHook(BaseHook):
    """The HMAC-SHA-256 key of a connection's password (any type; e.g. ``AIRFLOW_CONN_ASSAY_PSEUDONYM_KEY=
    '{"conn_type": "generic", "password": "<32+ random characters>"}'``). Keep it stable: a new key gives every
    subject a new pseudonym, so joins with earlier samples break."""

    conn_name_attr = "key_conn_id"
    default_conn_name = "assay_pseudonym_key"
    conn_type = "generic"
    hook_name = "Assay pseudonymisation key"

    def __init__(self, key_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.key_conn_id = key_conn_id

    def key(self) -> bytes:
        """The key; a ConfigError (the run is ERROR and nothing is written) when the connection is absent, has
        no password, or a password shorter than 16 bytes."""
        try:
            conn = self.get_connection(self.key_conn_id)
        except AirflowNotFoundException:
            raise ConfigError(
                f"the pseudonymisation key connection {self.key_conn_id!r} is not defined: add it (its password is "
                f"the key), e.g. AIRFLOW_CONN_{self.key_conn_id.upper()}"
            ) from None
        key = (conn.password or "").encode()
        if len(key) < MIN_KEY_BYTES:
            raise ConfigError(
                f"connection {self.key_conn_id!r}: its password, the pseudonymisation key, must be at least "
                f"{MIN_KEY_BYTES} bytes (it has {len(key)})"
            )
        return key
