"""The target's running service for the DAGs that need one: started here, or reached by connection.

``target_service`` starts the configured command on a free loopback port with fresh per-run tokens and
always stops it (process group) when the block ends, however it ends; with ``api_conn_id`` it reaches a
user's own service instead through :class:`~assay_airflow.hooks.target_service.TargetServiceHook`
(connection host = base URL, password = token, extra ``admin_token``).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from airflow.sdk.exceptions import AirflowFailException

from assay.config import TargetConfig
from assay.errors import TargetError
from assay_airflow.hooks.target_service import TargetServiceHook

#: the ``expires_at`` of the started service's expired token (a fixed past instant)
EXPIRED_AT = "2000-01-01T00:00:00Z"


@dataclass(frozen=True)
class RunningService:
    base_url: str
    token: str | None
    admin_token: str | None
    started_here: bool
    pid: int | None = None
    #: role -> token of a service started here (fresh per run); a reached service has only the two above
    tokens: dict[str, str] = field(default_factory=dict)
    #: placeholders of the started service's argv, e.g. ``{work_dir}`` (for URLs of its stores)
    fill: dict[str, str] = field(default_factory=dict)
    #: a token of a service started here that expired before it started (its ``expires_at`` is in the past):
    #: what the security scan's authentication matrix checks is refused
    expired_token: str | None = None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def target_service(
    name: str,
    target: TargetConfig,
    work_dir: Path,
    *,
    workers: int | None = None,
    extra_env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
) -> Iterator[RunningService]:
    """Yield the target's service; a service started here is stopped when the block exits. ``extra_env`` and
    ``extra_args`` are added to the configured environment and argv of a service started here (a run's own
    settings, e.g. the compliance audit's low rate limit)."""
    if target.api_conn_id:
        api = TargetServiceHook(target.api_conn_id)
        yield RunningService(api.base_url, api.token, api.admin_token, False)
        return
    if target.service is None:
        raise AirflowFailException(f"target {name!r} configures neither 'service' nor 'api_conn_id'")
    from assay.service import start_service

    svc = target.service
    work_dir.mkdir(parents=True, exist_ok=True)
    tokens = {role: secrets.token_urlsafe(24) for role in ("reader", "ml-engineer", "admin")}
    tokens_file = work_dir / "tokens.json"
    expired_token = secrets.token_urlsafe(24)
    entries = [{"token": tok, "actor": f"assay-{role}", "role": role} for role, tok in tokens.items()]
    entries.append({"token": expired_token, "actor": "assay-expired", "role": "reader", "expires_at": EXPIRED_AT})
    tokens_file.write_text(json.dumps({"tokens": entries}))
    tokens_file.chmod(0o600)
    port = _free_port()
    fill = {
        "python": sys.executable,
        "port": str(port),
        "workers": str(workers or svc.workers),
        "tokens_file": str(tokens_file),
        "work_dir": str(work_dir),
    }
    argv = [part.format(**fill) for part in [*svc.argv, *(extra_args or [])]]
    env = {key: value.format(**fill) for key, value in {**svc.env, **(extra_env or {})}.items()}  # + scrubbed env
    sandbox = target.sandbox.policy("host")  # the target's code; None: a trusted target
    if sandbox is not None and sandbox.drops_uid:
        assert sandbox.uid is not None
        os.chown(tokens_file, sandbox.uid, sandbox.uid)  # still 0600: only the service's uid reads it
    try:
        handle = start_service(
            argv,
            cwd=svc.cwd,
            port=port,
            ready_timeout=svc.ready_timeout_s,
            health_path=svc.health_path,
            log_path=work_dir / "service.log",
            env=env,
            sandbox=sandbox,
            writable=[work_dir],
        )
    except TargetError as exc:
        raise TargetError(f"target {name!r}: its service did not start: {exc}") from None
    try:
        yield RunningService(
            handle.base_url, tokens["reader"], tokens["admin"], True, handle.pid, tokens, fill, expired_token
        )
    finally:
        handle.stop()
