"""A real SMTP server (aiosmtpd) on loopback that keeps every message it receives; optionally it offers
STARTTLS (and requires it) with a given server certificate, and notes which messages came over TLS."""

from __future__ import annotations

import email
import socket
import ssl
from email.message import Message

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self.over_tls: list[bool] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        self.over_tls.append(session.ssl is not None)
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, tls_context: ssl.SSLContext | None = None) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._handler = _Handler()
        tls = {"tls_context": tls_context, "require_starttls": True} if tls_context else {}
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port, **tls)
        self._controller.start()

    @property
    def messages(self) -> list[tuple[list[str], Message]]:
        return self._handler.messages

    @property
    def over_tls(self) -> list[bool]:
        """For each message, whether its session had switched to TLS (STARTTLS)."""
        return self._handler.over_tls

    def close(self) -> None:
        self._controller.stop()


def body_text(msg: Message) -> str:
    parts = msg.walk() if msg.is_multipart() else [msg]
    return "".join(
        p.get_payload(decode=True).decode() for p in parts if not p.is_multipart() and p.get_payload(decode=True)
    )
