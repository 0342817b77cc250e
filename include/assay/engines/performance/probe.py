"""Is the target up before we load it? One HTTP GET; any HTTP answer means reachable."""

from __future__ import annotations

from dataclasses import dataclass

import requests

from assay.status import Status
from assay.store.records import CheckRecord


@dataclass(frozen=True)
class ProbeResult:
    url: str
    reachable: bool
    status_code: int | None
    message: str

    def check(self, name: str = "load.target_reachable") -> CheckRecord:
        """PASS when the target answered at all; ERROR (not FAIL) when it did not: nothing was tested."""
        return CheckRecord(name, Status.PASS if self.reachable else Status.ERROR, message=self.message)


def probe_target(host: str, path: str = "/health", *, timeout_s: float = 5.0) -> ProbeResult:
    """GET ``host + path``. A 5xx or 404 still proves the server is listening: whether it serves well
    is for the load test to measure; only a connection that cannot be made (refused, timed out, DNS,
    TLS) makes the target unreachable."""
    url = host.rstrip("/") + path
    try:
        response = requests.get(url, timeout=timeout_s, allow_redirects=False)
    except requests.Timeout:
        return ProbeResult(url, False, None, f"target {url} did not answer within {timeout_s} s")
    except requests.RequestException as exc:
        reason = type(exc).__name__
        cause = exc.__context__ or exc.__cause__
        detail = f" ({type(cause).__name__})" if cause else ""
        return ProbeResult(url, False, None, f"target {url} is unreachable: {reason}{detail}")
    response.close()
    return ProbeResult(url, True, response.status_code, f"target {url} answered HTTP {response.status_code}")
