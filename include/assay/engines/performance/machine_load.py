"""Was the machine quiet while a measurement ran? The CPU used by *other* work, sampled over the run.

A load test's p95, a micro-benchmark's p99 and a pipeline run's duration are only true when the load
generator, the service and the code under test do not compete with other tasks for CPU. The deployment
keeps measurements apart (an Airflow pool of one slot, a Celery queue served by a dedicated worker: see
the README, "Measurements run alone"), and this module checks that it worked.

What is measured, every ``interval_s`` and once more when the block ends:

* the machine's busy CPU time (``/proc/stat`` through :func:`psutil.cpu_times`: user, nice, system,
  irq, softirq and steal; steal is CPU a hypervisor gave to another guest, so it is other work too);
* the CPU time of the measurement's own process trees: this process (the task, its sampler thread, the
  service the operator started for the run) and every descendant (Locust, the micro-benchmark children,
  the pipelines), children already reaped included (``children_user`` / ``children_system``);
* the 1-minute load average, recorded for context only.

**Other work** is the difference, machine busy minus own, in cores (CPU-seconds per second); its
**share** is that over the machine's cores. The verdict uses the mean share over the run, not the machine's
total busy share nor the load average: a load test keeps the machine busy by itself (the generator and
the service are the point), so a threshold on total busy CPU would mark every honest run disturbed, and
the load average counts the run's own runnable processes and lags a minute behind. The mean (CPU-seconds of
other work over the run's wall time × cores) rather than the peak, because a one-second blip (a DAG file
parsed) does not move a p95 over minutes, while sustained work does; the peak is recorded beside it.

Limits, said where they apply: a service the run reaches but did not start (``api_conn_id``, or a
container started by a daemon rather than by this process) is not in the own trees, so its CPU counts as
other work unless its process id is passed in ``roots``; a process that leaves the tree without being
reaped by it (a daemon re-parented to init) stops counting as own from that moment (a drop in the own
total is clamped to zero, never negative).

:func:`disturbance_check` judges a :class:`MachineLoad` against ``other_work_max_share``: ``machine.undisturbed``
PASS, or WARN "measurement disturbed: ...". :class:`~assay.engines.performance.result.PerformanceResult`
then keeps the noise out of the verdict (see :data:`NOISE_SENSITIVE`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import psutil

from assay.status import Status
from assay.store.records import CheckRecord, MetricRecord

CHECK_NAME = "machine.undisturbed"
DISTURBED = "measurement disturbed"

#: Checks whose verdict CPU contention decides (latency, throughput, their regression, the client/server
#: agreement, CPU utilisation measured machine-wide). On a disturbed machine a FAIL of one of these is
#: reported as WARN: the figures are recorded, the noise does not decide. Error rates, completion rates,
#: request counts, peak memory and tool errors are not contention noise: they keep their verdict.
NOISE_SENSITIVE = (
    "load.p95_ms",
    "load.throughput_rps",
    "load.regression_",
    "load.measurement_agreement",
    "microbench.p99_ms",
    "pipeline.cpu_percent",
)

_BUSY_FIELDS = ("user", "nice", "system", "irq", "softirq", "steal")


def machine_busy_seconds() -> float:
    """Busy CPU-seconds of the whole machine since boot, all cores (guest time is inside ``user``)."""
    times = psutil.cpu_times()
    return sum(getattr(times, name, 0.0) for name in _BUSY_FIELDS)


def tree_cpu_seconds(roots: Iterable[int]) -> float:
    """CPU-seconds of the processes ``roots`` and all their descendants, reaped children included."""
    seen: set[int] = set()
    total = 0.0
    for pid in roots:
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        for proc in procs:
            if proc.pid in seen:
                continue
            seen.add(proc.pid)
            try:
                t = proc.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            total += t.user + t.system + t.children_user + t.children_system
    return total


@dataclass(frozen=True)
class LoadSample:
    """One interval: the machine's busy CPU and the measurement's own, in cores (CPU-seconds per second)."""

    interval_s: float
    busy_cores: float
    own_cores: float
    load_avg_1m: float

    @property
    def other_cores(self) -> float:
        return max(0.0, self.busy_cores - self.own_cores)


@dataclass(frozen=True)
class MachineLoad:
    """The samples of one run and what they add up to (see the module doc)."""

    cores: int
    samples: tuple[LoadSample, ...]

    @property
    def duration_s(self) -> float:
        return sum(s.interval_s for s in self.samples)

    def _mean(self, attr: str) -> float:
        duration = self.duration_s
        if duration <= 0:
            return 0.0
        return sum(getattr(s, attr) * s.interval_s for s in self.samples) / duration

    @property
    def other_cores_mean(self) -> float:
        return self._mean("other_cores")

    @property
    def other_share_mean(self) -> float:
        """Mean CPU of other work over the run, as a share of the machine's cores (what is judged)."""
        return self.other_cores_mean / self.cores

    @property
    def other_share_max(self) -> float:
        return max((s.other_cores for s in self.samples), default=0.0) / self.cores

    @property
    def own_cores_mean(self) -> float:
        return self._mean("own_cores")

    @property
    def busy_share_mean(self) -> float:
        return self._mean("busy_cores") / self.cores

    @property
    def busy_share_max(self) -> float:
        return max((s.busy_cores for s in self.samples), default=0.0) / self.cores

    @property
    def load_avg_per_core_max(self) -> float:
        return max((s.load_avg_1m for s in self.samples), default=0.0) / self.cores

    def metrics(self) -> list[MetricRecord]:
        labels = {"cores": self.cores}
        return [
            MetricRecord("machine.other_work_share_mean", round(self.other_share_mean, 4), "ratio", labels),
            MetricRecord("machine.other_work_share_max", round(self.other_share_max, 4), "ratio", labels),
            MetricRecord("machine.other_work_cores_mean", round(self.other_cores_mean, 3), "cores", labels),
            MetricRecord("machine.own_cores_mean", round(self.own_cores_mean, 3), "cores", labels),
            MetricRecord("machine.cpu_busy_share_mean", round(self.busy_share_mean, 4), "ratio", labels),
            MetricRecord("machine.cpu_busy_share_max", round(self.busy_share_max, 4), "ratio", labels),
            MetricRecord("machine.load_avg_per_core_max", round(self.load_avg_per_core_max, 3), "ratio", labels),
        ]

    def describe(self) -> dict[str, float | int]:
        return {
            "cores": self.cores,
            "duration_s": round(self.duration_s, 3),
            "samples": len(self.samples),
            "other_work_cores_mean": round(self.other_cores_mean, 3),
            "other_work_share_mean": round(self.other_share_mean, 4),
            "other_work_share_max": round(self.other_share_max, 4),
            "own_cores_mean": round(self.own_cores_mean, 3),
            "load_avg_per_core_max": round(self.load_avg_per_core_max, 3),
        }


def disturbance_check(load: MachineLoad | None, other_work_max_share: float) -> CheckRecord:
    """``machine.undisturbed``: PASS when other work's mean share of the cores is <= the threshold, WARN
    "measurement disturbed: ..." above it; ERROR when the machine's load could not be read (never assumed
    quiet)."""
    if load is None or not load.samples:
        return CheckRecord(
            CHECK_NAME,
            Status.ERROR,
            threshold=other_work_max_share,
            comparator="<=",
            message="the machine's load during the run could not be read",
        )
    share = load.other_share_mean
    used = f"other work used {load.other_cores_mean:.2f} of {load.cores} cores during the run"
    limit = f"threshold {other_work_max_share * load.cores:.2f} = {other_work_max_share:.0%} of the cores"
    detail = (
        f"mean over {load.duration_s:.1f} s, peak {load.other_share_max * load.cores:.2f} cores; "
        f"the measurement itself used {load.own_cores_mean:.2f}"
    )
    quiet = share <= other_work_max_share
    return CheckRecord(
        CHECK_NAME,
        Status.PASS if quiet else Status.WARN,
        observed=round(share, 4),
        threshold=other_work_max_share,
        comparator="<=",
        severity="warning",
        message=f"{used} ({limit}; {detail})"
        if quiet
        else f"{DISTURBED}: {used} ({limit}); {detail}. Latency and throughput verdicts are not judged on "
        "these figures",
    )


@dataclass
class MachineLoadSampler:
    """``with MachineLoadSampler(1.0) as sampler: ...`` then ``sampler.load`` (a :class:`MachineLoad`).

    ``roots``: process ids whose trees are the measurement's own besides this process (a service started
    elsewhere). Samples every ``interval_s`` in a daemon thread and once when the block ends, so even a
    run shorter than one interval has its sample.
    """

    interval_s: float = 1.0
    roots: tuple[int, ...] = ()
    samples: list[LoadSample] = field(default_factory=list)
    error: str | None = None

    def __post_init__(self) -> None:
        self._roots = (os.getpid(), *self.roots)
        self._cores = psutil.cpu_count() or 1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="assay-machine-load", daemon=True)
        self._last: tuple[float, float, float] | None = None

    def _read(self) -> tuple[float, float, float]:
        return time.monotonic(), machine_busy_seconds(), tree_cpu_seconds(self._roots)

    def __enter__(self) -> MachineLoadSampler:
        try:
            self._last = self._read()
        except (OSError, psutil.Error) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            return self
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._last is None:
            return
        self._stop.set()
        self._thread.join(timeout=self.interval_s * 2 + 5)
        self.sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def sample(self) -> LoadSample | None:
        try:
            now, busy, own = self._read()
            load_1m = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        except (OSError, psutil.Error) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            return None
        last_at, last_busy, last_own = self._last
        self._last = (now, busy, own)
        wall = now - last_at
        if wall <= 0.01:  # the final sample right after a periodic one: nothing to add
            return None
        s = LoadSample(
            interval_s=wall,
            # /proc/stat and the clock are not read at one instant: never more cores busy than there are
            busy_cores=min(float(self._cores), max(0.0, busy - last_busy) / wall),
            own_cores=max(0.0, own - last_own) / wall,  # a process that left the tree is no negative CPU
            load_avg_1m=load_1m,
        )
        self.samples.append(s)
        return s

    @property
    def load(self) -> MachineLoad | None:
        """The run's :class:`MachineLoad`; None when the machine's load could not be read."""
        if not self.samples:
            return None
        return MachineLoad(cores=self._cores, samples=tuple(self.samples))


def machine_records(
    sampler: MachineLoadSampler, other_work_max_share: float | None
) -> tuple[list[CheckRecord], list[MetricRecord], dict[str, object]]:
    """What a run adds from its sampler: the ``machine.*`` metrics, the ``machine.undisturbed`` check when a
    threshold is configured (None: recorded, not judged), and the ``details["machine"]`` entry."""
    load = sampler.load
    metrics = load.metrics() if load is not None else []
    checks = [] if other_work_max_share is None else [disturbance_check(load, other_work_max_share)]
    details: dict[str, object] = load.describe() if load is not None else {"error": sampler.error or "no sample"}
    if other_work_max_share is not None:
        details["other_work_max_share"] = other_work_max_share
    return checks, metrics, details


def is_noise_sensitive(check_name: str) -> bool:
    return check_name.startswith(NOISE_SENSITIVE)


def set_aside_noise(checks: list[CheckRecord], exempt: tuple[str, ...] = ()) -> list[CheckRecord]:
    """The checks of a run, with every noise-sensitive FAIL (not named in ``exempt``) turned into WARN when
    ``machine.undisturbed`` says the run was disturbed (its figures and threshold are kept; its message says
    what it would have been). Idempotent: a check already set aside is not changed again."""
    from dataclasses import replace

    gate = next((c for c in checks if c.name == CHECK_NAME), None)
    if gate is None or Status(gate.status) != Status.WARN:
        return checks
    out = []
    for c in checks:
        if Status(c.status) == Status.FAIL and is_noise_sensitive(c.name) and c.name not in exempt:
            c = replace(
                c,
                status=Status.WARN,
                severity="warning",
                message=f"FAIL on these figures, not judged ({DISTURBED}): {c.message or ''}".strip(),
            )
        out.append(c)
    return out
