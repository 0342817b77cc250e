"""chaostoolkit probes against the model-serving API.

Python providers: ``"module": "assay.engines.chaos.providers.probes"``. Steady-state probes raise
:class:`~assay.engines.chaos.providers.target_api.ProbeError` with the reason when the target is
out of its steady state (down, unhealthy, failing requests), so the journal says *why*; they return the
measured value otherwise, for the tolerance to judge.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import requests

from assay.engines.chaos.providers.processes import find_server
from assay.engines.chaos.providers.target_api import ProbeError, call, endpoint, expect_ok, local_port_of, secret

__all__ = ["health_ok", "predict_load_sample", "predict_p95_ms", "server_workers", "wait_until_healthy"]


def health_ok(base_url: str, timeout_s: float = 2.0, require_db: bool = True, samples: int = 1) -> bool:
    """``GET /health`` answers 200 within ``timeout_s`` with ``status: ok`` and a loaded model (and
    ``db: ok`` when ``require_db``), ``samples`` times in a row on fresh connections (so that, behind
    several workers, one unhealthy worker is likely to be seen). Returns True; raises with the reason."""
    for _ in range(max(1, int(samples))):
        _health_once(base_url, float(timeout_s), bool(require_db))
    return True


def server_workers(base_url: str) -> int:
    """How many live worker processes the server's master supervises (server on this machine)."""
    return len(find_server(port=local_port_of(base_url)).workers)


def _health_once(base_url: str, timeout_s: float, require_db: bool) -> None:
    url = endpoint(base_url, "/health")
    started = time.monotonic()
    body = expect_ok(call("GET", url, timeout_s=timeout_s), f"GET {url}")
    elapsed = time.monotonic() - started
    problems = []
    if not isinstance(body, dict):
        raise ProbeError(f"GET {url}: expected a JSON object, got {str(body)[:200]!r}")
    if body.get("status") != "ok":
        problems.append(f"status is {body.get('status')!r}")
    if body.get("model_loaded") is False:
        problems.append("no model is loaded")
    if require_db and body.get("db", "ok") != "ok":
        problems.append(f"db is {body.get('db')!r}")
    if problems:
        raise ProbeError(f"GET {url} answered in {elapsed * 1000:.0f} ms but is unhealthy: {', '.join(problems)}")


def predict_load_sample(
    base_url: str,
    payload: Any = None,
    requests_count: int = 20,
    concurrency: int = 4,
    timeout_s: float = 5.0,
    secrets: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Fire ``requests_count`` predictions, ``concurrency`` at a time, and describe what clients saw:
    ``{"requests", "succeeded", "success_rate", "p50_ms", "p95_ms", "max_ms", "status_codes"}``.

    Latencies are client-side wall times of every request, failed ones included. Never raises for
    failing requests (this is how a fault is observed); only for a broken call (no token, bad URL).
    """
    url = endpoint(base_url, "/models/predict")
    token = secret(secrets, "token")
    n, workers = int(requests_count), max(1, int(concurrency))
    if n < 1:
        raise ProbeError(f"requests_count must be >= 1, got {requests_count}")
    body = _payload(payload)

    def one(session: requests.Session) -> tuple[float, str]:
        started = time.monotonic()
        try:
            code = str(
                call("POST", url, token=token, json=body, timeout_s=float(timeout_s), session=session).status_code
            )
        except ProbeError as exc:
            code = "timeout" if "no answer" in str(exc) else "connection-error"
        return (time.monotonic() - started) * 1000.0, code

    sessions = [requests.Session() for _ in range(workers)]
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda i: one(sessions[i % workers]), range(n)))
    finally:
        for s in sessions:
            s.close()
    latencies = sorted(ms for ms, _ in results)
    codes = Counter(code for _, code in results)
    ok = sum(count for code, count in codes.items() if code.isdigit() and 200 <= int(code) < 300)
    return {
        "requests": n,
        "succeeded": ok,
        "success_rate": round(ok / n, 4),
        "p50_ms": round(_percentile(latencies, 50), 2),
        "p95_ms": round(_percentile(latencies, 95), 2),
        "max_ms": round(latencies[-1], 2),
        "status_codes": dict(sorted(codes.items())),
    }


def predict_p95_ms(
    base_url: str,
    payload: Any = None,
    requests_count: int = 20,
    concurrency: int = 4,
    timeout_s: float = 5.0,
    max_error_rate: float = 0.0,
    secrets: Mapping[str, Any] | None = None,
) -> float:
    """p95 latency in ms of a small load on ``/models/predict`` (see :func:`predict_load_sample`).

    Raises when more than ``max_error_rate`` of the requests failed: a fast error is not a steady state.
    """
    sample = predict_load_sample(base_url, payload, requests_count, concurrency, timeout_s, secrets)
    failed = sample["requests"] - sample["succeeded"]
    if failed / sample["requests"] > float(max_error_rate):
        codes = ", ".join(f"{code} x{count}" for code, count in sample["status_codes"].items())
        raise ProbeError(
            f"{failed} of {sample['requests']} predict requests failed (allowed rate {max_error_rate}); "
            f"answers: {codes}"
        )
    return sample["p95_ms"]


def wait_until_healthy(
    base_url: str,
    timeout_s: float = 30.0,
    interval_s: float = 0.2,
    min_workers: int | None = None,
    require_db: bool = True,
    samples: int = 1,
) -> dict[str, Any]:
    """Poll until the service is healthy again and return how long that took (the recovery time).

    With ``min_workers``, also wait until the server's master supervises that many live workers again
    (a killed worker was replaced); this needs the server on this machine. Returns
    ``{"recovered": true, "recovery_s", "timeout_s", "attempts", "workers"}``; raises with the last
    reason when ``timeout_s`` passes first.
    """
    started = time.monotonic()
    deadline = started + float(timeout_s)
    attempts = 0
    last = "not checked yet"
    while True:
        attempts += 1
        workers = None
        try:
            health_ok(base_url, timeout_s=min(2.0, float(timeout_s)), require_db=require_db, samples=samples)
            if min_workers is not None:
                workers = server_workers(base_url)
                if workers < int(min_workers):
                    raise ProbeError(f"{workers} live worker(s), waiting for {min_workers}")
            return {
                "recovered": True,
                "recovery_s": round(time.monotonic() - started, 3),
                "timeout_s": float(timeout_s),
                "attempts": attempts,
                "workers": workers,
            }
        except ProbeError as exc:
            last = str(exc)
        if time.monotonic() + float(interval_s) > deadline:
            raise ProbeError(f"not recovered within {timeout_s} s ({attempts} checks); last: {last}")
        time.sleep(float(interval_s))


def _payload(payload: Any) -> Any:
    if payload is None or payload == "":
        raise ProbeError("no predict payload: set the experiment's predict_payload (a JSON request body)")
    return payload


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (an observed latency, as load tools report it)."""
    return float(np.percentile(values, q, method="inverted_cdf"))
