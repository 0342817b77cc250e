"""The load test's service-level gates: per request group and per endpoint, never pooled across them.

* ``load.requests_completed``: at least one request succeeded, else ERROR (no numbers to judge);
* ``load.p95_ms[<group>]`` / ``load.error_rate[<group>]``: for each configured request group (its
  requests pooled), and for each endpoint that no group claims (``<group>`` is then ``METHOD name``),
  p95 < limit (whole run, ramp-up included, as Locust reports it) and failed / all requests < limit.
  A group that matched no request is ERROR; a group whose requests all failed has its error rate FAIL
  and its p95 SKIP (no latency of a working service was measured; ERROR when no error-rate gate judges it);
* ``load.throughput_rps``: successful requests per second of all endpoints over the steady state (after
  the ramp-up) >= floor; when the run is too short to have a whole steady second, the full-window rate
  is used and the message says so. With Poisson arrivals the number of requests sent in a window is
  itself random, so the floor is judged with that sampling noise: FAIL only when so few successes would
  happen less than once in a thousand runs at the floor rate.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import poisson

from assay.engines.performance.config import RequestGroupSlo, SloConfig
from assay.engines.performance.locust_stats import EndpointStats, LoadTestStats, aggregate
from assay.status import Status
from assay.store.records import CheckRecord

POISSON_FALSE_FAIL = 0.001  # chance that a service exactly at the throughput floor is failed by noise
MAX_LABEL = 120  # check names are stored in a 200-character column


@dataclass(frozen=True)
class RequestGroup:
    """A named set of Locust entries judged together, with the limits that apply to it."""

    name: str
    entries: tuple[EndpointStats, ...]
    p95_max_ms: float | None
    error_rate_max: float | None
    patterns: tuple[str, ...] = ()

    @property
    def stats(self) -> EndpointStats:
        return self.entries[0] if len(self.entries) == 1 else aggregate(self.entries)


def endpoint_label(entry: EndpointStats) -> str:
    label = f"{entry.method} {entry.name}".strip()
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def request_groups(stats: LoadTestStats, slo: SloConfig) -> list[RequestGroup]:
    """The configured groups (in configuration order), then every endpoint no group claims, alone."""
    claimed: set[tuple[str, str]] = set()
    groups = []
    for name, group in slo.groups.items():
        entries = tuple(e for e in stats.endpoints if group.matches(e.method, e.name))
        claimed.update((e.method, e.name) for e in entries)
        groups.append(_configured(name, group, entries))
    for entry in stats.endpoints:
        if (entry.method, entry.name) not in claimed:
            groups.append(RequestGroup(endpoint_label(entry), (entry,), slo.p95_max_ms, slo.error_rate_max))
    return groups


def _configured(name: str, group: RequestGroupSlo, entries: tuple[EndpointStats, ...]) -> RequestGroup:
    return RequestGroup(name, entries, group.p95_max_ms, group.error_rate_max, tuple(group.requests))


def evaluate_slo(
    stats: LoadTestStats, slo: SloConfig, *, ramp_up_s: float, poisson_arrivals: bool = False
) -> list[CheckRecord]:
    agg = stats.aggregated
    if agg.requests == 0:
        return [
            CheckRecord(
                "load.requests_completed",
                Status.ERROR,
                observed=0,
                threshold=1,
                comparator=">=",
                message="Locust made no request at all, so there is nothing to judge",
            )
        ]
    failures = stats.failure_summary()
    completed = CheckRecord(
        "load.requests_completed",
        Status.PASS if agg.successes else Status.ERROR,
        observed=agg.successes,
        threshold=1,
        comparator=">=",
        message=f"{agg.successes} of {agg.requests} requests succeeded"
        if agg.successes
        else f"none of {agg.requests} requests succeeded, so latency and throughput cannot be measured"
        + (f": {failures}" if failures else ""),
    )
    checks = [completed]
    seen = ", ".join(endpoint_label(e) for e in stats.endpoints)
    for group in request_groups(stats, slo):
        checks += _group_checks(group, stats, seen)
    if agg.successes:
        checks.append(_throughput_check(agg, slo, ramp_up_s=ramp_up_s, poisson_arrivals=poisson_arrivals))
    return checks


def _group_checks(group: RequestGroup, stats: LoadTestStats, seen: str) -> list[CheckRecord]:
    if group.p95_max_ms is None and group.error_rate_max is None:
        return []
    if not group.entries:
        return [
            CheckRecord(
                f"load.requests[{group.name}]",
                Status.ERROR,
                observed=0,
                threshold=1,
                comparator=">=",
                message=f"no request matched group {group.name!r} ({', '.join(group.patterns)}); this run's "
                f"requests were: {seen}. Fix the group's 'requests' patterns or the locustfile's names",
            )
        ]
    st = group.stats
    names = "+".join(endpoint_label(e) for e in group.entries)
    where = names if names == group.name else f"{group.name} ({names})"
    checks = []
    if group.error_rate_max is not None:
        failed = [f for f in stats.failures if any(f.method == e.method and f.name == e.name for e in group.entries)]
        detail = "; ".join(f"{f.error} ×{f.occurrences}" for f in sorted(failed, key=lambda f: -f.occurrences)[:5])
        checks.append(
            CheckRecord(
                f"load.error_rate[{group.name}]",
                Status.PASS if st.error_rate < group.error_rate_max else Status.FAIL,
                observed=round(st.error_rate, 6),
                threshold=group.error_rate_max,
                comparator="<",
                message=f"{where}: {st.failures} of {st.requests} requests failed" + (f": {detail}" if detail else ""),
            )
        )
    if group.p95_max_ms is not None:
        if st.successes == 0:
            # the error-rate gate (always FAIL at 100 % failures) is the verdict; without one, nothing judged it
            gated = group.error_rate_max is not None
            checks.append(
                CheckRecord(
                    f"load.p95_ms[{group.name}]",
                    Status.SKIP if gated else Status.ERROR,
                    threshold=group.p95_max_ms,
                    comparator="<",
                    message=f"{where}: none of {st.requests} requests succeeded, so its latency was not measured"
                    + (f" (load.error_rate[{group.name}] fails)" if gated else ""),
                )
            )
        else:
            p95 = st.percentile(0.95)
            checks.append(
                CheckRecord(
                    f"load.p95_ms[{group.name}]",
                    Status.PASS if p95 < group.p95_max_ms else Status.FAIL,
                    observed=p95,
                    threshold=group.p95_max_ms,
                    comparator="<",
                    message=f"{where}: p95 {p95:.0f} ms over {st.requests} requests (p50 {st.percentile(0.5):.0f} "
                    f"ms, p99 {st.percentile(0.99):.0f} ms, max {st.max_ms:.0f} ms)",
                )
            )
    return checks


def _throughput_check(agg: EndpointStats, slo: SloConfig, *, ramp_up_s: float, poisson_arrivals: bool) -> CheckRecord:
    steady, seconds = agg.steady_throughput(ramp_up_s)
    if steady is None:
        seconds_f = agg.window_s
        rate = agg.successes / seconds_f if seconds_f > 0 else 0.0
        how = f"over the whole {seconds_f:.1f} s window (the run had no whole second after the ramp-up)"
    else:
        seconds_f = float(seconds)
        rate, how = steady, f"over {seconds} steady-state second(s) after the {ramp_up_s:g} s ramp-up"
    floor = slo.throughput_min_rps
    passed = rate >= floor
    if not passed and poisson_arrivals and seconds_f > 0 and floor > 0:
        # the lowest success count a Poisson stream at exactly the floor rate reaches 999 times in 1000
        lowest = poisson.ppf(POISSON_FALSE_FAIL, floor * seconds_f) / seconds_f
        passed = rate >= lowest
        how += (
            f"; below the floor by no more than Poisson arrivals vary over that window (>= {lowest:.1f} "
            "requests/s happens 999 times in 1000 at the floor rate)"
            if passed
            else f"; below {lowest:.1f} requests/s, which Poisson arrivals at the floor rate reach 999 times in 1000"
        )
    return CheckRecord(
        "load.throughput_rps",
        Status.PASS if passed else Status.FAIL,
        observed=round(rate, 3),
        threshold=floor,
        comparator=">=",
        message=f"{rate:.1f} successful requests/s {how}",
    )
