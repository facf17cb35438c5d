import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import RFC_4122, UUID, uuid4

import pytest
from pydantic import ValidationError

import shared.events.catalog as catalog
from shared.events import (
    EVENT_TYPES,
    TYPE_HEADER,
    ApplicationRejected,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    ArrearsSettled,
    CertificateIssued,
    ContributionRepriced,
    DocumentReceived,
    DocumentsRejected,
    DocumentsVerified,
    EnrollmentActivated,
    EnrollmentChanged,
    EnrollmentReinstated,
    EnrollmentSuspended,
    EnrollmentTerminated,
    Envelope,
    EventPayload,
    InvalidEvent,
    NotificationDelivered,
    NotificationFailed,
    PaymentOverdue,
    PolicyPublished,
    PremiumDue,
    PremiumPaid,
    RefundIssued,
    all_topics,
    decode_envelope,
    dlq_topic,
    make_envelope,
    topic_for,
)
from shared.events.topics import SERVICES

PERSON = UUID("5f0c6a52-3f4b-4c1e-9a52-8f0f3c1d2e01")
APPLICATION = UUID("0b9f1f7e-6a0d-4f55-8f43-2d3c4b5a6e02")
ENROLMENT = UUID("c3d2e1f0-1a2b-4c3d-8e4f-5a6b7c8d9e03")
BILL = UUID("7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c04")
DOCUMENT = UUID("1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a05")
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
PAID_AT = datetime(2025, 7, 14, 9, 30, tzinfo=timezone(timedelta(hours=8)))

SAMPLES: dict[str, EventPayload] = {
    sample.event_type(): sample
    for sample in [
        ApplicationSubmitted(
            application_id=APPLICATION,
            person_id=PERSON,
            region="110000",
            programmes=["pension", "medical_employee", "unemployment"],
            declared_base="7162",
            frequency="quarterly",
            contact={"phone": "13800138000", "email": "li.na@example.cn", "language": "zh-CN"},
        ),
        ApplicationRejected(application_id=APPLICATION, person_id=PERSON, reasons=["already enrolled in pension"]),
        ApplicationWithdrawn(application_id=APPLICATION, person_id=PERSON),
        EnrollmentActivated(
            enrollment_id=ENROLMENT,
            person_id=PERSON,
            application_id=APPLICATION,
            region="310000",
            programme="medical_employee",
            base="7460",
            frequency="monthly",
            start_month="2025-08",
            waiting_until=date(2025, 11, 1),
        ),
        EnrollmentChanged(
            enrollment_id=ENROLMENT,
            person_id=PERSON,
            programme="pension",
            base="12000.00",
            frequency="annual",
            effective_month="2026-01",
        ),
        EnrollmentSuspended(
            enrollment_id=ENROLMENT,
            person_id=PERSON,
            programme="pension",
            reason="90 days overdue",
            since=date(2025, 11, 15),
        ),
        EnrollmentReinstated(enrollment_id=ENROLMENT, person_id=PERSON, programme="medical_employee"),
        EnrollmentTerminated(
            enrollment_id=ENROLMENT, person_id=PERSON, programme="pension", reason="employed", last_month="2025-12"
        ),
        DocumentReceived(
            document_id=DOCUMENT,
            application_id=APPLICATION,
            person_id=PERSON,
            material="id_card",
            sha256=SHA,
            size=482_113,
        ),
        DocumentsVerified(
            application_id=APPLICATION,
            person_id=PERSON,
            materials=[
                {"material": "id_card", "document_id": DOCUMENT, "sha256": SHA},
                {"material": "household_register", "document_id": uuid4(), "sha256": SHA},
            ],
            verified_by="caseworker-0042",
        ),
        DocumentsRejected(
            application_id=APPLICATION,
            person_id=PERSON,
            rejected=[
                {"material": "id_card", "document_id": DOCUMENT, "reason": "illegible", "note": "back side blurred"}
            ],
        ),
        PolicyPublished(
            region="310000",
            programme="pension",
            effective_from=date(2025, 7, 1),
            base_floor="7460",
            base_ceiling="37302",
            rate="0.20",
            personal_account_rate="0.08",
            frequencies=["monthly"],
            due_day=15,
            grace_days=0,
            late_fee_daily_rate="0.0005",
            back_payment_allowed=False,
        ),
        ContributionRepriced(
            person_id=PERSON,
            programme="pension",
            region="110000",
            effective_month="2025-07",
            old_base="6821",
            new_base="7162",
            old_monthly_amount="1364.20",
            new_monthly_amount="1432.40",
        ),
        PremiumDue(
            bill_id=BILL,
            person_id=PERSON,
            region="310000",
            months=["2025-08"],
            lines=[
                {"programme": "pension", "month": "2025-08", "base": "7460", "rate": "0.20", "amount": "1492.00"},
                {"programme": "medical_employee", "month": "2025-08", "base": "7460", "rate": "0.11",
                 "amount": "820.60"},
            ],
            total="2312.60",
            due_date=date(2025, 8, 15),
        ),
        PremiumPaid(
            payment_id=uuid4(),
            person_id=PERSON,
            amount="2400.00",
            channel="alipay",
            channel_txn_id="2025071422001400001234567890",
            paid_at=PAID_AT,
            voucher_no="SB310000-2025-000123",
            applied=[{"bill_id": BILL, "principal": "2312.60", "late_fee": "0"}],
            credit_balance="87.40",
        ),
        PaymentOverdue(
            bill_id=BILL,
            person_id=PERSON,
            programmes=["pension", "medical_employee"],
            due_date=date(2025, 8, 15),
            days_overdue=30,
            level=30,
            unpaid_principal="2312.60",
            late_fee_to_date="34.69",
        ),
        ArrearsSettled(person_id=PERSON, programmes=["pension"], settled_at=PAID_AT),
        RefundIssued(refund_id=uuid4(), person_id=PERSON, amount="87.40", reason="credit returned on termination"),
        CertificateIssued(
            certificate_id=uuid4(),
            certificate_no="CERT-310000-2026-000001",
            person_id=PERSON,
            first_month="2026-01",
            last_month="2026-12",
            programmes=["pension", "medical_resident"],
            language="zh-CN",
        ),
        NotificationDelivered(
            notification_id=uuid4(), person_id=PERSON, channel="sms", template="premium_due", caused_by=uuid4()
        ),
        NotificationFailed(
            notification_id=uuid4(),
            person_id=PERSON,
            channel="email",
            template="payment_overdue",
            caused_by=uuid4(),
            error="mailbox unavailable",
        ),
    ]
}


def an_envelope(payload: EventPayload | None = None, **overrides) -> Envelope:
    payload = payload or SAMPLES["PremiumPaid"]
    return make_envelope(payload, subject=str(uuid4()), region="310000", **overrides)


def a_message(event_type: str = "PremiumPaid") -> dict:
    return json.loads(an_envelope(SAMPLES[event_type]).to_json_bytes())


def reason_for(message) -> str:
    with pytest.raises(InvalidEvent) as caught:
        decode_envelope(message)
    return caught.value.reason


def test_every_event_type_has_a_sample():
    assert set(SAMPLES) == set(EVENT_TYPES)


def test_every_payload_class_in_the_catalog_is_registered():
    payload_classes = {
        name
        for name, value in vars(catalog).items()
        if isinstance(value, type) and issubclass(value, EventPayload) and not name.startswith("_")
    }
    assert payload_classes - {"EventPayload"} == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_every_event_survives_the_round_trip(event_type):
    envelope = an_envelope(SAMPLES[event_type], causationid=uuid4())
    decoded = decode_envelope(envelope.to_json_bytes())
    assert decoded == envelope
    assert type(decoded.data) is EVENT_TYPES[event_type]
    assert decode_envelope(envelope.to_json_bytes().decode()) == envelope


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_the_envelope_names_type_source_and_schema(event_type):
    envelope = an_envelope(SAMPLES[event_type])
    assert envelope.type == event_type
    assert envelope.source == EVENT_TYPES[event_type].source_service
    assert envelope.source in SERVICES
    assert envelope.dataschema == f"urn:shebao:event:{event_type}:v1"
    assert envelope.kafka_headers()[TYPE_HEADER] == event_type


def test_money_goes_out_as_two_place_strings():
    data = a_message("PremiumPaid")["data"]
    assert data["amount"] == "2400.00"
    assert data["applied"][0]["late_fee"] == "0.00"
    assert a_message("PolicyPublished")["data"]["late_fee_daily_rate"] == "0.0005"


def test_a_new_event_starts_its_own_correlation():
    envelope = an_envelope()
    assert envelope.correlationid == envelope.id
    assert envelope.causationid is None
    assert envelope.time.tzinfo is not None


def test_a_caused_event_keeps_the_correlation_it_was_given():
    cause = an_envelope()
    effect = an_envelope(SAMPLES["NotificationDelivered"], correlationid=cause.correlationid, causationid=cause.id)
    assert (effect.correlationid, effect.causationid) == (cause.id, cause.id)
    assert effect.id != cause.id


def test_time_is_kept_in_utc():
    envelope = an_envelope(time=PAID_AT)
    assert envelope.time == PAID_AT
    assert envelope.time.utcoffset() == timedelta(0)
    assert a_message()["time"].endswith("Z")


def test_explicit_id_and_time_are_used():
    event_id = uuid4()
    at = datetime(2025, 7, 1, tzinfo=UTC)
    envelope = an_envelope(event_id=event_id, time=at)
    assert (envelope.id, envelope.time, envelope.correlationid) == (event_id, at, event_id)


def test_events_of_a_person_are_keyed_by_the_person():
    envelope = an_envelope(SAMPLES["PremiumDue"])
    assert envelope.partition_key() == str(PERSON).encode()
    assert SAMPLES["ContributionRepriced"].partition_key() == str(PERSON)


def test_a_published_policy_is_keyed_by_its_region():
    assert SAMPLES["PolicyPublished"].partition_key() == "310000"
    assert an_envelope(SAMPLES["PolicyPublished"]).partition_key() == b"310000"


def test_payloads_are_immutable_and_tolerate_new_fields():
    payload = ApplicationWithdrawn.model_validate(
        {"application_id": str(APPLICATION), "person_id": str(PERSON), "added_in_a_later_version": 1}
    )
    assert payload == SAMPLES["ApplicationWithdrawn"]
    with pytest.raises(ValidationError):
        payload.person_id = uuid4()


def test_an_envelope_with_unknown_extra_attributes_still_decodes():
    message = a_message()
    message["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert decode_envelope(message).type == "PremiumPaid"


def test_bad_json_is_invalid():
    assert "not valid JSON" in reason_for(b'{"id": ')
    assert "expected a JSON object" in reason_for(b"[]")


def test_an_unknown_type_is_invalid():
    message = a_message()
    message["type"] = "PremiumForgiven"
    with pytest.raises(InvalidEvent) as caught:
        decode_envelope(message)
    assert caught.value.reason == "type: unknown event type 'PremiumForgiven'"
    assert caught.value.event_type == "PremiumForgiven"
    assert caught.value.event_id == message["id"]


@pytest.mark.parametrize("attribute", ["id", "type", "source", "subject", "time", "region", "correlationid", "data"])
def test_a_missing_attribute_is_named(attribute):
    message = a_message()
    del message[attribute]
    assert reason_for(message) == f"{attribute}: Field required"


def test_a_missing_data_field_is_named():
    message = a_message("PremiumDue")
    del message["data"]["lines"][1]["amount"]
    assert reason_for(message) == "data.lines[1].amount: Field required"


def test_float_money_is_invalid():
    message = a_message()
    message["data"]["amount"] = 2400.0
    reason = reason_for(json.dumps(message).encode())
    assert reason.startswith("data.amount: ")
    assert "not a float" in reason


def test_money_with_more_than_two_places_is_invalid():
    message = a_message()
    message["data"]["credit_balance"] = "87.405"
    assert reason_for(message) == "data.credit_balance: money has at most 2 decimal places, got 87.405"


@pytest.mark.parametrize("month", ["2025-13", "2025-8", "202508", "2025-08-01"])
def test_a_malformed_month_is_invalid(month):
    message = a_message("EnrollmentChanged")
    message["data"]["effective_month"] = month
    assert reason_for(message).startswith("data.effective_month: String should match pattern")


def test_a_naive_timestamp_is_invalid():
    message = a_message()
    message["data"]["paid_at"] = "2025-07-14T09:30:00"
    assert reason_for(message) == "data.paid_at: Input should have timezone info"


def test_every_problem_is_reported_at_once():
    message = a_message()
    message["region"] = "11"
    message["data"]["channel"] = ""
    reason = reason_for(message)
    assert reason.startswith("region: ")
    assert "; data.channel: " in reason


@pytest.mark.parametrize(
    ("field", "value"),
    [("level", 45), ("programmes", []), ("programmes", ["pension", "long_term_care"]), ("unpaid_principal", "-1")],
)
def test_domain_values_are_checked(field, value):
    message = a_message("PaymentOverdue")
    message["data"][field] = value
    assert reason_for(message).startswith(f"data.{field}")


def test_an_envelope_refuses_data_of_another_type():
    envelope = an_envelope()
    with pytest.raises(ValidationError, match="does not match"):
        Envelope(**{**dict(envelope), "type": "RefundIssued"})


def test_an_envelope_validated_directly_gets_its_typed_payload():
    envelope = an_envelope(SAMPLES["PremiumDue"])
    decoded = Envelope.model_validate_json(envelope.to_json_bytes())
    assert decoded == envelope
    assert decoded.data.total == Decimal("2312.60")


def test_topics_follow_service_and_version():
    assert topic_for("billing") == "shebao.billing.v1"
    assert topic_for("enrollment", prefix="bj.") == "bj.shebao.enrollment.v1"
    assert dlq_topic("bj.shebao.billing.v1") == "bj.shebao.billing.v1.dlq"
    with pytest.raises(ValueError):
        topic_for("payments")


def test_all_topics_are_the_service_topics_and_their_dead_letters():
    assert all_topics("sh.") == [
        "sh.shebao.enrollment.v1",
        "sh.shebao.documents.v1",
        "sh.shebao.billing.v1",
        "sh.shebao.notifications.v1",
        "sh.shebao.enrollment.v1.dlq",
        "sh.shebao.documents.v1.dlq",
        "sh.shebao.billing.v1.dlq",
        "sh.shebao.notifications.v1.dlq",
    ]


def test_new_event_ids_are_uuid7_ordered_by_the_millisecond_they_were_made(monkeypatch):
    from shared.events import envelope as envelope_module

    made_at = iter([1_796_000_000_000_000_000, 1_796_000_000_001_000_000, 1_796_000_000_002_000_000])
    monkeypatch.setattr(envelope_module.clock, "time_ns", lambda: next(made_at))
    ids = [envelope_module.time_ordered_event_id() for _ in range(3)]
    assert all(event_id.version == 7 and event_id.variant == RFC_4122 for event_id in ids)
    assert [event_id.int >> 80 for event_id in ids] == [1_796_000_000_000, 1_796_000_000_001, 1_796_000_000_002]
    assert ids == sorted(ids) and len(set(ids)) == 3
