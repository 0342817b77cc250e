"""Shared constants and the ``Api`` handle of the component suite (imported by conftest and tests)."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

import httpx
from serving.services import Services
from serving.tokens import TokenTable

TOKENS = {
    "reader": "reader-token-0001",
    "ml-engineer": "engineer-token-0002",
    "admin": "admin-token-0003",
}
ACTORS = {"reader": "rita.reader", "ml-engineer": "eddie.engineer", "admin": "ada.admin"}
RECORD = {
    "amount": 120.5,
    "hour": 2,
    "merchant_risk": 0.7,
    "distance_km": 80.0,
    "account_age_days": 12,
    "n_tx_24h": 6,
}


def token_table() -> TokenTable:
    return TokenTable.from_mapping({TOKENS[role]: (ACTORS[role], role) for role in TOKENS})


@dataclass
class Api:
    """A running API: its base URL and the live objects behind it (DB, audit log, faults...)."""

    url: str
    services: Services
    _stack: ExitStack

    def client(self, role: str | None = None, *, token: str | None = None) -> httpx.Client:
        """An HTTP client authenticated as ``role`` (or with a raw ``token``; neither = anonymous)."""
        headers = {}
        if role is not None:
            token = TOKENS[role]
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self._stack.enter_context(httpx.Client(base_url=self.url, headers=headers, timeout=10))
