"""The senders against real (tiny, local) SMTP and HTTP servers, and the local sinks."""

from __future__ import annotations

import email
import email.policy
import json
import uuid

import pytest

from services.notifications.adapters.channels import (
    DeliveryError,
    HttpSmsGateway,
    MailFileSink,
    OutgoingMessage,
    Sender,
    SmsLogSink,
    SmtpEmailSender,
    build_email,
    senders_from,
)
from services.notifications.settings import NotificationsSettings

from .fakes import FailingSender, RecordingSender, SmsGateway, SmtpResponder, serving

MAIL_FROM = "Shebao <noreply@shebao.local>"


def a_message(to: str = "lei.li@example.com") -> OutgoingMessage:
    return OutgoingMessage(notification_id=uuid.uuid4(), to=to, subject="缴费成功",
                           text="已收到您缴纳的2,017.32元。缴费凭证号：SB2025081100042", language="zh-CN")


def test_the_email_of_a_notice_carries_subject_text_and_its_id():
    message = a_message()
    built = email.message_from_bytes(build_email(message, MAIL_FROM).as_bytes(), policy=email.policy.default)

    assert built["Subject"] == "缴费成功"
    assert built["To"] == "lei.li@example.com"
    assert built["Content-Language"] == "zh-CN"
    assert str(message.notification_id) in built["Message-ID"]
    assert "SB2025081100042" in built.get_content()


async def test_email_goes_through_an_smtp_server():
    async with serving(SmtpResponder()) as server:
        sender = SmtpEmailSender(host="127.0.0.1", port=server.port, mail_from=MAIL_FROM, start_tls=False,
                                 timeout_s=5)
        await sender.send(a_message())

    [mail] = server.received
    assert mail.mail_from == "noreply@shebao.local"
    assert mail.recipients == ["lei.li@example.com"]
    assert mail.message["Subject"] == "缴费成功"
    assert "2,017.32元" in mail.message.get_content()


async def test_an_unreachable_smtp_server_is_a_delivery_error():
    async with serving(SmtpResponder()) as server:
        port = server.port
    sender = SmtpEmailSender(host="127.0.0.1", port=port, mail_from=MAIL_FROM, start_tls=False, timeout_s=2)
    with pytest.raises(DeliveryError):
        await sender.send(a_message())


async def test_sms_goes_to_the_gateway_and_a_refusal_is_an_error():
    async with serving(SmsGateway(status=200)) as gateway:
        message = a_message(to="13812345678")
        await HttpSmsGateway(gateway.url, token="secret").send(message)
    assert gateway.requests == [{"to": "13812345678", "text": message.text,
                                 "reference": str(message.notification_id)}]

    async with serving(SmsGateway(status=500)) as broken:
        with pytest.raises(DeliveryError, match="answered 500"):
            await HttpSmsGateway(broken.url).send(a_message(to="13812345678"))


async def test_local_sinks_keep_mail_as_eml_files_and_sms_in_a_log(tmp_path):
    message = a_message()
    await MailFileSink(tmp_path / "outbox-mail", MAIL_FROM).send(message)
    await SmsLogSink(tmp_path / "sms.log").send(a_message(to="13812345678"))

    eml = (tmp_path / "outbox-mail" / f"{message.notification_id}.eml").read_bytes()
    assert email.message_from_bytes(eml, policy=email.policy.default)["Subject"] == "缴费成功"
    [line] = (tmp_path / "sms.log").read_text().splitlines()
    assert json.loads(line)["to"] == "138****5678"
    assert "2,017.32元" in json.loads(line)["text"]


def test_local_runs_use_the_sinks_and_production_the_real_channels(tmp_path):
    local = senders_from(NotificationsSettings(notifications_sink_dir=tmp_path))
    assert isinstance(local["email"], MailFileSink) and isinstance(local["sms"], SmsLogSink)

    production = senders_from(NotificationsSettings(
        notifications_email_transport="smtp", notifications_smtp_host="mail.example",
        notifications_sms_transport="http", notifications_sms_gateway_url="https://sms.example/send",
    ))
    assert isinstance(production["email"], SmtpEmailSender) and production["email"].host == "mail.example"
    assert isinstance(production["sms"], HttpSmsGateway) and production["sms"].url == "https://sms.example/send"


def test_test_senders_are_senders():
    senders: list[Sender] = [FailingSender("sms"), RecordingSender("email")]
    assert [sender.channel for sender in senders] == ["sms", "email"]
