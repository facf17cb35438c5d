from datetime import date
from decimal import Decimal

from services.billing.domain.certificate import (
    CertifiedLine,
    certificate_number,
    certified_months,
    span_problems,
    totals,
)
from shared.periods import Month


def pension(month: int, status: str, paid_on: date | None = None) -> CertifiedLine:
    return CertifiedLine("pension", Month(2026, month), Decimal("7460"), Decimal("1492.00"), status, paid_on)


def test_each_month_reads_as_its_bill_stands():
    lines = [pension(1, "paid", date(2026, 1, 12)), pension(2, "overdue"), pension(3, "missed"),
             pension(4, "cancelled"), pension(5, "open")]

    months = certified_months(lines, Month(2026, 1), Month(2026, 6), ["pension", "medical_employee"])

    assert [(m["month"], m["status"], m["paid_on"]) for m in months["pension"]] == [
        ("2026-01", "paid", "2026-01-12"), ("2026-02", "unpaid", None), ("2026-03", "missed", None),
        ("2026-04", "not_billed", None), ("2026-05", "unpaid", None), ("2026-06", "not_billed", None)]
    assert months["pension"][0]["base"] == "7460.00" and months["pension"][0]["amount"] == "1492.00"
    assert {m["status"] for m in months["medical_employee"]} == {"not_billed"}
    assert totals(months) == {"pension": {"months_paid": 1, "amount_paid": "1492.00"},
                              "medical_employee": {"months_paid": 0, "amount_paid": "0.00"}}


def test_a_span_runs_forwards_up_to_this_month_and_at_most_twenty_years():
    now = Month(2026, 12)

    assert span_problems(Month(2026, 1), Month(2026, 12), now) == []
    assert span_problems(Month(2026, 5), Month(2026, 4), now) == [("body.last_month", "the span ends before it begins")]
    assert span_problems(Month(2026, 1), Month(2027, 1), now) == [
        ("body.last_month", "a certificate covers months up to the current one")]
    assert span_problems(Month(2006, 12), Month(2026, 12), now) == [
        ("body.first_month", "one certificate covers at most 240 months")]


def test_certificates_have_their_own_series():
    assert certificate_number("310000", 2026, 42) == "310000-C2026-00000042"
