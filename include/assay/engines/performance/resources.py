"""Sample CPU and memory utilisation with psutil in a background thread while something runs.

Two scopes:

* ``system``: the whole machine (``psutil.cpu_percent`` across all cores, ``virtual_memory().percent``);
  on a shared worker this includes everyone else's load, which is what "resource use < 80 %" means
  for capacity;
* ``process_tree``: only this process and its descendants: CPU time consumed between two samples
  (live children plus children already reaped, via ``children_user/system``) over wall time × cores,
  and their summed RSS as a share of total memory.

Both are sampled every interval; the gates use the configured scope, both are reported (max and mean).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import psutil

from assay.status import Status
from assay.store.records import CheckRecord, MetricRecord


@dataclass(frozen=True)
class Sample:
    at: float
    system_cpu: float
    system_memory: float
    tree_cpu: float
    tree_memory: float


def _tree_cpu_seconds(me: psutil.Process) -> float:
    times = me.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in me.children(recursive=True):
        try:
            t = child.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        total += t.user + t.system
    return total


def _tree_rss(me: psutil.Process) -> int:
    rss = me.memory_info().rss
    for child in me.children(recursive=True):
        try:
            rss += child.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return rss


@dataclass
class ResourceSampler:
    """``with ResourceSampler(1.0) as sampler: ...`` then read ``sampler.samples``."""

    interval_s: float = 1.0
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="assay-resource-sampler", daemon=True)
        self._me = psutil.Process()
        self._cores = psutil.cpu_count() or 1
        self._total_memory = psutil.virtual_memory().total

    def __enter__(self) -> ResourceSampler:
        psutil.cpu_percent(interval=None)  # prime: the first call has no reference point
        self._last = (time.monotonic(), _tree_cpu_seconds(self._me))
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval_s * 2 + 5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def sample(self) -> Sample:
        now, cpu_s = time.monotonic(), _tree_cpu_seconds(self._me)
        last_at, last_cpu = self._last
        self._last = (now, cpu_s)
        wall = max(now - last_at, 1e-6)
        tree_cpu = min(100.0, max(0.0, (cpu_s - last_cpu) / (wall * self._cores) * 100.0))
        s = Sample(
            at=now,
            system_cpu=psutil.cpu_percent(interval=None),
            system_memory=psutil.virtual_memory().percent,
            tree_cpu=round(tree_cpu, 2),
            tree_memory=round(_tree_rss(self._me) / self._total_memory * 100.0, 3),
        )
        self.samples.append(s)
        return s


_FIELDS = {"system": ("system_cpu", "system_memory"), "process_tree": ("tree_cpu", "tree_memory")}


def utilisation_checks_and_metrics(
    samples: list[Sample],
    *,
    scope: str,
    cpu_max: float,
    memory_max: float,
    interval_s: float,
    prefix: str = "pipeline",
) -> tuple[list[CheckRecord], list[MetricRecord]]:
    """Max and mean of every series as metrics. Gates for ``scope``: mean CPU < ``cpu_max`` (sustained
    saturation; a single sample at 100 % is a burst, not exhaustion) and max memory < ``memory_max``
    (memory runs out at its peak). No sample at all is ERROR (utilisation unknown, never assumed fine)."""
    if not samples:
        msg = "no resource sample was taken (the run was shorter than one sampling interval)"
        return (
            [
                CheckRecord(f"{prefix}.cpu_percent", Status.ERROR, threshold=cpu_max, comparator="<", message=msg),
                CheckRecord(
                    f"{prefix}.memory_percent", Status.ERROR, threshold=memory_max, comparator="<", message=msg
                ),
            ],
            [],
        )
    metrics: list[MetricRecord] = []
    stats: dict[str, tuple[float, float]] = {}
    for series in ("system_cpu", "system_memory", "tree_cpu", "tree_memory"):
        values = [getattr(s, series) for s in samples]
        stats[series] = (max(values), sum(values) / len(values))
        kind, what = series.split("_")
        labels = {"scope": "system" if kind == "system" else "process_tree"}
        metrics.append(MetricRecord(f"{prefix}.{what}_percent_max", round(stats[series][0], 2), "%", labels))
        metrics.append(MetricRecord(f"{prefix}.{what}_percent_mean", round(stats[series][1], 2), "%", labels))
    cpu_field, mem_field = _FIELDS[scope]
    checks = []
    for name, fld, limit, stat in (
        ("cpu_percent", cpu_field, cpu_max, "mean"),
        ("memory_percent", mem_field, memory_max, "max"),
    ):
        peak, mean = stats[fld]
        observed = mean if stat == "mean" else peak
        what = name.split("_")[0]
        checks.append(
            CheckRecord(
                f"{prefix}.{name}",
                Status.PASS if observed < limit else Status.FAIL,
                observed=round(observed, 2),
                threshold=limit,
                comparator="<",
                message=f"{what} utilisation ({scope}) {stat} {observed:.1f}% (max {peak:.1f}%, mean {mean:.1f}%) over "
                f"{len(samples)} samples of {interval_s:g} s",
            )
        )
    return checks, metrics
