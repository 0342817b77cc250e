"""Shared constants and the ``Api`` handle of the component suite (imported by conftest and tests)."""

from __future__ import annotations

import asyncio
from contextlib import ExitStack
from dataclasses import dataclass, field

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


class ManualClock:
    """The rate limiter's clock, moved only by the test: a burst is a burst however slow the machine is."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class RecordingSleep:
    """Injected latency that really waits and notes each delay, so a test knows which requests it hit."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(seconds)
