"""chaostoolkit actions against the model-serving API.

Python providers: ``"module": "assay.engines.chaos.providers.actions"``.

Faults go through the service's own admin hooks (``POST``/``DELETE /admin/faults``, admin token);
``kill_worker`` signals a real worker process on this machine. Every action returns what it did, which
the journal keeps.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping
from typing import Any

from assay.engines.chaos.providers.processes import find_server
from assay.engines.chaos.providers.target_api import ProbeError, call, endpoint, expect_ok, local_port_of, secret

__all__ = ["clear_faults", "cut_db_connections", "inject_errors", "inject_latency", "kill_worker"]


def kill_worker(
    base_url: str | None = None,
    port: int | None = None,
    pid_file: str | None = None,
    signal_name: str = "SIGKILL",
) -> dict[str, Any]:
    """Kill one worker process of the server: a live child of the master that listens on the port
    (``base_url``'s port, or ``port``), or of the master whose pid is in ``pid_file``.

    Raises when there is no worker to kill (single-process server): killing the only process proves
    nothing about recovery and would leave the service down.
    """
    if base_url is not None and port is None and pid_file is None:
        port = local_port_of(base_url)
    server = find_server(port=None if port is None else int(port), pid_file=pid_file)
    if not server.workers:
        raise ProbeError(
            f"server master {server.master.pid} has no worker process to kill; start it with --workers 2 or more"
        )
    try:
        sig = signal.Signals[signal_name]
    except KeyError:
        raise ProbeError(f"unknown signal {signal_name!r}; use a name such as SIGKILL or SIGTERM") from None
    victim = max(server.workers, key=lambda p: p.create_time())  # the newest, so repeated runs rotate
    os.kill(victim.pid, sig)
    return {
        "master_pid": server.master.pid,
        "killed_pid": victim.pid,
        "signal": sig.name,
        "workers_before": len(server.workers),
        "killed_at": time.time(),
    }


def inject_latency(base_url: str, latency_ms: int, secrets: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Make the service add ``latency_ms`` to every request."""
    if int(latency_ms) < 0:
        raise ProbeError(f"latency_ms must be >= 0, got {latency_ms}")
    return _set_faults(base_url, secrets, latency_ms=int(latency_ms))


def inject_errors(base_url: str, error_rate: float, secrets: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Make the service fail ``error_rate`` (0..1) of its requests."""
    if not 0.0 <= float(error_rate) <= 1.0:
        raise ProbeError(f"error_rate must be between 0 and 1, got {error_rate}")
    return _set_faults(base_url, secrets, error_rate=float(error_rate))


def cut_db_connections(base_url: str, secrets: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Cut the model registry's database connections (new ones are refused until the faults are cleared)."""
    return _set_faults(base_url, secrets, db_down=True)


def clear_faults(base_url: str, timeout_s: float = 5.0, secrets: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Remove every injected fault (the rollback of all fault actions; safe to repeat)."""
    url = endpoint(base_url, "/admin/faults")
    response = call("DELETE", url, token=secret(secrets, "admin_token"), timeout_s=float(timeout_s))
    if response.status_code == 204:
        return {"cleared": True}
    body = expect_ok(response, f"DELETE {url}")
    return {"cleared": True, "faults": body}


def _set_faults(base_url: str, secrets: Mapping[str, Any] | None, **fault: Any) -> dict[str, Any]:
    """``POST /admin/faults`` with the whole fault set: the one asked for, the others off."""
    body = {"latency_ms": 0, "error_rate": 0.0, "db_down": False} | fault
    url = endpoint(base_url, "/admin/faults")
    response = call("POST", url, token=secret(secrets, "admin_token"), json=body, timeout_s=5.0)
    answer = expect_ok(response, f"POST {url}") if response.status_code != 204 else None
    return {"requested": body, "faults": answer}
