"""Reactions of the notifications service: keep the contact directory, enrolments and bills
up to date, and turn each event a person should hear about into a notice."""

from __future__ import annotations

import uuid
from decimal import Decimal

from services.notifications import notices, repository
from services.notifications.domain import Contact, OpenBill, region_tz
from services.notifications.templates import variables
from shared.consumer import Handler, HandlerContext
from shared.events import (
    ApplicationSubmitted,
    ContributionRepriced,
    DocumentsRejected,
    EnrollmentActivated,
    EnrollmentChanged,
    EnrollmentReinstated,
    EnrollmentSuspended,
    EnrollmentTerminated,
    PaymentOverdue,
    PremiumDue,
    PremiumPaid,
)
from shared.periods import now_utc


async def notify(
    ctx: HandlerContext, *, person_id: uuid.UUID, template: str, variables_for: variables.VariablesFor,
    region: str | None = None,
) -> None:
    """Record the notice ``template`` about the event being handled (once, whatever the redelivery)."""
    notice = notices.compose(
        template=template, caused_by=ctx.envelope.id, correlation_id=ctx.envelope.correlationid,
        region=region or ctx.envelope.region, recipient=await repository.recipient(ctx.conn, person_id),
        variables_for=variables_for, now=now_utc(),
    )
    if notice is not None:
        await notices.record(ctx.conn, ctx.outbox, [notice])


async def on_application_submitted(ctx: HandlerContext, event: ApplicationSubmitted) -> None:
    contact = event.contact
    await repository.save_contact(ctx.conn, Contact(event.person_id, event.region, contact.phone, contact.email,
                                                    contact.language))
    await notify(ctx, person_id=event.person_id, template="application_received", region=event.region,
                 variables_for=variables.application_received(event))


async def on_documents_rejected(ctx: HandlerContext, event: DocumentsRejected) -> None:
    await notify(ctx, person_id=event.person_id, template="materials_rejected",
                 variables_for=variables.materials_rejected(event))


async def on_enrollment_activated(ctx: HandlerContext, event: EnrollmentActivated) -> None:
    await repository.save_enrolment(
        ctx.conn, enrollment_id=event.enrollment_id, person_id=event.person_id, region=event.region,
        programme=event.programme, base=event.base, frequency=event.frequency,
    )
    await notify(ctx, person_id=event.person_id, template="enrolment_active", region=event.region,
                 variables_for=variables.enrolment_active(event))


async def on_enrollment_changed(ctx: HandlerContext, event: EnrollmentChanged) -> None:
    await repository.change_enrolment(ctx.conn, event.enrollment_id, event.base, event.frequency)


async def on_enrollment_suspended(ctx: HandlerContext, event: EnrollmentSuspended) -> None:
    await repository.set_enrolment_status(ctx.conn, event.enrollment_id, "suspended")
    await notify(ctx, person_id=event.person_id, template="coverage_suspended",
                 variables_for=variables.coverage_suspended(event))


async def on_enrollment_reinstated(ctx: HandlerContext, event: EnrollmentReinstated) -> None:
    await repository.set_enrolment_status(ctx.conn, event.enrollment_id, "active")
    await notify(ctx, person_id=event.person_id, template="coverage_reinstated",
                 variables_for=variables.coverage_reinstated(event))


async def on_enrollment_terminated(ctx: HandlerContext, event: EnrollmentTerminated) -> None:
    await repository.set_enrolment_status(ctx.conn, event.enrollment_id, "terminated")


async def on_premium_due(ctx: HandlerContext, event: PremiumDue) -> None:
    await repository.save_bill(ctx.conn, OpenBill(
        bill_id=event.bill_id, person_id=event.person_id, region=event.region, months=event.months,
        total=event.total, paid_principal=Decimal("0.00"), due_date=event.due_date,
        due_event_id=ctx.envelope.id, correlation_id=ctx.envelope.correlationid,
    ))
    await notify(ctx, person_id=event.person_id, template="bill_issued", region=event.region,
                 variables_for=variables.bill_issued(event))


async def on_premium_paid(ctx: HandlerContext, event: PremiumPaid) -> None:
    await repository.save_payment(ctx.conn, event.payment_id,
                                  [(applied.bill_id, applied.principal) for applied in event.applied])
    await notify(ctx, person_id=event.person_id, template="payment_received",
                 variables_for=variables.payment_received(event, region_tz(ctx.envelope.region)))


async def on_payment_overdue(ctx: HandlerContext, event: PaymentOverdue) -> None:
    await notify(ctx, person_id=event.person_id, template="payment_overdue",
                 variables_for=variables.payment_overdue(event))


async def on_contribution_repriced(ctx: HandlerContext, event: ContributionRepriced) -> None:
    await notify(ctx, person_id=event.person_id, template="policy_changed", region=event.region,
                 variables_for=variables.policy_changed(event))


HANDLERS: dict[str, Handler] = {
    "ApplicationSubmitted": on_application_submitted,
    "DocumentsRejected": on_documents_rejected,
    "EnrollmentActivated": on_enrollment_activated,
    "EnrollmentChanged": on_enrollment_changed,
    "EnrollmentSuspended": on_enrollment_suspended,
    "EnrollmentReinstated": on_enrollment_reinstated,
    "EnrollmentTerminated": on_enrollment_terminated,
    "PremiumDue": on_premium_due,
    "PremiumPaid": on_premium_paid,
    "PaymentOverdue": on_payment_overdue,
    "ContributionRepriced": on_contribution_repriced,
}
