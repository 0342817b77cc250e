"""Tolerance functions for steady-state probes (``"tolerance": {"type": "probe", ...}``).

chaostoolkit passes the probe's output as ``value``; ``value`` has a default only because chaostoolkit's
validator binds the declared arguments before that value exists.
"""

from __future__ import annotations

from typing import Any

__all__ = ["at_least", "at_most"]


def at_most(value: Any = None, limit: float | None = None) -> bool:
    """True when the probe's numeric output is <= ``limit`` (e.g. p95 ms under the latency threshold)."""
    if limit is None:
        raise ValueError('at_most needs a limit (e.g. "limit": "${p95_max_ms}")')
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return float(value) <= float(limit)


def at_least(value: Any = None, limit: float | None = None) -> bool:
    """True when the probe's numeric output is >= ``limit`` (e.g. live workers >= the configured count)."""
    if limit is None:
        raise ValueError('at_least needs a limit (e.g. "limit": "${workers}")')
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return float(value) >= float(limit)
