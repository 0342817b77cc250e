"""Assay's Locust plugin: open-loop arrivals for every user class, and where the client's time goes.

Assay's load-test engine loads this file next to the target's locustfile (``locust -f
assay_locust.py,<locustfile>``); it is never imported by Assay itself (Locust patches the interpreter
with gevent). Configured through the environment:

* ``ASSAY_ARRIVAL``: ``poisson`` (each user's requests form a Poisson process, so the users together
  send a Poisson stream of ``users × rate`` requests/s: independent callers, the usual model of an
  inference API's traffic), ``uniform`` (each user paced at a fixed interval from a random phase, so
  arrivals are evenly spread), or ``locustfile`` / unset (the locustfile's own ``wait_time`` is kept);
* ``ASSAY_TARGET_RPS_PER_USER``: each user's mean request rate for ``poisson`` / ``uniform``;
* ``ASSAY_LOAD_SEED``: seeds every user's phase and gaps, so a run is repeatable;
* ``ASSAY_CLIENT_STATS_FILE``: where the client-side measurements are written as JSON when Locust quits.

Arrivals are scheduled on an absolute timeline (a late request does not shift the ones after it), and
every user starts at a random phase: users spawned together never fire in lockstep, which would make
each request queue behind the others at the server. A user still busy when its next arrival is due
sends it late; the lateness is recorded, since then the generator was not open-loop any more.

Recorded between ``test_start`` and ``test_stop``: the process CPU time (Locust is one process on one
core: near 100 % means a saturated generator), how busy the whole machine's CPUs were, the lag of the gevent loop (a 10 ms sleep measured:
how late a greenlet runs, and so how late a response is timestamped), each request's start and
duration (the engine derives the client's in-flight concurrency from them), each request's time on the
wire (from its first byte handed to the socket to its last response byte read from it: what the server
can time too, without the HTTP library's building of the request and parsing of the response), and
every TCP connect and its duration (connection set-up a request paid for).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import resource
import socket
import time

import gevent
import psutil
from locust import events

ARRIVAL = (os.environ.get("ASSAY_ARRIVAL") or "locustfile").strip().lower()
RPS_PER_USER = float(os.environ.get("ASSAY_TARGET_RPS_PER_USER") or 1.0)
SEED = int(os.environ.get("ASSAY_LOAD_SEED") or 0)
STATS_FILE = os.environ.get("ASSAY_CLIENT_STATS_FILE")
LAG_PROBE_S = 0.010
MAX_SAMPLES = 500_000  # per series; beyond it the series is marked truncated
OPEN_SHAPES = ("poisson", "uniform")
if ARRIVAL not in (*OPEN_SHAPES, "locustfile"):
    raise ValueError(f"ASSAY_ARRIVAL={ARRIVAL!r}: use poisson, uniform or locustfile")

_user_numbers = itertools.count()


class _State:
    recording = False
    t0_epoch = 0.0
    t0_perf = 0.0
    cpu0 = 0.0
    cpu_s: float | None = None
    wall_s: float | None = None
    machine0 = None
    machine_busy: float | None = None
    lag_ms: list[float] = []
    lateness_ms: list[float] = []
    arrivals = 0
    connects_ms: list[float] = []
    names: dict[tuple[str, str], int] = {}
    req_endpoint: list[int] = []
    req_start: list[float] = []
    req_ms: list[float] = []
    req_wire_ms: list[float | None] = []
    wire_sent: dict[int, float] = {}  # greenlet id -> perf_counter of its request's first byte sent
    wire_read: dict[int, float] = {}  # greenlet id -> perf_counter after its last read returned data
    req_failed: list[int] = []
    errors: dict[tuple[str, str, str], int] = {}
    truncated = False
    lag_greenlet = None


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _machine_busy(before, after) -> float | None:
    """Share of all the machine's CPU time that was busy between two ``psutil.cpu_times()``."""
    idle = (after.idle + getattr(after, "iowait", 0.0)) - (before.idle + getattr(before, "iowait", 0.0))
    total = sum(after) - sum(before)
    return None if total <= 0 else max(0.0, min(1.0, 1.0 - idle / total))


def _keep(series: list, value) -> None:
    if len(series) < MAX_SAMPLES:
        series.append(value)
    else:
        _State.truncated = True


class _Arrivals:
    """One user's absolute schedule: the first arrival at a random phase, then Poisson or fixed gaps."""

    def __init__(self, shape: str, rate: float, rng: random.Random, now: float) -> None:
        self.shape, self.rate, self.rng = shape, rate, rng
        phase = rng.expovariate(rate) if shape == "poisson" else rng.uniform(0.0, 1.0 / rate)
        self.next_at = now + phase

    def gap(self) -> float:
        return self.rng.expovariate(self.rate) if self.shape == "poisson" else 1.0 / self.rate

    def delay(self, now: float) -> float:
        """Seconds until the current arrival is due (0 when it is already late; the lateness is kept)."""
        late = now - self.next_at
        if _State.recording:
            _State.arrivals += 1
            if late > 0:
                _keep(_State.lateness_ms, round(late * 1000.0, 3))
        return max(0.0, -late)


def _open_wait_time(user) -> float:
    arrivals = user._assay_arrivals
    arrivals.next_at += arrivals.gap()
    return arrivals.delay(time.monotonic())


def _install_open_arrivals(user_class) -> None:
    original_on_start = user_class.on_start

    def on_start(self) -> None:
        original_on_start(self)
        rng = random.Random(SEED * 1_000_003 + next(_user_numbers))
        self._assay_arrivals = _Arrivals(ARRIVAL, RPS_PER_USER, rng, time.monotonic())
        gevent.sleep(self._assay_arrivals.delay(time.monotonic()))

    user_class.on_start = on_start
    user_class.wait_time = _open_wait_time


@events.init.add_listener
def _on_init(environment, **_kwargs) -> None:
    if ARRIVAL in OPEN_SHAPES:
        if RPS_PER_USER <= 0:
            raise ValueError(f"ASSAY_TARGET_RPS_PER_USER must be > 0, got {RPS_PER_USER}")
        for user_class in environment.user_classes:
            _install_open_arrivals(user_class)


_original_connect = socket.socket.connect  # gevent's socket: Locust has monkey-patched by now


def _timed_connect(self, address):
    start = time.perf_counter()
    try:
        return _original_connect(self, address)
    finally:
        if _State.recording:
            _keep(_State.connects_ms, round((time.perf_counter() - start) * 1000.0, 3))


socket.socket.connect = _timed_connect

# The wire time of a request: its user's greenlet stamps its first send and its last read; the request event,
# fired in the same greenlet once the response is read, takes both (Locust's clients, FastHttpUser's
# geventhttpclient and HttpUser's requests, all send and read through these methods).
_original_send = {name: getattr(socket.socket, name) for name in ("sendall", "send")}
_original_read = {name: getattr(socket.socket, name) for name in ("recv", "recv_into")}


def _stamp_send(name):
    original = _original_send[name]

    def send(self, *args, **kwargs):
        if _State.recording:
            _State.wire_sent.setdefault(id(gevent.getcurrent()), time.perf_counter())
        return original(self, *args, **kwargs)

    return send


def _stamp_read(name):
    original = _original_read[name]

    def read(self, *args, **kwargs):
        data = original(self, *args, **kwargs)
        if _State.recording and data:
            _State.wire_read[id(gevent.getcurrent())] = time.perf_counter()
        return data

    return read


for _name in _original_send:
    setattr(socket.socket, _name, _stamp_send(_name))
for _name in _original_read:
    setattr(socket.socket, _name, _stamp_read(_name))


def _wire_ms(response_time: float) -> float | None:
    """This greenlet's request's wire time (ms), or None: no response read, or stamps that do not fit inside
    Locust's own timing of the request (left over from traffic outside it)."""
    key = id(gevent.getcurrent())
    sent, read = _State.wire_sent.pop(key, None), _State.wire_read.pop(key, None)
    if sent is None or read is None:
        return None
    wire = (read - sent) * 1000.0
    return round(wire, 3) if 0.0 <= wire <= response_time else None


def _lag_probe() -> None:
    while True:
        start = time.perf_counter()
        gevent.sleep(LAG_PROBE_S)
        _keep(_State.lag_ms, round(max(0.0, time.perf_counter() - start - LAG_PROBE_S) * 1000.0, 3))


@events.test_start.add_listener
def _on_test_start(**_kwargs) -> None:
    _State.t0_epoch, _State.t0_perf, _State.cpu0 = time.time(), time.perf_counter(), _cpu()
    _State.machine0 = psutil.cpu_times()
    _State.recording = True
    _State.lag_greenlet = gevent.spawn(_lag_probe)


@events.request.add_listener
def _on_request(request_type, name, response_time, start_time=None, exception=None, **_kwargs) -> None:
    if not _State.recording or start_time is None or response_time is None:
        return
    key = (str(request_type), str(name))
    if exception is not None:  # every failure, as Locust's failures table names it (that file lags a second)
        error = (*key, repr(exception))
        _State.errors[error] = _State.errors.get(error, 0) + 1
    index = _State.names.setdefault(key, len(_State.names))
    wire = _wire_ms(float(response_time))
    if len(_State.req_start) >= MAX_SAMPLES:
        _State.truncated = True
        return
    _State.req_endpoint.append(index)
    _State.req_start.append(round(start_time - _State.t0_epoch, 5))
    _State.req_ms.append(round(float(response_time), 3))
    _State.req_wire_ms.append(wire)
    _State.req_failed.append(1 if exception else 0)


@events.test_stop.add_listener
def _on_test_stop(**_kwargs) -> None:
    if not _State.recording:
        return
    _State.recording = False
    _State.wall_s = time.perf_counter() - _State.t0_perf
    _State.cpu_s = _cpu() - _State.cpu0
    _State.machine_busy = _machine_busy(_State.machine0, psutil.cpu_times())
    if _State.lag_greenlet is not None:
        _State.lag_greenlet.kill(block=False)


@events.quitting.add_listener
def _on_quitting(**_kwargs) -> None:
    if not STATS_FILE:
        return
    if _State.recording:
        _on_test_stop()
    report = {
        "version": 1,
        "arrival": ARRIVAL,
        "rps_per_user": RPS_PER_USER if ARRIVAL in OPEN_SHAPES else None,
        "t0_epoch": _State.t0_epoch,
        "wall_s": _State.wall_s,
        "cpu_s": _State.cpu_s,
        "machine_cpu_busy": _State.machine_busy,
        "cpus": psutil.cpu_count(),
        "loop_lag_probe_ms": LAG_PROBE_S * 1000.0,
        "loop_lag_ms": _State.lag_ms,
        "arrivals": _State.arrivals,
        "lateness_ms": _State.lateness_ms,
        "connects_ms": _State.connects_ms,
        "endpoints": [list(key) for key, _ in sorted(_State.names.items(), key=lambda kv: kv[1])],
        "requests": {
            "endpoint": _State.req_endpoint,
            "start_s": _State.req_start,
            "duration_ms": _State.req_ms,
            "wire_ms": _State.req_wire_ms,
            "failed": _State.req_failed,
        },
        "failures": [[m, n, e, c] for (m, n, e), c in _State.errors.items()],
        "truncated": _State.truncated,
    }
    with open(STATS_FILE, "w", encoding="utf-8") as fh:
        json.dump(report, fh, separators=(",", ":"))
