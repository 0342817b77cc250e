"""Find the server processes behind a port on this machine: the master that owns the listening socket
and the worker children it supervises (uvicorn ``--workers N``, gunicorn and the like).

All of them hold the inherited listening socket; the master is the topmost one (its parent does not).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psutil

from assay.engines.chaos.providers.target_api import ProbeError


@dataclass(frozen=True)
class ServerProcesses:
    master: psutil.Process
    workers: tuple[psutil.Process, ...]


def listens_on(proc: psutil.Process, port: int) -> bool:
    """Whether ``proc`` holds a TCP socket listening on ``port`` (inherited sockets count)."""
    try:
        return any(
            c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
            for c in proc.net_connections(kind="tcp")
        )
    except psutil.Error:
        return False


def find_server(*, port: int | None = None, pid_file: str | None = None) -> ServerProcesses:
    """The master and its live workers, found from the listening ``port`` or a ``pid_file`` of the master.

    Every process sharing a listening socket has the same socket, so the system-wide table names just
    one of them; from there, walk up to the topmost ancestor that still listens (the master).
    """
    if (port is None) == (pid_file is None):
        raise ProbeError("give exactly one of port or pid_file to find the server's processes")
    if pid_file is not None:
        master = _from_pid_file(pid_file)
        workers = [c for c in _children(master) if _alive(c)]
        listening = [c for c in workers if _listens_anywhere(c)]
        return ServerProcesses(master, tuple(listening or workers))
    port = int(port)
    try:
        conns = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        raise ProbeError("not allowed to list this machine's sockets; pass a pid_file instead of a port") from None
    holders = sorted(
        {c.pid for c in conns if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid}
    )
    if not holders:
        raise ProbeError(
            f"no process on this machine listens on port {port}; the server is down, or runs on another "
            f"host (killing a worker needs the experiment to run on the server's machine)"
        )
    master = psutil.Process(holders[0])
    while True:
        try:
            parent = master.parent()
        except psutil.Error:
            parent = None
        if parent is None or not listens_on(parent, port):
            break
        master = parent
    workers = tuple(c for c in _children(master) if _alive(c) and listens_on(c, port))
    return ServerProcesses(master, workers)


def _children(proc: psutil.Process) -> list[psutil.Process]:
    try:
        return proc.children()
    except psutil.NoSuchProcess:
        raise ProbeError(f"server master {proc.pid} exited") from None


def _listens_anywhere(proc: psutil.Process) -> bool:
    try:
        return any(c.status == psutil.CONN_LISTEN for c in proc.net_connections(kind="tcp"))
    except psutil.Error:
        return False


def _from_pid_file(pid_file: str) -> psutil.Process:
    try:
        pid = int(Path(pid_file).read_text().strip())
    except (OSError, ValueError) as exc:
        raise ProbeError(f"cannot read a pid from {pid_file}: {exc}") from None
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        raise ProbeError(f"pid {pid} from {pid_file} is not running") from None


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
