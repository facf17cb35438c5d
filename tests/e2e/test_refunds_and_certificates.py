"""Issue 16 across the running platform: a resident overpays through two channels and gets the
credit back (RefundIssued on the topic, a refund voucher that verifies, a notice); then asks for a
certificate of contribution for 2026 (a notice says it is ready), verifies it on the public route, and
opens its PDF."""

from __future__ import annotations

import io
import json
import time as clock_time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pypdfium2 as pdfium
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from shared.events import topic_for
from shared.logging import mask_id_number
from shared.periods import DEFAULT_TZ
from tests.e2e.conftest import E2E_PREFIX
from tooling.journey import Operator, PaymentChannel, billing_date_for, enrol_resident

pytestmark = pytest.mark.e2e

# cover starts the month after the approval: enrolled in January 2026, the resident pays for February
ENROLLED_AT = datetime(2026, 1, 20, 10, 0, tzinfo=DEFAULT_TZ)


def billing_event(bootstrap: str, event_type: str, matches, timeout_s: float = 60) -> dict:
    """The first ``event_type`` envelope on billing's topic whose data ``matches``, read from the
    beginning of every partition (assigned, so no group has to be joined)."""
    topic = topic_for("billing", E2E_PREFIX)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"issue16-{uuid.uuid4().hex[:8]}",
                         "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        deadline = clock_time.monotonic() + timeout_s
        while clock_time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            try:
                envelope = json.loads(message.value())
            except ValueError:  # the operations tests put a record that is no envelope on the topic
                continue
            if isinstance(envelope, dict) and envelope.get("type") == event_type and matches(envelope["data"]):
                return envelope
    finally:
        consumer.close()
    raise AssertionError(f"no {event_type} on {topic} within {timeout_s} s")


def test_overpaid_through_two_channels_refunded_then_certified_for_2026(platform, client, clock):
    clock.advance_to(ENROLLED_AT)
    resident, enrollments = enrol_resident(client, say=lambda _: None)
    # the test's own clock is the real one: the services' today is ENROLLED_AT's
    Operator(client).billing_run(billing_date_for(enrollments[0]["start_month"], ENROLLED_AT.date()))
    [bill] = resident.wait_for_bills(1)
    assert (bill["first_month"], bill["total"]) == ("2026-02", "2017.32")

    # the bill paid through unionpay with 82.68 too much, then 500.00 more through alipay
    paid_at = ENROLLED_AT  # the services' clock has moved on a little since: not in the future
    PaymentChannel(client, "unionpay").pay(resident.person_id, "2100.00", paid_at=paid_at)
    second = PaymentChannel(client, "alipay").pay(resident.person_id, "500.00", paid_at=paid_at + timedelta(seconds=1))
    assert second["credit_balance"] == "582.68"

    refund = resident.as_me("POST", "billing", f"/v1/persons/{resident.person_id}/refunds",
                            json={"request_id": "refund-1", "reason": "paid_twice"})
    assert refund["amount"] == "582.68" and refund["credit_balance"] == "0.00"
    assert [(p["channel"], p["amount"]) for p in refund["parts"]] == [("alipay", "500.00"), ("unionpay", "82.68")]

    issued = billing_event(platform.bootstrap_servers, "RefundIssued",
                           lambda data: data["refund_id"] == refund["refund_id"])
    assert (issued["data"]["amount"], issued["data"]["channel"], issued["data"]["voucher_no"]) == (
        "582.68", "alipay,unionpay", refund["voucher_no"])
    kept = resident.as_me("GET", "billing", f"/v1/vouchers/{refund['voucher_no']}/verify")
    assert kept["valid"] is True
    voucher = resident.as_me("GET", "billing", f"/v1/vouchers/{refund['voucher_no']}")
    presented = httpx.post(client.url("billing", "/v1/vouchers/verify"), timeout=30,
                           json={"document": voucher["document"], "signature": voucher["signature"]}).json()
    assert presented["valid"] is True and voucher["document"]["kind"] == "refund"
    [told] = resident.wait_for_notice("refund_issued")
    assert "582.68" in told["text"] and refund["voucher_no"] in told["text"]

    # back to the real December 2026: the certificate of the whole year
    clock.reset()
    certificate = resident.as_me("POST", "billing", f"/v1/persons/{resident.person_id}/certificates", json={
        "id_number": resident.id_number, "first_month": "2026-01", "last_month": "2026-12",
        "programmes": ["pension", "medical_employee"], "language": "zh-CN"})
    pension = {m["month"]: m for m in certificate["document"]["months"]["pension"]}
    assert (pension["2026-02"]["status"], pension["2026-02"]["amount"], pension["2026-01"]["status"]) == (
        "paid", "1432.40", "not_billed")
    billing_event(platform.bootstrap_servers, "CertificateIssued",
                  lambda data: data["certificate_no"] == certificate["certificate_no"])

    [ready] = resident.wait_for_notice("certificate_issued")
    assert certificate["certificate_no"] in ready["text"]

    public = httpx.get(client.url("billing", f"/v1/certificates/{certificate['certificate_no']}/verify"), timeout=30)
    assert public.status_code == 200 and public.json()["valid"] is True

    pdf_bytes = httpx.get(client.url("billing", certificate["pdf"]), timeout=30,
                          headers=client.headers("resident", resident.person_id)).content
    pdf = pdfium.PdfDocument(pdf_bytes)
    first_page = pdf[0]
    image = first_page.render(scale=1.5).to_pil()
    png = io.BytesIO()
    image.save(png, format="PNG")
    assert png.getvalue().startswith(b"\x89PNG")
    assert image.convert("L").getextrema()[0] < 100  # something is printed on the page
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    masked = mask_id_number(resident.id_number)
    assert masked in text and resident.id_number not in text
    assert all(f"2026-{month:02d}" in text for month in range(1, 13))
    assert "参保缴费证明" in text and certificate["certificate_no"] in text
    assert Decimal(pension["2026-02"]["base"]) == Decimal("7162.00")
