"""What the load generator itself recorded (``client_stats.json`` of Assay's Locust plugin).

Summaries the measurement-agreement check uses to say where time went on the client side:

* ``cpu_utilisation``: the Locust process's CPU seconds per wall second while the test ran (Locust runs
  on one core, so near 1.0 means a saturated generator that times responses late);
* ``machine_cpu_busy``: the share of all the machine's CPU time that was busy (everything on it);
* ``loop_lag_p95_ms``: how late a 10 ms gevent sleep woke up, at p95: the delay before any greenlet,
  and so any response's timestamp, gets the CPU;
* ``late_share`` / ``lateness_p95_ms``: arrivals sent after their scheduled time because the user was
  still busy (the generator stopped being open-loop: too few users for the latency);
* ``connections`` / ``connect_p95_ms``: TCP connects made during the run and how long they took;
* ``in_flight_p50`` / ``in_flight_p95``: for an endpoint, how many of the client's own requests were in
  flight when each request started;
* ``durations``: each request's exact duration for an endpoint (Locust's histogram rounds them to the
  millisecond, and to 2 significant figures from 100 ms); with ``wire=True`` its time on the wire instead,
  from its first byte sent to its last response byte read (the span a server can time too: without the
  HTTP library's building of the request and parsing of the response), for a comparison with the server's.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assay.errors import ToolError
from assay.store.records import MetricRecord


def rank_percentile(values: Sequence[float], q: float) -> float | None:
    """The ``floor(n * q) + 1``-th smallest value (Locust's rule), capped at the largest; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(len(ordered) * q))])


def in_flight_at_starts(starts: Sequence[float], ends: Sequence[float]) -> list[int]:
    """For each request, how many *other* requests had started and not yet ended when it started."""
    by_start, by_end = sorted(starts), sorted(ends)
    return [bisect_left(by_start, s) - bisect_right(by_end, s) for s in starts]


@dataclass(frozen=True)
class ClientStats:
    arrival: str
    wall_s: float | None
    cpu_s: float | None
    loop_lag_ms: tuple[float, ...]
    arrivals: int
    lateness_ms: tuple[float, ...]
    connects_ms: tuple[float, ...]
    endpoints: tuple[tuple[str, str], ...]
    req_endpoint: tuple[int, ...]
    req_start_s: tuple[float, ...]
    req_duration_ms: tuple[float, ...]
    truncated: bool = False
    machine_cpu_busy: float | None = None
    cpus: int | None = None
    req_wire_ms: tuple[float | None, ...] = ()  # per request; None: no response read (or not recorded)
    failures: tuple[tuple[str, str, str, int], ...] = ()  # (method, name, error, occurrences), every one

    @property
    def requests(self) -> int:
        return len(self.req_start_s)

    @property
    def cpu_utilisation(self) -> float | None:
        if self.cpu_s is None or not self.wall_s:
            return None
        return self.cpu_s / self.wall_s

    @property
    def loop_lag_p95_ms(self) -> float | None:
        return rank_percentile(self.loop_lag_ms, 0.95)

    @property
    def late_share(self) -> float | None:
        return len(self.lateness_ms) / self.arrivals if self.arrivals else None

    @property
    def lateness_p95_ms(self) -> float | None:
        """p95 over all arrivals (on-time ones count as 0)."""
        if not self.arrivals:
            return None
        on_time = max(0, self.arrivals - len(self.lateness_ms))
        return rank_percentile([0.0] * on_time + list(self.lateness_ms), 0.95)

    @property
    def connections(self) -> int:
        return len(self.connects_ms)

    @property
    def connect_p95_ms(self) -> float | None:
        return rank_percentile(self.connects_ms, 0.95)

    @property
    def has_wire_times(self) -> bool:
        return len(self.req_wire_ms) == len(self.req_duration_ms) and any(w is not None for w in self.req_wire_ms)

    def durations(self, method: str | None = None, name: str | None = None, *, wire: bool = False) -> list[float]:
        """Each recorded request's exact duration (ms, as Locust timed it, before its histogram rounds it) for
        one endpoint (every endpoint without ``method`` and ``name``), failures included as in Locust's figures.
        With ``wire``, each request's time on the wire instead (its Locust time when it has none: no response
        was read); as Locust timed them when the plugin recorded no wire times."""
        values: Sequence[float | None] = self.req_duration_ms
        if wire and self.has_wire_times:
            values = [d if w is None else w for d, w in zip(self.req_duration_ms, self.req_wire_ms, strict=True)]
        if method is None and name is None:
            return [float(v) for v in values]
        wanted = {i for i, (m, n) in enumerate(self.endpoints) if (method is None or m == method) and n == name}
        return [float(v) for v, e in zip(values, self.req_endpoint, strict=True) if e in wanted]

    def in_flight(self, method: str | None = None, name: str | None = None) -> list[int]:
        """Client-side in-flight count (all endpoints) at the start of each request of one endpoint."""
        ends = [s + d / 1000.0 for s, d in zip(self.req_start_s, self.req_duration_ms, strict=True)]
        counts = in_flight_at_starts(self.req_start_s, ends)
        if method is None and name is None:
            return counts
        wanted = {i for i, (m, n) in enumerate(self.endpoints) if (method is None or m == method) and n == name}
        return [c for c, e in zip(counts, self.req_endpoint, strict=True) if e in wanted]

    def metrics(self, prefix: str = "load.client") -> list[MetricRecord]:
        out = []
        for name, value, unit in (
            ("cpu_utilisation", self.cpu_utilisation, "ratio"),
            ("machine_cpu_busy", self.machine_cpu_busy, "ratio"),
            ("loop_lag_p95_ms", self.loop_lag_p95_ms, "ms"),
            ("late_share", self.late_share, "ratio"),
            ("lateness_p95_ms", self.lateness_p95_ms, "ms"),
            ("connections", float(self.connections), "count"),
            ("connect_p95_ms", self.connect_p95_ms, "ms"),
        ):
            if value is not None and math.isfinite(value):
                out.append(MetricRecord(f"{prefix}.{name}", round(value, 4), unit, {"arrival": self.arrival}))
        return out


def parse_client_stats(path: str | Path) -> ClientStats:
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ToolError(f"Assay's Locust plugin wrote no client stats ({p})") from None
    except json.JSONDecodeError as exc:
        raise ToolError(f"client stats {p} are not valid JSON: {exc}") from None
    try:
        req = raw["requests"]
        return ClientStats(
            arrival=str(raw["arrival"]),
            wall_s=None if raw.get("wall_s") is None else float(raw["wall_s"]),
            cpu_s=None if raw.get("cpu_s") is None else float(raw["cpu_s"]),
            loop_lag_ms=tuple(float(v) for v in raw["loop_lag_ms"]),
            arrivals=int(raw["arrivals"]),
            lateness_ms=tuple(float(v) for v in raw["lateness_ms"]),
            connects_ms=tuple(float(v) for v in raw["connects_ms"]),
            endpoints=tuple((str(m), str(n)) for m, n in raw["endpoints"]),
            req_endpoint=tuple(int(v) for v in req["endpoint"]),
            req_start_s=tuple(float(v) for v in req["start_s"]),
            req_duration_ms=tuple(float(v) for v in req["duration_ms"]),
            req_wire_ms=tuple(None if v is None else float(v) for v in req.get("wire_ms") or ()),
            truncated=bool(raw.get("truncated", False)),
            machine_cpu_busy=None if raw.get("machine_cpu_busy") is None else float(raw["machine_cpu_busy"]),
            cpus=None if raw.get("cpus") is None else int(raw["cpus"]),
            failures=tuple((str(m), str(n), str(e), int(c)) for m, n, e, c in raw.get("failures") or ()),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ToolError(f"client stats {p}: unexpected shape ({exc!r})") from None
