"""Measurement honesty: does the load generator's p95 agree with the server's own timing?

Locust times a request from before it is sent to after the response is read, so its figure includes
the client's own overhead (connection set-up, the load generator's CPU, queueing before the server's
timer starts); the server times only its handling. Within ``tolerance`` (20 % by default) the two
agree and the load test measured the service. Beyond it the check is WARN and says which side is
higher: client higher means client-side overhead of ``client - server`` ms (a saturated load generator
or first-connection cost), client lower means the two windows or timers do not cover the same requests.

Server timings are read over HTTP from an endpoint following the demo API's contract:
``GET /admin/timings?since=<t>&route=<route>&include_items=true`` (admin bearer token) answers
``{"now": t, "items": [{"duration_ms": ..., ...}]}``, where ``t`` is the server's monotonic clock: take
``now`` with :meth:`ServerTimings.mark` before the run and read the window with ``since=`` after it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import requests

from assay.engines.performance.load_test import LoadTestResult
from assay.engines.performance.locust_stats import histogram_percentile
from assay.errors import TargetError
from assay.status import Status
from assay.store.records import CheckRecord, MetricRecord

DEFAULT_TOLERANCE = 0.20


@dataclass(frozen=True)
class TimingComparison:
    client_p95_ms: float
    server_p95_ms: float | None
    server_count: int
    tolerance: float
    endpoint: str

    @property
    def ratio(self) -> float | None:
        """Client p95 over server p95 (1.0 is perfect agreement)."""
        if self.server_p95_ms is None or self.server_p95_ms <= 0:
            return None
        return self.client_p95_ms / self.server_p95_ms

    @property
    def overhead_ms(self) -> float | None:
        return None if self.server_p95_ms is None else self.client_p95_ms - self.server_p95_ms

    @property
    def status(self) -> Status:
        """PASS within tolerance, else WARN: the load test's own verdict stands either way, but a
        figure that the server does not confirm must not pass unremarked."""
        if self.ratio is None:
            return Status.WARN
        return Status.PASS if abs(self.ratio - 1.0) <= self.tolerance else Status.WARN

    @property
    def message(self) -> str:
        if self.server_p95_ms is None:
            return f"the server reported no timings for {self.endpoint} in the run's window; nothing to compare"
        if self.ratio is None:
            return f"server p95 for {self.endpoint} is {self.server_p95_ms} ms; a ratio cannot be formed"
        both = (
            f"{self.endpoint}: client p95 {self.client_p95_ms:.1f} ms, server p95 {self.server_p95_ms:.1f} ms "
            f"over {self.server_count} requests, ratio {self.ratio:.2f}"
        )
        if self.status is Status.PASS:
            return f"{both}: within {self.tolerance:.0%}, the load test measured the service"
        if self.ratio > 1:
            return (
                f"{both}: the client adds {self.overhead_ms:.1f} ms at p95 beyond the server's handling; that is "
                "client-side overhead (connection set-up, a saturated load generator, queueing before the "
                "server's timer starts), so the client figure overstates the service's latency"
            )
        return (
            f"{both}: the client measured less than the server; the two windows or timers do not cover the "
            "same requests, so neither figure can be trusted for this run"
        )

    def check(self, name: str = "load.measurement_agreement") -> CheckRecord:
        return CheckRecord(
            name,
            self.status,
            observed=None if self.ratio is None else round(self.ratio, 4),
            threshold=self.tolerance,
            comparator="|ratio-1|<=",
            severity="warning",
            message=self.message,
        )

    def metrics(self, prefix: str = "load") -> list[MetricRecord]:
        labels = {"endpoint": self.endpoint}
        out = [MetricRecord(f"{prefix}.client_p95_ms", self.client_p95_ms, "ms", labels)]
        if self.server_p95_ms is not None:
            out.append(MetricRecord(f"{prefix}.server_p95_ms", round(self.server_p95_ms, 3), "ms", labels))
        if self.ratio is not None:
            out.append(MetricRecord(f"{prefix}.client_server_p95_ratio", round(self.ratio, 4), "ratio", labels))
        return out


def server_p95(durations_ms: Sequence[float]) -> float | None:
    """p95 of the server's durations by the rank rule Locust applies to the client's (None for none)."""
    return histogram_percentile(Counter(float(d) for d in durations_ms), 0.95)


def compare_client_server(
    client_p95_ms: float,
    server_durations_ms: Sequence[float],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    endpoint: str = "Aggregated",
) -> TimingComparison:
    """Compare a run's client-side p95 with the p95 of the server's durations for the same window."""
    if tolerance <= 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance}")
    return TimingComparison(
        float(client_p95_ms), server_p95(server_durations_ms), len(server_durations_ms), tolerance, endpoint
    )


class ServerTimings:
    """Client of a server's ``/admin/timings`` endpoint (see the module docstring for the contract)."""

    def __init__(
        self, host: str, admin_token: str | None, *, path: str = "/admin/timings", timeout_s: float = 10.0
    ) -> None:
        self.url = host.rstrip("/") + path
        self.headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
        self.timeout_s = timeout_s

    def _get(self, params: dict[str, str]) -> dict:
        try:
            resp = requests.get(self.url, params=params, headers=self.headers, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise TargetError(f"cannot read server timings from {self.url}: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise TargetError(f"server timings {self.url} answered HTTP {resp.status_code}; an admin token is needed")
        try:
            return resp.json()
        except ValueError:
            raise TargetError(f"server timings {self.url} did not answer JSON") from None

    def mark(self) -> float:
        """The server's clock now; pass it as ``since`` after the run."""
        body = self._get({})
        if not isinstance(body.get("now"), int | float):
            raise TargetError(f"server timings {self.url} answered without a numeric 'now'")
        return float(body["now"])

    def durations(self, since: float, *, route: str | None = None, method: str | None = None) -> list[float]:
        params = {"since": repr(since), "include_items": "true"}
        if route:
            params["route"] = route
        if method:
            params["method"] = method
        items = self._get(params).get("items")
        if not isinstance(items, list):
            raise TargetError(f"server timings {self.url} answered without an 'items' list")
        return [float(i["duration_ms"]) for i in items]


def add_server_comparison(
    result: LoadTestResult,
    server: ServerTimings,
    since: float,
    *,
    route: str = "/models/predict",
    method: str = "POST",
    tolerance: float = DEFAULT_TOLERANCE,
) -> TimingComparison | None:
    """Compare the run's client p95 for (``method``, ``route``) with the server's timings since
    ``since`` and add the check and metrics to ``result``. Does nothing for a run without numbers
    (it is already ERROR); a timings endpoint that cannot be read adds a WARN check."""
    if result.stats is None:
        return None
    entry = next((e for e in result.stats.endpoints if e.name == route and e.method == method), None)
    if entry is None or entry.successes == 0:
        return None
    try:
        durations = server.durations(since, route=route, method=method)
    except TargetError as exc:
        _add(
            result,
            CheckRecord(
                "load.measurement_agreement",
                Status.WARN,
                severity="warning",
                message=f"{exc}; the client figures are unconfirmed",
            ),
        )
        return None
    comparison = compare_client_server(entry.percentile(0.95), durations, tolerance=tolerance, endpoint=route)
    _add(result, comparison.check())
    result.metrics.extend(comparison.metrics())
    return comparison


def _add(result: LoadTestResult, check: CheckRecord) -> None:
    result.checks.append(check)
    if check.status != Status.PASS:
        result.message = f"{result.message}\n{check.status}: {check.name}: {check.message}".strip()
