"""Getting a notice out: one ``Sender`` interface, with e-mail over SMTP, SMS through an HTTP
gateway, and the local sinks (``.eml`` files and an SMS log) that stand in for both when
nothing may leave the machine. The inbox needs no sender: the notice is stored, so it is there.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol

import aiosmtplib
import httpx

from services.notifications.domain.model import EMAIL, SMS, Channel
from services.notifications.settings import NotificationsSettings


class DeliveryError(Exception):
    """A channel could not take the message; the text is recorded as the delivery's error."""


@dataclass(frozen=True)
class OutgoingMessage:
    notification_id: uuid.UUID
    to: str
    subject: str
    text: str
    language: str


class Sender(Protocol):
    """Delivers one message on one channel, or raises ``DeliveryError`` (any other error counts too)."""

    channel: Channel

    async def send(self, message: OutgoingMessage) -> None: ...


def build_email(message: OutgoingMessage, mail_from: str) -> EmailMessage:
    """The e-mail of a notice: plain UTF-8 text, its notification id in ``Message-ID``."""
    email = EmailMessage()
    email["From"] = mail_from
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(datetime.now(UTC))
    email["Message-ID"] = make_msgid(idstring=str(message.notification_id), domain="shebao.local")
    email.set_content(message.text, charset="utf-8")
    email["Content-Language"] = message.language  # after set_content, which resets Content-* headers
    return email


@dataclass
class SmtpEmailSender:
    """E-mail through the configured SMTP server."""

    host: str
    port: int
    mail_from: str
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    start_tls: bool | None = None
    timeout_s: float = 10.0
    channel: Channel = EMAIL

    async def send(self, message: OutgoingMessage) -> None:
        try:
            await aiosmtplib.send(
                build_email(message, self.mail_from), hostname=self.host, port=self.port,
                username=self.username, password=self.password, use_tls=self.use_tls,
                start_tls=self.start_tls, timeout=self.timeout_s,
            )
        except aiosmtplib.SMTPException as error:
            raise DeliveryError(f"SMTP: {error}") from error


@dataclass
class MailFileSink:
    """Writes each e-mail as ``<directory>/<notification id>.eml`` instead of sending it."""

    directory: Path
    mail_from: str
    channel: Channel = EMAIL

    async def send(self, message: OutgoingMessage) -> None:
        raw = build_email(message, self.mail_from).as_bytes()
        await asyncio.to_thread(self._write, f"{message.notification_id}.eml", raw)

    def _write(self, name: str, raw: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / name).write_bytes(raw)


@dataclass
class HttpSmsGateway:
    """SMS through the configured gateway: ``POST {to, text, reference}``; anything but 2xx fails."""

    url: str
    token: str | None = None
    timeout_s: float = 10.0
    channel: Channel = SMS

    async def send(self, message: OutgoingMessage) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body = {"to": message.to, "text": message.text, "reference": str(message.notification_id)}
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.post(self.url, json=body, headers=headers)
        except httpx.HTTPError as error:
            raise DeliveryError(f"SMS gateway unreachable: {type(error).__name__}") from error
        if not response.is_success:
            raise DeliveryError(f"SMS gateway answered {response.status_code}")


@dataclass
class SmsLogSink:
    """Appends each SMS as a JSON line to a log file instead of sending it (number masked)."""

    path: Path
    channel: Channel = SMS

    async def send(self, message: OutgoingMessage) -> None:
        line = json.dumps({
            "at": datetime.now(UTC).isoformat(), "notification_id": str(message.notification_id),
            "to": mask_phone(message.to), "text": message.text,
        }, ensure_ascii=False)
        await asyncio.to_thread(self._append, line)

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as log:
            log.write(line + "\n")


def mask_phone(phone: str) -> str:
    """``13812345678`` → ``138****5678``."""
    return phone[:3] + "****" + phone[-4:] if len(phone) > 7 else "****"


def senders_from(settings: NotificationsSettings) -> dict[Channel, Sender]:
    """The configured sender of each outside channel."""
    timeout = settings.notifications_send_timeout_s
    sink = Path(settings.notifications_sink_dir)
    email: Sender
    if settings.notifications_email_transport == "smtp":
        email = SmtpEmailSender(
            host=settings.notifications_smtp_host, port=settings.notifications_smtp_port,
            mail_from=settings.notifications_mail_from, username=settings.notifications_smtp_username,
            password=settings.notifications_smtp_password, use_tls=settings.notifications_smtp_use_tls,
            start_tls=settings.notifications_smtp_starttls, timeout_s=timeout,
        )
    else:
        email = MailFileSink(sink / "outbox-mail", settings.notifications_mail_from)
    sms: Sender
    if settings.notifications_sms_transport == "http":
        sms = HttpSmsGateway(settings.notifications_sms_gateway_url, settings.notifications_sms_gateway_token, timeout)
    else:
        sms = SmsLogSink(sink / "sms.log")
    return {EMAIL: email, SMS: sms}
