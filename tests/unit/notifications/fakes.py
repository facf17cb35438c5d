"""Stand-ins for the outside world: a tiny SMTP server, a tiny HTTP SMS gateway, and senders
that fail or remember. Real code speaking the real protocols, not mocks."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage

from services.notifications.adapters.channels import DeliveryError, OutgoingMessage
from services.notifications.domain.model import Channel


@dataclass
class ReceivedMail:
    mail_from: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class SmtpResponder:
    """Just enough SMTP (RFC 5321) to accept mail: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    received: list[ReceivedMail] = field(default_factory=list)
    port: int = 0

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        mail_from, recipients = "", []
        writer.write(b"220 localhost test ESMTP\r\n")
        while line := await reader.readline():
            verb, _, argument = line.decode().strip().partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                writer.write(b"250-localhost\r\n250 8BITMIME\r\n")
            elif verb == "MAIL":
                mail_from, recipients = _address(argument), []
                writer.write(b"250 OK\r\n")
            elif verb == "RCPT":
                recipients.append(_address(argument))
                writer.write(b"250 OK\r\n")
            elif verb == "DATA":
                writer.write(b"354 end with <CRLF>.<CRLF>\r\n")
                await writer.drain()
                self.received.append(ReceivedMail(mail_from, recipients, await self._read_data(reader)))
                writer.write(b"250 OK queued\r\n")
            elif verb in ("RSET", "NOOP", "HELO"):
                writer.write(b"250 OK\r\n")
            elif verb == "QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"502 not implemented\r\n")
            await writer.drain()
        writer.close()

    @staticmethod
    async def _read_data(reader: asyncio.StreamReader) -> EmailMessage:
        lines = []
        while (line := await reader.readline()) != b".\r\n":
            lines.append(line[1:] if line.startswith(b"..") else line)
        return email.message_from_bytes(b"".join(lines), policy=email.policy.default)


def _address(argument: str) -> str:
    """``FROM:<a@b> BODY=8BITMIME`` → ``a@b``."""
    return argument.split(":", 1)[1].split()[0].strip("<>")


@dataclass
class SmsGateway:
    """An HTTP endpoint answering every POST with ``status``; remembers the JSON bodies."""

    status: int = 200
    requests: list[dict] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms"

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        self.requests.append(json.loads(await reader.readexactly(length)) if length else {})
        writer.write(f"HTTP/1.1 {self.status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def serving(responder) -> AsyncIterator:
    """Run ``responder`` (SmtpResponder or SmsGateway) on a free local port."""
    server = await asyncio.start_server(responder._session, "127.0.0.1", 0)
    responder.port = server.sockets[0].getsockname()[1]
    try:
        yield responder
    finally:
        server.close()
        await server.wait_closed()


@dataclass
class FailingSender:
    """A channel that is always down."""

    channel: Channel
    attempts: int = 0

    async def send(self, message: OutgoingMessage) -> None:
        self.attempts += 1
        raise DeliveryError(f"{self.channel} provider down")


@dataclass
class RecordingSender:
    """A channel that takes everything and remembers it."""

    channel: Channel
    sent: list[OutgoingMessage] = field(default_factory=list)

    async def send(self, message: OutgoingMessage) -> None:
        self.sent.append(message)
