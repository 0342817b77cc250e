"""Read Locust's machine output: the ``--json-file`` stats and the ``--csv`` failure/exception tables.

The JSON file is the source of every number. Locust writes it once, at shutdown, with each endpoint's
full response-time histogram (milliseconds, rounded the way Locust rounds them: exact below 100 ms,
to 10 ms below 1 s, to 100 ms below 10 s) and per-second request and failure counts. The ``_stats.csv``
file is only rewritten once a second while the test runs and not at shutdown, so it can miss the last
second; it is kept as an artefact and not read. ``_failures.csv`` and ``_exceptions.csv`` are read for
their messages only (they share that one-second lag).

Percentiles use Locust's own rule on the histogram (the ``floor(n * q) + 1``-th fastest time, capped at
the slowest), so they equal the figures Locust reports. Latencies include failed requests, as in Locust.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.errors import ToolError
from assay.store.records import MetricRecord

AGGREGATED = "Aggregated"
AGGREGATED_METHOD = "ALL"
PERCENTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


def histogram_percentile(histogram: Mapping[float, int], q: float) -> float | None:
    """Locust's percentile rule on a ``{response_ms: count}`` histogram: the ``floor(n * q) + 1``-th
    fastest value (capped at the slowest); None when the histogram is empty."""
    total = sum(histogram.values())
    if total == 0:
        return None
    allowed_slower = int(total * q)
    seen = 0
    for value in sorted(histogram, reverse=True):
        seen += histogram[value]
        if total - seen <= allowed_slower:
            return float(value)
    return float(min(histogram))


@dataclass(frozen=True)
class EndpointStats:
    """Everything Locust measured for one (method, name) entry, or the aggregate of all of them."""

    name: str
    method: str
    requests: int
    failures: int
    histogram: Mapping[int, int]
    total_response_ms: float
    max_ms: float
    first_ts: float
    last_ts: float
    requests_per_second: Mapping[int, int] = field(default_factory=dict)
    failures_per_second: Mapping[int, int] = field(default_factory=dict)

    @property
    def successes(self) -> int:
        return self.requests - self.failures

    @property
    def error_rate(self) -> float | None:
        return self.failures / self.requests if self.requests else None

    @property
    def window_s(self) -> float:
        return max(0.0, self.last_ts - self.first_ts)

    @property
    def rps(self) -> float | None:
        """Requests per second from the first to the last logged request (Locust's ``Requests/s``)."""
        return self.requests / self.window_s if self.window_s > 0 else None

    @property
    def mean_ms(self) -> float | None:
        return self.total_response_ms / self.requests if self.requests else None

    def percentile(self, q: float) -> float | None:
        return histogram_percentile(self.histogram, q)

    def steady_throughput(self, ramp_up_s: float) -> tuple[float | None, int]:
        """Successful requests per second over the whole seconds after the ramp-up, excluding the
        partial first and last second; also the number of seconds it is measured over (0: none)."""
        if not self.requests_per_second:
            return None, 0
        first = math.ceil(self.first_ts + ramp_up_s)
        last = math.floor(self.last_ts)  # the second in progress at the end is partial
        seconds = range(first, last)
        if not seconds:
            return None, 0
        good = sum(self.requests_per_second.get(s, 0) - self.failures_per_second.get(s, 0) for s in seconds)
        return good / len(seconds), len(seconds)

    def labels(self) -> dict[str, str]:
        return {"endpoint": self.name, "method": self.method}

    def metrics(self, prefix: str = "load") -> list[MetricRecord]:
        labels = self.labels()
        out = [
            MetricRecord(f"{prefix}.requests", float(self.requests), "count", labels),
            MetricRecord(f"{prefix}.failures", float(self.failures), "count", labels),
        ]
        if self.error_rate is not None:
            out.append(MetricRecord(f"{prefix}.error_rate", self.error_rate, "ratio", labels))
        if self.rps is not None:
            out.append(MetricRecord(f"{prefix}.rps", round(self.rps, 3), "req/s", labels))
        if self.successes == 0:  # latencies of failed-only traffic measure nothing about the service
            return out
        for key, q in PERCENTILES.items():
            out.append(MetricRecord(f"{prefix}.latency_{key}_ms", self.percentile(q), "ms", labels))
        out.append(MetricRecord(f"{prefix}.latency_max_ms", round(self.max_ms, 3), "ms", labels))
        return out


@dataclass(frozen=True)
class FailureRow:
    method: str
    name: str
    error: str
    occurrences: int


@dataclass(frozen=True)
class LoadTestStats:
    endpoints: tuple[EndpointStats, ...]
    failures: tuple[FailureRow, ...] = ()
    exceptions: tuple[str, ...] = ()

    @property
    def aggregated(self) -> EndpointStats:
        return aggregate(self.endpoints)

    def metrics(self, *, ramp_up_s: float, prefix: str = "load") -> list[MetricRecord]:
        out: list[MetricRecord] = []
        for entry in (*self.endpoints, self.aggregated):
            out += entry.metrics(prefix)
        steady, seconds = self.aggregated.steady_throughput(ramp_up_s)
        if steady is not None:
            labels = self.aggregated.labels() | {"seconds": seconds}
            out.append(MetricRecord(f"{prefix}.throughput_steady_rps", round(steady, 3), "req/s", labels))
        return out

    def failure_summary(self, limit: int = 5) -> str:
        if not self.failures:
            return ""
        rows = sorted(self.failures, key=lambda f: -f.occurrences)[:limit]
        return "; ".join(f"{f.method} {f.name}: {f.error} ×{f.occurrences}" for f in rows)


def aggregate(entries: Iterable[EndpointStats]) -> EndpointStats:
    """Merge entries the way Locust's ``Aggregated`` row does (histograms and per-second counts add)."""
    items = list(entries)
    hist: Counter[int] = Counter()
    reqs: Counter[int] = Counter()
    fails: Counter[int] = Counter()
    for e in items:
        hist.update(e.histogram)
        reqs.update(e.requests_per_second)
        fails.update(e.failures_per_second)
    return EndpointStats(
        name=AGGREGATED,
        method=AGGREGATED_METHOD,
        requests=sum(e.requests for e in items),
        failures=sum(e.failures for e in items),
        histogram=dict(hist),
        total_response_ms=sum(e.total_response_ms for e in items),
        max_ms=max((e.max_ms for e in items), default=0.0),
        first_ts=min((e.first_ts for e in items), default=0.0),
        last_ts=max((e.last_ts for e in items), default=0.0),
        requests_per_second=dict(reqs),
        failures_per_second=dict(fails),
    )


def _int_keys(data: Mapping[str, Any]) -> dict[int, int]:
    return {int(float(k)): int(v) for k, v in data.items()}


def parse_locust_json(path: str | Path) -> tuple[EndpointStats, ...]:
    """Parse ``<prefix>.json`` written by ``locust --json-file <prefix>``."""
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ToolError(f"Locust wrote no JSON stats file ({p})") from None
    except json.JSONDecodeError as exc:
        raise ToolError(f"Locust's JSON stats file {p} is not valid JSON: {exc}") from None
    if not isinstance(raw, list):
        raise ToolError(f"Locust's JSON stats file {p} is not a list of stats entries")
    entries = []
    for i, item in enumerate(raw):
        try:
            entries.append(
                EndpointStats(
                    name=str(item["name"]),
                    method=str(item["method"] or ""),
                    requests=int(item["num_requests"]),
                    failures=int(item["num_failures"]),
                    histogram=_int_keys(item["response_times"]),
                    total_response_ms=float(item["total_response_time"]),
                    max_ms=float(item["max_response_time"] or 0.0),
                    first_ts=float(item["start_time"]),
                    last_ts=float(item["last_request_timestamp"] or item["start_time"]),
                    requests_per_second=_int_keys(item.get("num_reqs_per_sec") or {}),
                    failures_per_second=_int_keys(item.get("num_fail_per_sec") or {}),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ToolError(f"Locust's JSON stats file {p}, entry {i}: unexpected shape ({exc!r})") from None
    return tuple(entries)


def _csv_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def parse_failures_csv(path: str | Path) -> tuple[FailureRow, ...]:
    rows = _csv_rows(Path(path))
    return tuple(
        FailureRow(r.get("Method", ""), r.get("Name", ""), r.get("Error", ""), int(r.get("Occurrences") or 0))
        for r in rows
    )


def parse_exceptions_csv(path: str | Path) -> tuple[str, ...]:
    rows = _csv_rows(Path(path))
    return tuple(f"{r.get('Message', '').strip()} ×{r.get('Count', '?')}" for r in rows)


def load_locust_outputs(prefix: str | Path) -> LoadTestStats:
    """Everything a run left under ``prefix`` (``--csv <prefix> --json-file <prefix>``)."""
    base = str(prefix)
    return LoadTestStats(
        endpoints=parse_locust_json(base + ".json"),
        failures=parse_failures_csv(base + "_failures.csv"),
        exceptions=parse_exceptions_csv(base + "_exceptions.csv"),
    )
