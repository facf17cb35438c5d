"""Certificates of contribution: every month of the span as the record has it, numbered, signed,
announced, verifiable by anyone by its number, printable as a PDF in zh-CN and English."""

from __future__ import annotations

import random

import pypdfium2 as pdfium
import pytest

from shared.identity import person_id_for
from shared.resident_id import check_character
from tests.integration.billing.story import Person, activations, billing_run, deliver, events, on, pay

pytestmark = pytest.mark.integration


def a_resident_id() -> str:
    first17 = f"11010519850315{random.randrange(100, 999)}"
    return first17 + check_character(first17)


async def a_resident_paying_july_and_august_2025(billing) -> tuple[Person, str]:
    """Beijing pension and medical from July 2025, monthly; July and August paid, September not."""
    id_number = a_resident_id()
    person = Person(person_id_for(id_number), "110000")
    for envelope in activations(person, ("pension", "medical_employee"), base="7162", frequency="monthly",
                                start="2025-07"):
        await deliver(billing, envelope.data)
    for day in ("2025-06-25", "2025-07-25", "2025-08-25"):
        await billing_run(billing, day)
    await pay(billing, person, "2017.32", paid_at=on("2025-07-05"))
    await pay(billing, person, "2017.32", paid_at=on("2025-08-06"))
    return person, id_number


def _ask(billing, person, id_number, **changes):
    body = {"id_number": id_number, "first_month": "2025-06", "last_month": "2025-09",
            "programmes": ["pension"], "language": "en", **changes}
    return billing.client.post(f"/v1/persons/{person.person_id}/certificates", json=body,
                               headers=billing.auth("resident", sub=person.person_id))


async def test_every_month_of_the_span_is_certified_as_the_record_has_it(billing):
    person, id_number = await a_resident_paying_july_and_august_2025(billing)

    response = await _ask(billing, person, id_number)

    assert response.status_code == 201, response.text
    certificate = response.json()
    document = certificate["document"]
    assert certificate["certificate_no"].startswith("110000-C")
    assert document["id_number"] == id_number[:6] + "*" * 10 + id_number[-2:]
    assert [(m["month"], m["status"], m["amount"], m["paid_on"]) for m in document["months"]["pension"]] == [
        ("2025-06", "not_billed", None, None), ("2025-07", "paid", "1432.40", "2025-07-05"),
        ("2025-08", "paid", "1432.40", "2025-08-06"), ("2025-09", "unpaid", "1432.40", None)]
    assert document["totals"]["pension"] == {"months_paid": 2, "amount_paid": "2864.80"}
    [issued] = await events(billing, "CertificateIssued", person)
    assert (issued.data.certificate_no, issued.data.first_month, issued.data.last_month, issued.data.programmes,
            issued.data.language) == (certificate["certificate_no"], "2025-06", "2025-09", ("pension",), "en")


async def test_anyone_verifies_a_certificate_by_its_number_without_a_token(billing):
    person, id_number = await a_resident_paying_july_and_august_2025(billing)
    certificate = (await _ask(billing, person, id_number)).json()

    by_number = await billing.client.get(f"/v1/certificates/{certificate['certificate_no']}/verify")
    presented = await billing.client.post("/v1/vouchers/verify", json={
        "document": certificate["document"], "signature": certificate["signature"]})
    altered = await billing.client.post("/v1/vouchers/verify", json={
        "document": {**certificate["document"], "first_month": "2020-01"}, "signature": certificate["signature"]})
    unknown = await billing.client.get("/v1/certificates/110000-C2025-99999999/verify")

    assert by_number.status_code == 200
    assert by_number.json()["valid"] is True
    assert by_number.json()["document"] == certificate["document"]
    assert certificate["verify_url"].endswith(f"/v1/certificates/{certificate['certificate_no']}/verify")
    assert presented.json()["valid"] is True
    assert altered.json()["valid"] is False
    assert unknown.status_code == 404


async def test_the_printable_certificate_has_the_masked_id_and_the_months_in_both_languages(billing):
    person, id_number = await a_resident_paying_july_and_august_2025(billing)
    resident = billing.auth("resident", sub=person.person_id)

    for language, title, paid in (("zh-CN", "参保缴费证明", "已缴"), ("en", "Certificate of contribution", "paid")):
        certificate = (await _ask(billing, person, id_number, language=language,
                                  programmes=["pension", "medical_employee"])).json()
        response = await billing.client.get(certificate["pdf"], headers=resident)

        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pdf"
        pdf = pdfium.PdfDocument(response.content)
        text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
        assert title in text and paid in text
        assert certificate["document"]["id_number"] in text
        assert id_number not in text
        assert all(month in text for month in ("2025-06", "2025-07", "2025-08", "2025-09"))
        assert certificate["certificate_no"] in text


async def test_what_a_certificate_request_refuses(billing):
    person, id_number = await a_resident_paying_july_and_august_2025(billing)
    someone_else = a_resident_id()
    while someone_else == id_number:
        someone_else = a_resident_id()

    not_theirs = await _ask(billing, person, someone_else)
    bad_check_digit = await _ask(billing, person, id_number[:17] + ("0" if id_number[17] != "0" else "1"))
    backwards = await _ask(billing, person, id_number, first_month="2025-09", last_month="2025-06")
    future = await _ask(billing, person, id_number, last_month="2099-01")
    unknown_programme = await _ask(billing, person, id_number, programmes=["lottery"])
    other_resident = await billing.client.post(
        f"/v1/persons/{person.person_id}/certificates",
        json={"id_number": id_number, "first_month": "2025-06", "last_month": "2025-09", "programmes": ["pension"]},
        headers=billing.auth("resident", sub=person_id_for(someone_else)))

    assert not_theirs.json()["detail"] == [{"field": "body.id_number",
                                            "reason": "this is not the ID number of the person"}]
    assert bad_check_digit.json()["detail"][0]["field"] == "body.id_number"
    assert backwards.json()["detail"] == [{"field": "body.last_month", "reason": "the span ends before it begins"}]
    assert future.status_code == unknown_programme.status_code == 422
    assert other_resident.status_code == 403
    assert await events(billing, "CertificateIssued", person) == []


async def test_the_pdf_is_for_the_holder_and_staff_only(billing):
    person, id_number = await a_resident_paying_july_and_august_2025(billing)
    certificate = (await _ask(billing, person, id_number)).json()

    anonymous = await billing.client.get(certificate["pdf"])
    caseworker = await billing.client.get(certificate["pdf"], headers=billing.auth("caseworker"))
    elsewhere = await billing.client.get(certificate["pdf"], headers=billing.auth("caseworker", region="310000"))

    assert anonymous.status_code == 401
    assert caseworker.status_code == 200
    assert elsewhere.status_code == 403
