"""Measurement honesty: does the load generator's p95 agree with the server's own timing, and if not, why?

Like is compared with like:

* **the same span**: the server times a request from the first bytes it reads to the last byte it writes
  (the earliest and latest points it can see); the client's figure is each request's time on the wire, from
  its first byte sent to its last response byte read, as Assay's Locust plugin records it. Locust's own
  response time also contains its HTTP library building the request and parsing the response, time no
  server can see (it stays the figure of the SLO gates, and the message quotes its p95 beside);
* **the same percentile rule over exact values**: both sides' p50/p95 are the ``floor(n * q) + 1``-th
  smallest of exact per-request durations (:func:`exact_percentile`). Locust's histogram rounds every
  duration to the millisecond (2 significant figures from 100 ms), so a 4.4 ms p95 would read 4 ms: it is
  only the fallback when the plugin recorded nothing for the endpoint or stopped recording (truncated).

Within ``tolerance`` (20 % by default) the two agree and the load test measured the service. Beyond it the
check is WARN (an honesty check: the SLO verdict stands) and names the side the run's own measurements
point at. What neither timer contains is time a request spent outside both: waiting unread at the server
(its event loop busy with another request's code, or its accept queue) or unread at the client (the load
generator's loop busy or starved of CPU). Both sides run the same probe (how late a 10 ms sleep wakes
up: the loop lag), so the two waits are measured alike:

1. **the load generator**, when it used most of its one core, or when its loop lag p95 covers a large
   enough part of the gap and is larger than the server's: responses were read late and the client figure
   overstates the service's latency;
2. **queueing at the server before its timer starts**, when the server's loop lag p95 covers that part of
   the gap and is the larger, or (a server that reports no loop lag, or lags that explain nothing) when a
   request found more of the client's requests in flight than the server had received: they waited in
   its accept queue or unread while its loop was busy. That wait is real latency a caller sees; the
   server's own figure understates it, and the service is short of capacity for these arrivals (or the
   arrivals were bunched);
3. **connection set-up**: many requests opened a new TCP connection (keep-alive not reused), whose
   set-up only the client's time contains;
4. otherwise the figures recorded do not explain it, and the message says what was ruled out.

A client figure *below* the server's means the two did not time the same requests.

Server timings are read over HTTP from an endpoint following this contract (the bundled
example service implements it):
``GET /admin/timings?since=<t>&route=<route>&method=<m>&include_items=true`` (admin bearer token)
answers ``{"now": t, "items": [{"duration_ms": ..., "in_flight": ..., "app_ms": ...}], "loop_lag_ms": [...]}``,
where ``t`` is the server's monotonic clock, ``duration_ms`` spans the request from the first bytes the server
read to the last it wrote, ``in_flight`` (optional) counts the other requests it had received and not yet
answered when one was received, ``app_ms`` (optional) is the part after its app started on it, and
``loop_lag_ms`` (optional) are its event loop's lag samples in the window (how late a 10 ms sleep woke up):
take ``now`` with :meth:`ServerTimings.mark` before the run and read the window with ``since=`` after it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import requests

from assay.engines.performance.client_stats import ClientStats, rank_percentile
from assay.engines.performance.load_test import LoadTestResult
from assay.engines.performance.locust_stats import EndpointStats, histogram_percentile
from assay.errors import TargetError
from assay.status import Status
from assay.store.records import CheckRecord, MetricRecord

DEFAULT_TOLERANCE = 0.20
CHECK_NAME = "load.measurement_agreement"
# When the generator is to blame: most of its one core busy, or its loop lag covering half the gap.
CLIENT_CPU_SATURATED = 0.85
CLIENT_LAG_SHARE = 0.5
# Queueing before the server's timer: at p95, this many more of the client's requests were in flight than the
# server was timing when a request started.
QUEUED_BEFORE_TIMER = 1
# A machine this busy starves both sides; then a smaller loop lag already counts against the generator.
MACHINE_SATURATED = 0.9
# Connection set-up: this share of requests or more opened a new connection.
NEW_CONNECTION_SHARE = 0.2


@dataclass(frozen=True)
class ServerSample:
    duration_ms: float
    in_flight: int | None = None
    app_ms: float | None = None  # the part after the server's app started on it, when the server says


CLIENT_WIRE = "on the wire"  # each request's first byte sent to its last byte read, exact
CLIENT_EXACT = "as Locust timed each request"  # exact, with the HTTP library's own time
CLIENT_HISTOGRAM = "from Locust's rounded histogram"


@dataclass(frozen=True)
class TimingComparison:
    """Client vs server p95 for one endpoint, with the evidence of where a difference comes from."""

    client_p95_ms: float
    server_p95_ms: float | None
    server_count: int
    tolerance: float
    endpoint: str
    client_p50_ms: float | None = None
    server_p50_ms: float | None = None
    client_requests: int | None = None
    server_in_flight: tuple[int, ...] = ()
    client_in_flight: tuple[int, ...] = ()
    client: ClientStats | None = None
    method: str | None = None
    client_source: str = CLIENT_WIRE
    server_queued_ms: tuple[float, ...] = ()  # per request: duration_ms - app_ms, when the server reports app_ms
    server_loop_lag_ms: tuple[float, ...] = ()
    client_locust_p95_ms: float | None = None  # Locust's own time's exact p95, when the figure compared is the wire's

    @property
    def server_loop_lag_p95_ms(self) -> float | None:
        return rank_percentile(self.server_loop_lag_ms, 0.95)

    @property
    def where(self) -> str:
        return f"{self.method} {self.endpoint}" if self.method else self.endpoint

    @property
    def ratio(self) -> float | None:
        """Client p95 over server p95 (1.0 is perfect agreement)."""
        if self.server_p95_ms is None or self.server_p95_ms <= 0:
            return None
        return self.client_p95_ms / self.server_p95_ms

    @property
    def deviation(self) -> float | None:
        return None if self.ratio is None else abs(self.ratio - 1.0)

    @property
    def overhead_ms(self) -> float | None:
        return None if self.server_p95_ms is None else self.client_p95_ms - self.server_p95_ms

    @property
    def status(self) -> Status:
        """PASS within tolerance, else WARN: the load test's own verdict stands either way, but a
        figure that the server does not confirm must not pass unremarked."""
        if self.deviation is None:
            return Status.WARN
        return Status.PASS if self.deviation <= self.tolerance else Status.WARN

    @property
    def server_in_flight_p95(self) -> float | None:
        return rank_percentile(self.server_in_flight, 0.95)

    @property
    def client_in_flight_p95(self) -> float | None:
        return rank_percentile(self.client_in_flight, 0.95)

    @property
    def queued_before_timer(self) -> float | None:
        """Client in-flight p95 minus server in-flight p95 (None unless both were measured)."""
        if not self.client_in_flight or not self.server_in_flight:
            return None
        return self.client_in_flight_p95 - self.server_in_flight_p95

    @property
    def new_connection_share(self) -> float | None:
        if self.client is None or not self.client.requests:
            return None
        return min(1.0, self.client.connections / self.client.requests)

    @property
    def cause(self) -> str:
        """``agree``, ``load_generator``, ``server_queueing``, ``connection_setup``, ``unexplained``,
        ``windows_differ`` or ``no_server_timings``."""
        if self.ratio is None:
            return "no_server_timings"
        if self.status is Status.PASS:
            return "agree"
        if self.ratio < 1:
            return "windows_differ"
        gap = self.overhead_ms or 0.0
        client = self.client
        client_lag = 0.0 if client is None else client.loop_lag_p95_ms or 0.0
        machine = None if client is None else client.machine_cpu_busy
        lag_share = CLIENT_LAG_SHARE / 2 if machine is not None and machine >= MACHINE_SATURATED else CLIENT_LAG_SHARE
        if client is not None and (client.cpu_utilisation or 0.0) >= CLIENT_CPU_SATURATED:
            return "load_generator"
        queued = self.queued_before_timer is not None and self.queued_before_timer >= QUEUED_BEFORE_TIMER
        server_lag = self.server_loop_lag_p95_ms
        if server_lag is not None:  # both loops measured alike: the larger wait, if it covers its share of the gap
            if max(client_lag, server_lag) >= lag_share * gap:
                return "server_queueing" if server_lag > client_lag else "load_generator"
            if queued:
                return "server_queueing"
        else:  # only the client's wait is measured: requests the server had not received yet come first
            if queued:
                return "server_queueing"
            if client_lag >= lag_share * gap:
                return "load_generator"
        share = self.new_connection_share
        if share is not None and share >= NEW_CONNECTION_SHARE:
            return "connection_setup"
        return "unexplained"

    def _evidence(self) -> str:
        parts = []
        c = self.client
        if c is not None:
            if c.cpu_utilisation is not None:
                parts.append(f"load generator CPU {c.cpu_utilisation:.0%} of a core")
            if c.machine_cpu_busy is not None:
                parts.append(f"machine CPU {c.machine_cpu_busy:.0%} busy")
            if c.loop_lag_p95_ms is not None:
                parts.append(f"its loop lag p95 {c.loop_lag_p95_ms:.1f} ms")
            if c.late_share is not None:
                parts.append(f"{c.late_share:.0%} of arrivals sent late")
            parts.append(f"{c.connections} new connection(s) for {c.requests} requests")
        else:
            parts.append("no client-side measurements")
        if self.client_in_flight:
            parts.append(f"in flight from the client at request start p95 {self.client_in_flight_p95:g}")
        if self.server_in_flight:
            parts.append(f"in flight at the server p95 {self.server_in_flight_p95:g}")
        else:
            parts.append("the server reports no in-flight counts")
        if self.server_loop_lag_ms:
            parts.append(f"the server's loop lag p95 {self.server_loop_lag_p95_ms:.1f} ms")
        if self.server_queued_ms:
            queued = rank_percentile(self.server_queued_ms, 0.95)
            parts.append(f"read but waiting for the server's app p95 {queued:.1f} ms (inside its timer)")
        return "; ".join(parts)

    @property
    def message(self) -> str:
        if self.server_p95_ms is None:
            return f"the server reported no timings for {self.where} in the run's window; nothing to compare"
        if self.ratio is None:
            return f"server p95 for {self.where} is {self.server_p95_ms} ms; a ratio cannot be formed"
        p50s = ""
        if self.client_p50_ms is not None and self.server_p50_ms is not None:
            p50s = f" (p50 {self.client_p50_ms:.1f} vs {self.server_p50_ms:.1f} ms)"
        locust = ""
        if self.client_locust_p95_ms is not None:
            locust = f"; Locust's own p95, with its HTTP library's time, {self.client_locust_p95_ms:.1f} ms"
        both = (
            f"{self.where}: client p95 {self.client_p95_ms:.1f} ms, server p95 {self.server_p95_ms:.1f} ms{p50s} "
            f"over {self.server_count} requests, ratio {self.ratio:.2f} (client times {self.client_source}{locust})"
        )
        evidence = self._evidence()
        cause = self.cause
        if cause == "agree":
            return f"{both}: within {self.tolerance:.0%}, the load test measured the service ({evidence})"
        if cause == "windows_differ":
            return (
                f"{both}: the client measured less than the server; the two windows or timers do not cover the "
                f"same requests, so neither figure can be trusted for this run ({evidence})"
            )
        gap = f"the client adds {self.overhead_ms:.1f} ms at p95"
        if cause == "load_generator":
            return (
                f"{both}: {gap}, and the load generator explains it: {evidence}. Responses were timestamped "
                "late, so the client figure overstates the service's latency; give Locust a core of its own "
                "or lower the rate"
            )
        if cause == "server_queueing":
            return (
                f"{both}: {gap}, and queueing at the server explains it: {evidence}. Requests waited before the "
                "server's timer started (accept queue, or unread while its event loop ran other requests' code); "
                "a caller sees that wait too, so the client figure is the service's latency and the service is "
                "short of capacity for these arrivals"
            )
        if cause == "connection_setup":
            return (
                f"{both}: {gap}, and connection set-up explains it: {evidence}. Most requests paid for a new "
                "connection the server's timer never sees (keep-alive not reused: users return less often "
                "than the server keeps idle connections)"
            )
        return (
            f"{both}: {gap} that the recorded figures do not explain ({evidence}); the load generator was not "
            "short of CPU, neither side's loop lag covers the gap, requests did not queue and connections were "
            "reused, so check that client and server time the same requests"
        )

    def check(self, name: str = CHECK_NAME) -> CheckRecord:
        return CheckRecord(
            name,
            self.status,
            observed=None if self.deviation is None else round(self.deviation, 4),
            threshold=self.tolerance,
            comparator="<=",
            severity="warning",
            message=self.message,
        )

    def metrics(self, prefix: str = "load") -> list[MetricRecord]:
        labels = {"endpoint": self.endpoint} | ({"method": self.method} if self.method else {})
        out = [MetricRecord(f"{prefix}.client_p95_ms", self.client_p95_ms, "ms", labels)]
        if self.server_p95_ms is not None:
            out.append(MetricRecord(f"{prefix}.server_p95_ms", round(self.server_p95_ms, 3), "ms", labels))
        if self.server_p50_ms is not None:
            out.append(MetricRecord(f"{prefix}.server_p50_ms", round(self.server_p50_ms, 3), "ms", labels))
        if self.ratio is not None:
            out.append(
                MetricRecord(
                    f"{prefix}.client_server_p95_ratio", round(self.ratio, 4), "ratio", labels | {"cause": self.cause}
                )
            )
        if self.server_in_flight:
            out.append(MetricRecord(f"{prefix}.server_in_flight_p95", self.server_in_flight_p95, "count", labels))
        if self.client_in_flight:
            out.append(MetricRecord(f"{prefix}.client_in_flight_p95", self.client_in_flight_p95, "count", labels))
        if self.server_loop_lag_ms:
            out.append(
                MetricRecord(f"{prefix}.server_loop_lag_p95_ms", round(self.server_loop_lag_p95_ms, 3), "ms", labels)
            )
        return out


def exact_percentile(durations_ms: Sequence[float], q: float) -> float | None:
    """A percentile of exact durations by Locust's rank rule (the ``floor(n * q) + 1``-th smallest, which is
    numpy's ``method="higher"`` for the p50 and p95), the one rule used for both the client and the server."""
    return histogram_percentile(Counter(float(d) for d in durations_ms), q)


server_percentile = exact_percentile


def server_p95(durations_ms: Sequence[float]) -> float | None:
    return server_percentile(durations_ms, 0.95)


def compare_client_server(
    client_p95_ms: float,
    server: Sequence[float] | Sequence[ServerSample],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    endpoint: str = "Aggregated",
    client_p50_ms: float | None = None,
    client_requests: int | None = None,
    client: ClientStats | None = None,
    client_in_flight: Sequence[int] = (),
    method: str | None = None,
    client_source: str = CLIENT_WIRE,
    server_loop_lag_ms: Sequence[float] = (),
    client_locust_p95_ms: float | None = None,
) -> TimingComparison:
    """Compare a run's client-side p95 with the p95 of the server's durations for the same window;
    ``server`` is a list of durations (ms) or of :class:`ServerSample` (with in-flight counts)."""
    if tolerance <= 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance}")
    samples = [s if isinstance(s, ServerSample) else ServerSample(float(s)) for s in server]
    durations = [s.duration_ms for s in samples]
    in_flight = tuple(s.in_flight for s in samples if s.in_flight is not None)
    queued = tuple(max(0.0, s.duration_ms - s.app_ms) for s in samples if s.app_ms is not None)
    return TimingComparison(
        float(client_p95_ms),
        server_p95(durations),
        len(durations),
        tolerance,
        endpoint,
        client_p50_ms=client_p50_ms,
        server_p50_ms=server_percentile(durations, 0.5),
        client_requests=client_requests,
        server_in_flight=in_flight if len(in_flight) == len(samples) else (),
        client_in_flight=tuple(client_in_flight),
        client=client,
        method=method,
        client_source=client_source,
        server_queued_ms=queued if len(queued) == len(samples) else (),
        server_loop_lag_ms=tuple(float(v) for v in server_loop_lag_ms),
        client_locust_p95_ms=client_locust_p95_ms,
    )


def client_percentiles(entry: EndpointStats, client: ClientStats | None) -> tuple[float, float, str]:
    """The client's p50 and p95 for one endpoint and where they come from: each request's time on the wire as
    Assay's Locust plugin recorded it (or, from a plugin that records no wire times, its exact Locust time),
    by the rule :func:`exact_percentile` also applies to the server's; Locust's rounded histogram only when
    the plugin recorded nothing for the endpoint or stopped recording (truncated)."""
    durations = [] if client is None or client.truncated else client.durations(entry.method, entry.name, wire=True)
    if durations:
        source = CLIENT_WIRE if client.has_wire_times else CLIENT_EXACT
        return exact_percentile(durations, 0.5), exact_percentile(durations, 0.95), source
    return entry.percentile(0.5), entry.percentile(0.95), CLIENT_HISTOGRAM


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

    def samples(self, since: float, *, route: str | None = None, method: str | None = None) -> list[ServerSample]:
        return self.window(since, route=route, method=method)[0]

    def window(
        self, since: float, *, route: str | None = None, method: str | None = None
    ) -> tuple[list[ServerSample], list[float]]:
        """The server's timings since ``since`` and its event loop's lag samples (empty when it reports none)."""
        params = {"since": repr(since), "include_items": "true"}
        if route:
            params["route"] = route
        if method:
            params["method"] = method
        body = self._get(params)
        items = body.get("items")
        if not isinstance(items, list):
            raise TargetError(f"server timings {self.url} answered without an 'items' list")
        lags = body.get("loop_lag_ms") or []
        try:
            lag_ms = [float(v) for v in lags] if isinstance(lags, list) else []
        except (TypeError, ValueError):
            lag_ms = []
        try:
            samples = [
                ServerSample(
                    float(i["duration_ms"]),
                    None if i.get("in_flight") is None else int(i["in_flight"]),
                    None if i.get("app_ms") is None else float(i["app_ms"]),
                )
                for i in items
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise TargetError(f"server timings {self.url}: an item has no numeric duration_ms ({exc!r})") from None
        return samples, lag_ms

    def durations(self, since: float, *, route: str | None = None, method: str | None = None) -> list[float]:
        return [s.duration_ms for s in self.samples(since, route=route, method=method)]


def add_server_comparison(
    result: LoadTestResult,
    server: ServerTimings,
    since: float,
    *,
    route: str | None = None,
    method: str | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> TimingComparison | None:
    """Compare the run's client figures for (``method``, ``route``) with the server's timings since
    ``since`` and add the check and metrics to ``result``. Without ``route``, the endpoint with the most
    successful requests is compared. Does nothing for a run without numbers (it is already ERROR); a
    timings endpoint that cannot be read adds a WARN check."""
    if result.stats is None:
        return None
    candidates = [
        e
        for e in result.stats.endpoints
        if e.successes and (route is None or e.name == route) and (method is None or e.method == method)
    ]
    if not candidates:
        return None
    entry = max(candidates, key=lambda e: e.successes)
    try:
        samples, loop_lag_ms = server.window(since, route=entry.name, method=entry.method or None)
    except TargetError as exc:
        _add(
            result,
            CheckRecord(
                CHECK_NAME, Status.WARN, severity="warning", message=f"{exc}; the client figures are unconfirmed"
            ),
        )
        return None
    client = result.client
    client_p50, client_p95, source = client_percentiles(entry, client)
    comparison = compare_client_server(
        client_p95,
        samples,
        tolerance=tolerance,
        endpoint=entry.name,
        method=entry.method or None,
        client_source=source,
        server_loop_lag_ms=loop_lag_ms,
        client_locust_p95_ms=(
            exact_percentile(client.durations(entry.method, entry.name), 0.95) if source == CLIENT_WIRE else None
        ),
        client_p50_ms=client_p50,
        client_requests=entry.requests,
        client=client,
        client_in_flight=client.in_flight(entry.method, entry.name) if client is not None else (),
    )
    result.metrics.extend(comparison.metrics())
    result.details["measurement"] = {"endpoint": comparison.where, "cause": comparison.cause, "ratio": comparison.ratio}
    _add(result, comparison.check())
    return comparison


def _add(result: LoadTestResult, check: CheckRecord) -> None:
    """Add ``check`` (its status counts; the summary is derived again) and, unless it passed, its line to the
    message."""
    if check.status != Status.PASS:
        result.message = f"{result.message}\n{check.status}: {check.name}: {check.message}".strip()
    result.add_checks([check])
