"""Serve an app with a real uvicorn server in a background thread, on a free loopback port.

For tests that want real HTTP without a subprocess::

    with serve_in_thread(create_app(settings)) as base_url:
        httpx.get(f"{base_url}/health")

uvicorn's shutdown has fixed 0.1 s pauses; a test suite starting many servers can call
``ServerThread.stop(wait=False)`` and ``join()`` them all at the end instead of one by one.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

from serving.timing import ReceiptStampingProtocol


class ServerThread:
    """One uvicorn server on ``host`` and a free port, run by a daemon thread."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1") -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self.url = f"http://{host}:{self._sock.getsockname()[1]}"
        self._server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", http=ReceiptStampingProtocol)
        )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name=f"uvicorn {self.url}", daemon=True
        )

    def start(self, timeout_s: float = 10.0) -> str:
        """Start serving; return the base URL once uvicorn reports it has started."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"uvicorn did not start on {self.url} within {timeout_s} s")
            time.sleep(0.01)
        return self.url

    def stop(self, *, wait: bool = True) -> None:
        """Ask the server to exit; with ``wait`` also join the thread (about 0.2 s)."""
        self._server.should_exit = True
        if wait:
            self.join()

    def join(self, timeout_s: float = 10.0) -> None:
        self._thread.join(timeout=timeout_s)
        self._sock.close()


@contextmanager
def serve_in_thread(app: ASGIApp, host: str = "127.0.0.1", startup_timeout_s: float = 10.0) -> Iterator[str]:
    """Yield the base URL while the server runs; stop it and join the thread on exit."""
    server = ServerThread(app, host)
    url = server.start(startup_timeout_s)
    try:
        yield url
    finally:
        server.stop()
