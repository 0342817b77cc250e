"""The provider side of the contract: how the model registry is verified against the pact."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pact import Verifier
from pipeline_orchestrator import PROVIDER
from serving.api.provider_states import PROVIDER_STATES_PATH
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROVIDER_READER_TOKEN = "contract-reader-token"


def build_verifier(url: str, pact_file: Path) -> Verifier:
    """A verifier that replays ``pact_file`` against the provider at ``url``.

    Provider states go to the API's own test-mode hook; every request carries a real reader token
    in place of the consumer's example one. ``verify()`` raises RuntimeError on any mismatch.
    """
    return (
        Verifier(PROVIDER, host="127.0.0.1")
        .add_transport(url=url)
        .add_source(pact_file)
        .state_handler(f"{url}{PROVIDER_STATES_PATH}", teardown=True, body=True)
        .add_custom_header("Authorization", f"Bearer {PROVIDER_READER_TOKEN}")
        .set_coloured_output(enabled=False)
    )


class RewriteJsonBody:
    """ASGI wrapper standing for a provider change: rewrites the JSON body of ``GET /models/<id>``."""

    def __init__(self, app: ASGIApp, change: Callable[[dict[str, Any]], None]) -> None:
        self.app, self.change = app, change

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path.startswith("/models/") and path.count("/") == 2):
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            if start["status"] == 200:
                data = json.loads(body)
                self.change(data)
                body = json.dumps(data).encode()
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewrite)
