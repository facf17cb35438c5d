"""Events a resident of the notifications' stories goes through, built with the real models."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from shared.events import (
    ApplicationRejected,
    ApplicationSubmitted,
    AppliedPayment,
    BillLine,
    CertificateIssued,
    Contact,
    ContributionRepriced,
    DocumentsRejected,
    EnrollmentActivated,
    EnrollmentReinstated,
    EnrollmentSuspended,
    EnrollmentTerminated,
    PaymentOverdue,
    PremiumDue,
    PremiumPaid,
    RefundIssued,
    RejectedMaterial,
)

BEIJING = "110000"


def a_person() -> uuid.UUID:
    return uuid.uuid4()


def an_application(person_id: uuid.UUID, *, language: str = "zh-CN", email: str | None = "lei.li@example.com",
                   programmes: tuple[str, ...] = ("pension", "medical_employee"),
                   region: str = BEIJING) -> ApplicationSubmitted:
    return ApplicationSubmitted(
        application_id=uuid.uuid4(), person_id=person_id, region=region, programmes=programmes,
        declared_base=Decimal("7162.00"), frequency="monthly",
        contact=Contact(phone="13812345678", email=email, language=language),
    )


def materials_rejected(person_id: uuid.UUID) -> DocumentsRejected:
    return DocumentsRejected(application_id=uuid.uuid4(), person_id=person_id, rejected=(
        RejectedMaterial(material="id_card", document_id=uuid.uuid4(), reason="illegible", note="photo is blurred"),
        RejectedMaterial(material="work_unit_certificate", document_id=uuid.uuid4(), reason="expired", note=""),
    ))


def an_enrolment(person_id: uuid.UUID, *, programme: str = "pension", base: str = "7162.00",
                 waiting_until: date | None = None) -> EnrollmentActivated:
    return EnrollmentActivated(
        enrollment_id=uuid.uuid4(), person_id=person_id, application_id=uuid.uuid4(), region=BEIJING,
        programme=programme, base=Decimal(base), frequency="quarterly", start_month="2025-08",
        waiting_until=waiting_until,
    )


def a_bill(person_id: uuid.UUID, *, due_date: date = date(2025, 8, 15),
           months: tuple[str, ...] = ("2025-08",)) -> PremiumDue:
    """Pension at the Beijing floor (1432.40) and flat employee medical (584.92) for each month."""
    lines = []
    for month in months:
        lines.append(BillLine(programme="pension", month=month, base=Decimal("7162.00"), rate=Decimal("0.20"),
                              amount=Decimal("1432.40")))
        lines.append(BillLine(programme="medical_employee", month=month, amount=Decimal("584.92")))
    return PremiumDue(bill_id=uuid.uuid4(), person_id=person_id, region=BEIJING, months=months, lines=tuple(lines),
                      total=sum((line.amount for line in lines), Decimal("0.00")), due_date=due_date)


def a_payment(person_id: uuid.UUID, *, bill_id: uuid.UUID | None = None, principal: str = "2017.32",
              late_fee: str = "0.00", credit: str = "0.00",
              paid_at: datetime = datetime(2025, 8, 10, 16, 30, tzinfo=UTC)) -> PremiumPaid:
    applied = (AppliedPayment(bill_id=bill_id or uuid.uuid4(), principal=Decimal(principal),
                              late_fee=Decimal(late_fee)),)
    amount = Decimal(principal) + Decimal(late_fee) + Decimal(credit)
    return PremiumPaid(payment_id=uuid.uuid4(), person_id=person_id, amount=amount, channel="alipay",
                       channel_txn_id=f"ALI{uuid.uuid4().hex[:12]}", paid_at=paid_at, voucher_no="SB2025081100042",
                       applied=applied, credit_balance=Decimal(credit))


def an_overdue_notice(person_id: uuid.UUID, *, level: int = 30, days: int = 30,
                      late_fee: str = "30.26") -> PaymentOverdue:
    return PaymentOverdue(bill_id=uuid.uuid4(), person_id=person_id, programmes=("pension", "medical_employee"),
                          due_date=date(2025, 8, 15), days_overdue=days, level=level,
                          unpaid_principal=Decimal("2017.32"), late_fee_to_date=Decimal(late_fee))


def a_suspension(person_id: uuid.UUID) -> EnrollmentSuspended:
    return EnrollmentSuspended(enrollment_id=uuid.uuid4(), person_id=person_id, programme="medical_employee",
                               reason="payment overdue 90 days", since=date(2025, 11, 13))


def a_reinstatement(person_id: uuid.UUID, *, waiting_until: date | None = date(2026, 3, 31)) -> EnrollmentReinstated:
    return EnrollmentReinstated(enrollment_id=uuid.uuid4(), person_id=person_id, programme="medical_employee",
                                waiting_until=waiting_until)


def a_repricing(person_id: uuid.UUID, *, old_base: str = "7162.00", new_base: str = "7500.00",
                old_amount: str = "1432.40", new_amount: str = "1500.00") -> ContributionRepriced:
    return ContributionRepriced(person_id=person_id, programme="pension", region=BEIJING, effective_month="2026-07",
                                old_base=Decimal(old_base), new_base=Decimal(new_base),
                                old_monthly_amount=Decimal(old_amount), new_monthly_amount=Decimal(new_amount))


def an_application_rejection(person_id: uuid.UUID) -> ApplicationRejected:
    return ApplicationRejected(application_id=uuid.uuid4(), person_id=person_id,
                               reasons=("not resident in the region", "already insured through an employer"))


def a_termination(person_id: uuid.UUID) -> EnrollmentTerminated:
    return EnrollmentTerminated(enrollment_id=uuid.uuid4(), person_id=person_id, programme="pension",
                                reason="moved to an employer", last_month="2026-03")


def a_refund(person_id: uuid.UUID, *, channel: str | None = "alipay,unionpay", credit: str | None = "0.00"
             ) -> RefundIssued:
    return RefundIssued(refund_id=uuid.uuid4(), person_id=person_id, amount=Decimal("582.68"),
                        reason="paid twice", channel=channel, voucher_no="110000-2026-00000042",
                        credit_balance=None if credit is None else Decimal(credit))


def a_certificate(person_id: uuid.UUID) -> CertificateIssued:
    return CertificateIssued(certificate_id=uuid.uuid4(), certificate_no="110000-C2026-00000007",
                             person_id=person_id, first_month="2026-01", last_month="2026-12",
                             programmes=("pension", "medical_employee"), language="en")
