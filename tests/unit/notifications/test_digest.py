"""A digest in words: one message that counts the notices and lists each, in the reader's language;
its members share the lead's outcome, each in its own chain."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.notifications.domain.model import Message
from services.notifications.domain.notices import (
    DigestMember,
    DueDelivery,
    NewDelivery,
    NewNotification,
    joins_a_digest,
    member_announcements,
    text_for,
)
from services.notifications.domain.templates import digest
from services.notifications.domain.timing import Outcome

FIRST = Message("逾期通知：已逾期1天", "尚有100.00元未缴。")
SECOND = Message("逾期通知：已逾期30天", "尚有200.00元未缴。")


def a_lead(*members: DigestMember, language: str = "zh-CN") -> DueDelivery:
    return DueDelivery(notification_id=uuid.uuid4(), channel="sms", attempts=1, person_id=uuid.uuid4(),
                       region="110000", template="payment_overdue", caused_by=uuid.uuid4(),
                       correlation_id=uuid.uuid4(), language=language, message=FIRST, phone="13812345678",
                       email=None, members=members)


def a_member(message: Message = SECOND) -> DigestMember:
    return DigestMember(notification_id=uuid.uuid4(), caused_by=uuid.uuid4(), correlation_id=uuid.uuid4(),
                        message=message)


def test_a_digest_counts_the_notices_and_lists_each_in_order():
    message = digest("zh-CN", [FIRST, SECOND])
    assert message.title == "2条通知：逾期通知：已逾期1天"
    assert message.body == "1. 逾期通知：已逾期1天：尚有100.00元未缴。\n2. 逾期通知：已逾期30天：尚有200.00元未缴。"
    english = digest("en", [Message("Overdue notice", "Pay soon."), Message("Overdue notice", "Pay now.")])
    assert english.title == "2 notices: Overdue notice"
    assert english.body == "1. Overdue notice: Pay soon.\n2. Overdue notice: Pay now."


def test_a_lead_without_members_sends_its_own_notice():
    assert text_for(a_lead()) == "【社保】尚有100.00元未缴。"
    assert "2条通知" in a_lead(a_member()).message_sent.title
    assert "2. 逾期通知：已逾期30天" in text_for(a_lead(a_member()))


def test_members_share_the_final_outcome_in_their_own_chain_and_wait_through_a_retry():
    member = a_member()
    lead = a_lead(member)
    [(who, delivered)] = member_announcements(lead, Outcome("delivered", None, None))
    assert who is member
    assert (delivered.notification_id, delivered.caused_by, delivered.channel) == (
        member.notification_id, member.caused_by, "sms")
    assert member_announcements(lead, Outcome("pending", datetime(2026, 1, 1, tzinfo=UTC), "timeout")) == []
    [(_, failed)] = member_announcements(lead, Outcome("failed", None, "gateway down"))
    assert type(failed).__name__ == "NotificationFailed" and failed.error == "gateway down"


def test_only_the_outside_channels_of_a_digested_kind_join_a_digest():
    def notice(template: str) -> NewNotification:
        return NewNotification(notification_id=uuid.uuid4(), person_id=uuid.uuid4(), region="110000",
                               template=template, caused_by=uuid.uuid4(), correlation_id=uuid.uuid4(),
                               language="en", message=FIRST, created_at=datetime(2026, 1, 1, tzinfo=UTC),
                               deliveries=())

    pending = NewDelivery("sms", "pending", None)
    assert joins_a_digest(notice("payment_overdue"), pending)
    assert not joins_a_digest(notice("payment_overdue"), NewDelivery("inbox", "delivered", None))
    assert not joins_a_digest(notice("coverage_suspended"), pending)
