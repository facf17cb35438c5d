"""The variables of each notice, worded in one language from the event that caused it.

One function per template; each returns every variable its texts use, already formatted
(money, dates and moments in the region's time zone, names of programmes and materials).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from services.notifications.domain.model import materials_for
from services.notifications.domain.reminders import OpenBill
from services.notifications.domain.templates.wording import Wording
from shared.events import (
    ApplicationRejected,
    ApplicationSubmitted,
    CertificateIssued,
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

Variables = dict[str, str]
VariablesFor = Callable[[Wording], Variables]


def application_received(event: ApplicationSubmitted) -> VariablesFor:
    def variables(w: Wording) -> Variables:
        return {
            "programmes": w.join(w.programme(code) for code in event.programmes),
            "materials": w.join(w.material(code) for code in materials_for(event.programmes)),
        }
    return variables


def materials_rejected(event: DocumentsRejected) -> VariablesFor:
    def variables(w: Wording) -> Variables:
        return {"rejections": w.join(_rejection(w, item) for item in event.rejected)}
    return variables


def _rejection(w: Wording, item: RejectedMaterial) -> str:
    material, reason = w.material(item.material), w.rejection_reason(item.reason)
    if item.note.strip():
        return w.phrase("rejection_with_note", material=material, reason=reason, note=item.note.strip())
    return w.phrase("rejection", material=material, reason=reason)


def enrolment_active(event: EnrollmentActivated) -> VariablesFor:
    def variables(w: Wording) -> Variables:
        return {
            "programme": w.programme(event.programme),
            "start_month": w.month(event.start_month),
            "base": w.money(event.base),
            "frequency": w.frequency(event.frequency),
            "waiting_note": _waiting_note(w, event.waiting_until),
        }
    return variables


def _waiting_note(w: Wording, waiting_until: date | None) -> str:
    return "" if waiting_until is None else w.phrase("waiting_note", date=w.date(waiting_until))


def bill_issued(event: PremiumDue) -> VariablesFor:
    def variables(w: Wording) -> Variables:
        return {
            "months": w.month_range(event.months),
            "total": w.money(event.total),
            "due_date": w.date(event.due_date),
            "lines": w.join(
                w.phrase("bill_line", programme=w.programme(programme), amount=w.money(amount))
                for programme, amount in _per_programme(event).items()
            ),
        }
    return variables


def _per_programme(event: PremiumDue) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for line in event.lines:
        totals[line.programme] = totals.get(line.programme, Decimal("0.00")) + line.amount
    return totals


def payment_reminder(bill: OpenBill) -> VariablesFor:
    def variables(w: Wording) -> Variables:
        return {
            "months": w.month_range(bill.months),
            "outstanding": w.money(bill.outstanding),
            "due_date": w.date(bill.due_date),
        }
    return variables


def payment_received(event: PremiumPaid, tz: ZoneInfo) -> VariablesFor:
    late_fee = sum((applied.late_fee for applied in event.applied), Decimal("0.00"))

    def variables(w: Wording) -> Variables:
        return {
            "amount": w.money(event.amount),
            "paid_at": w.instant(event.paid_at.astimezone(tz)),
            "channel": w.payment_channel(event.channel),
            "voucher_no": event.voucher_no,
            "late_fee_note": w.phrase("late_fee_note", late_fee=w.money(late_fee)) if late_fee else "",
            "credit_note": (
                w.phrase("credit_note", credit=w.money(event.credit_balance)) if event.credit_balance else ""
            ),
        }
    return variables


def payment_overdue(event: PaymentOverdue) -> VariablesFor:
    def variables(w: Wording) -> Variables:
        return {
            "programmes": w.join(w.programme(code) for code in event.programmes),
            "due_date": w.date(event.due_date),
            "days_overdue": str(event.days_overdue),
            "unpaid_principal": w.money(event.unpaid_principal),
            "late_fee": w.money(event.late_fee_to_date),
            "consequence": w.phrase(f"consequence_{event.level}"),
        }
    return variables


def coverage_suspended(event: EnrollmentSuspended) -> VariablesFor:
    def variables(w: Wording) -> Variables:
        return {
            "programme": w.programme(event.programme),
            "since": w.date(event.since),
            "reason": _suspension_reason(w, event.reason),
        }
    return variables


def _suspension_reason(w: Wording, reason: str) -> str:
    # enrollment states the reason as free text; arrears, the usual one, gets the person's words
    lowered = reason.lower()
    if "overdue" in lowered or "arrears" in lowered:
        return w.phrase("overdue_reason")
    return reason


def coverage_reinstated(event: EnrollmentReinstated) -> VariablesFor:
    def variables(w: Wording) -> Variables:
        return {"programme": w.programme(event.programme), "waiting_note": _waiting_note(w, event.waiting_until)}
    return variables


def policy_changed(event: ContributionRepriced) -> VariablesFor:
    def variables(w: Wording) -> Variables:
        return {
            "programme": w.programme(event.programme),
            "effective_month": w.month(event.effective_month),
            "old_base": w.money(event.old_base),
            "new_base": w.money(event.new_base),
            "old_amount": w.money(event.old_monthly_amount),
            "new_amount": w.money(event.new_monthly_amount),
        }
    return variables


def application_rejected(event: ApplicationRejected) -> VariablesFor:
    def variables(w: Wording) -> Variables:
        return {"reasons": w.join(event.reasons)}
    return variables


def coverage_terminated(event: EnrollmentTerminated) -> VariablesFor:
    def variables(w: Wording) -> Variables:
        return {"programme": w.programme(event.programme), "last_month": w.month(event.last_month),
                "reason": event.reason}
    return variables


def refund_issued(event: RefundIssued) -> VariablesFor:
    def variables(w: Wording) -> Variables:
        # billing names several channels "alipay,unionpay" when the refund went back through each
        channels = [name.strip() for name in (event.channel or "counter").split(",") if name.strip()]
        return {
            "amount": w.money(event.amount),
            "channel": w.join(w.payment_channel(name) for name in channels),
            "reason": event.reason,
            "voucher_no": event.voucher_no or w.phrase("refund_voucher_pending"),
            "credit_note": "" if event.credit_balance is None else w.phrase("refund_credit_left",
                                                                              credit=w.money(event.credit_balance)),
        }
    return variables


def certificate_issued(event: CertificateIssued) -> VariablesFor:
    def variables(w: Wording) -> Variables:
        return {
            "certificate_no": event.certificate_no,
            "span": w.month_range((event.first_month, event.last_month)),
            "programmes": w.join(w.programme(code) for code in event.programmes),
        }
    return variables
