"""The certificate of contribution (参保缴费证明; DOMAIN.md, Certificate of contribution).

For a span of months and the programmes asked for, every month as the record has it: paid (with
base, amount and the day it was paid), unpaid (billed, still owed), missed (a region without
back-payment closed it) or not billed (no cover then, or not due yet). Numbered per region and
year, and signed with the voucher keys over the same canonical JSON, so whoever holds the number
(or the printed document) can check it the way a voucher is checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from shared.periods import Month

MonthStatus = Literal["paid", "unpaid", "missed", "not_billed"]
MAX_SPAN_MONTHS = 240
"""At most twenty years on one certificate (a page a year; a longer record is several)."""

_STATUS_OF_BILL: dict[str, MonthStatus] = {"paid": "paid", "open": "unpaid", "overdue": "unpaid", "missed": "missed"}


def certificate_number(region: str, year: int, sequence: int) -> str:
    """Unique per region and year, apart from the vouchers' series: ``110000-C2026-00000042``."""
    return f"{region}-C{year:04d}-{sequence:08d}"


@dataclass(frozen=True)
class CertifiedLine:
    """One billed month of one programme, with how its bill stands."""

    programme: str
    month: Month
    base: Decimal | None
    amount: Decimal
    bill_status: str
    paid_on: date | None


def span_problems(first: Month, last: Month, this_month: Month) -> list[tuple[str, str]]:
    """What makes a span of months uncertifiable, as (field, reason)."""
    if last < first:
        return [("body.last_month", "the span ends before it begins")]
    problems = []
    if last > this_month:
        problems.append(("body.last_month", "a certificate covers months up to the current one"))
    if first.months_until(last) + 1 > MAX_SPAN_MONTHS:
        problems.append(("body.first_month", f"one certificate covers at most {MAX_SPAN_MONTHS} months"))
    return problems


def certified_months(lines: Iterable[CertifiedLine], first: Month, last: Month,
                     programmes: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Per programme, every month of the span in order, as printed on the certificate."""
    known = {(line.programme, line.month): line for line in lines}
    span = [first.plus(i) for i in range(first.months_until(last) + 1)]
    months: dict[str, list[dict[str, Any]]] = {}
    for programme in programmes:
        months[programme] = [_month(known.get((programme, month)), month) for month in span]
    return months


def _month(line: CertifiedLine | None, month: Month) -> dict[str, Any]:
    status: MonthStatus = _STATUS_OF_BILL.get(line.bill_status, "not_billed") if line else "not_billed"
    if line is None or status == "not_billed":
        return {"month": str(month), "status": "not_billed", "base": None, "amount": None, "paid_on": None}
    return {
        "month": str(month), "status": status, "base": None if line.base is None else f"{line.base:.2f}",
        "amount": f"{line.amount:.2f}",
        "paid_on": line.paid_on.isoformat() if status == "paid" and line.paid_on else None,
    }


def totals(months: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per programme: months paid and what was paid for them."""
    result = {}
    for programme, rows in months.items():
        paid = [row for row in rows if row["status"] == "paid"]
        result[programme] = {"months_paid": len(paid),
                             "amount_paid": f"{sum((Decimal(row['amount']) for row in paid), Decimal('0.00')):.2f}"}
    return result


def certificate_document(
    *, certificate_no: str, certificate_id: str, person_id: str, region: str, id_number_masked: str,
    first: Month, last: Month, programmes: Sequence[str], lines: Iterable[CertifiedLine], language: str,
    verify_url: str, issued_at: datetime,
) -> dict[str, Any]:
    """The signed content of a certificate (the PDF prints exactly this)."""
    months = certified_months(lines, first, last, programmes)
    return {
        "kind": "certificate",
        "certificate_no": certificate_no,
        "certificate_id": certificate_id,
        "person_id": person_id,
        "id_number": id_number_masked,
        "region": region,
        "first_month": str(first),
        "last_month": str(last),
        "programmes": list(programmes),
        "months": months,
        "totals": totals(months),
        "language": language,
        "verify_url": verify_url,
        "issued_at": issued_at.isoformat(),
    }
