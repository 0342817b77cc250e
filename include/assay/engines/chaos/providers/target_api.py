"""The few HTTP calls probes and actions make to the service under test.

Tokens only ever travel in the ``Authorization`` header: no message built here contains one, so the
journal and the chaostoolkit log (which record exceptions) never leak a secret.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import psutil
import requests


class ProbeError(Exception):
    """A probe or action could not do its job; chaostoolkit records the message in the journal."""


def endpoint(base_url: str, path: str) -> str:
    """``base_url`` (``http://host:port``) joined with ``path``; a malformed base URL is a clear error."""
    parts = urlsplit(str(base_url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProbeError(f"base_url {base_url!r} must look like http://127.0.0.1:8000")
    return f"{str(base_url).rstrip('/')}/{path.lstrip('/')}"


def port_of(base_url: str) -> int:
    parts = urlsplit(str(base_url))
    if parts.port is None:
        raise ProbeError(f"base_url {base_url!r} names no port; write it as http://host:port")
    return parts.port


def local_port_of(base_url: str) -> int:
    """The port of ``base_url``, which must point at this machine: processes are looked up by port here,
    and a remote service's port could be held by an unrelated local process."""
    host = urlsplit(str(base_url)).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        raise ProbeError(f"cannot resolve the host of base_url {base_url!r}") from None
    local = {a.address.split("%")[0] for addrs in psutil.net_if_addrs().values() for a in addrs}
    if not all(ipaddress.ip_address(a).is_loopback or a in local for a in addresses):
        raise ProbeError(
            f"base_url {base_url!r} is not on this machine; worker processes can only be found and killed where "
            f"the server runs (run the experiment there, or pass a pid_file)"
        )
    return port_of(base_url)


def secret(secrets: Mapping[str, Any] | None, key: str) -> str:
    """The secret ``key`` handed over by chaostoolkit (``"secrets": ["assay"]`` on the provider)."""
    value = (secrets or {}).get(key)
    if not value:
        raise ProbeError(
            f"secret {key!r} is missing: declare it under the experiment's secrets (from an environment "
            f'variable) and list that secrets group in the provider\'s "secrets"'
        )
    return str(value)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def call(
    method: str,
    url: str,
    *,
    token: str | None = None,
    json: Any = None,
    timeout_s: float = 5.0,
    session: requests.Session | None = None,
) -> requests.Response:
    """One request; connection problems become a :class:`ProbeError` that names the URL, not the token."""
    sender = session or requests
    try:
        return sender.request(method, url, headers=bearer(token) if token else None, json=json, timeout=timeout_s)
    except requests.Timeout:
        raise ProbeError(f"{method} {url}: no answer within {timeout_s} s") from None
    except requests.ConnectionError as exc:
        raise ProbeError(f"{method} {url}: cannot connect ({_reason(exc)})") from None


def expect_ok(response: requests.Response, what: str) -> Any:
    """The JSON body of a 2xx answer, else a :class:`ProbeError` with the status and the body's start."""
    if not 200 <= response.status_code < 300:
        raise ProbeError(f"{what}: HTTP {response.status_code} {response.text[:200]!r}")
    try:
        return response.json()
    except ValueError:
        raise ProbeError(
            f"{what}: HTTP {response.status_code} but the body is not JSON: {response.text[:200]!r}"
        ) from None


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "Connection reset"):
        if marker in text:
            return marker.lower()
    return type(exc).__name__
