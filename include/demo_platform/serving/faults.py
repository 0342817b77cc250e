"""Fault injection for chaos and performance tests: latency, random 500s, a lost database.

Latency and errors apply to ``POST /models/predict``; ``db_down`` cuts the registry database.
Errors are drawn from a ``random.Random(seed)`` reset whenever faults are set, so a given seed and
request sequence always fails the same requests.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class FaultConfig:
    latency_ms: int = 0
    error_rate: float = 0.0
    db_down: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.latency_ms <= 60_000:
            raise ValueError(f"latency_ms must be in [0, 60000], got {self.latency_ms}")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"error_rate must be in [0, 1], got {self.error_rate}")

    @property
    def active(self) -> bool:
        return bool(self.latency_ms or self.error_rate or self.db_down)

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "active": self.active}


class FaultState:
    """The faults currently injected into this process.

    ``sleep`` is how an injected latency waits (``asyncio.sleep``; a test may pass one that also notes
    each delay, so it can tell which requests were delayed without timing them on a busy machine).
    """

    def __init__(self, *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._config = FaultConfig()
        self._rng = random.Random(0)
        self._lock = threading.Lock()
        self._sleep = sleep

    @property
    def config(self) -> FaultConfig:
        return self._config

    def set(self, config: FaultConfig) -> None:
        with self._lock:
            self._config = config
            self._rng = random.Random(config.seed)

    def reset(self) -> None:
        self.set(FaultConfig())

    async def delay(self) -> None:
        """Wait the injected latency, if any."""
        if self._config.latency_ms:
            await self._sleep(self._config.latency_ms / 1000.0)

    def should_fail(self) -> bool:
        """Draw once: True for a fraction ``error_rate`` of calls."""
        rate = self._config.error_rate
        if rate <= 0.0:
            return False
        with self._lock:
            return self._rng.random() < rate
