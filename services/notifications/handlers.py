"""Reactions of the notifications service to the events it consumes: each keeps a projection
(contacts, enrolments, bills) up to date and/or records the notice the person should get, in
the unit of work the inbox consumer opened for the event (``operations``). Applications and
payments, the bulk of the traffic, are taken a run of consecutive events at a time (``@batch_handler``)."""

from __future__ import annotations

from services.notifications.operations import notices, projections
from shared.events import (
    ApplicationRejected,
    ApplicationSubmitted,
    CertificateIssued,
    ContributionRepriced,
    DocumentsRejected,
    EnrollmentActivated,
    EnrollmentChanged,
    EnrollmentReinstated,
    EnrollmentSuspended,
    EnrollmentTerminated,
    Envelope,
    PaymentOverdue,
    PremiumDue,
    PremiumPaid,
    RefundIssued,
)
from shared.handlers import HandlerTable, batch_handler
from shared.unit_of_work import UnitOfWork


@batch_handler
async def on_applications_submitted(uow: UnitOfWork, applications: list[Envelope]) -> None:
    await projections.record_applications(uow, applications)


async def on_application_rejected(uow: UnitOfWork, event: ApplicationRejected) -> None:
    await notices.notify_application_rejected(uow, event)


async def on_documents_rejected(uow: UnitOfWork, event: DocumentsRejected) -> None:
    await notices.notify_rejection(uow, event)


async def on_enrollment_activated(uow: UnitOfWork, event: EnrollmentActivated) -> None:
    await projections.record_activation(uow, event)


async def on_enrollment_changed(uow: UnitOfWork, event: EnrollmentChanged) -> None:
    await projections.record_change(uow, event)


async def on_enrollment_suspended(uow: UnitOfWork, event: EnrollmentSuspended) -> None:
    await projections.record_suspension(uow, event)


async def on_enrollment_reinstated(uow: UnitOfWork, event: EnrollmentReinstated) -> None:
    await projections.record_reinstatement(uow, event)


async def on_enrollment_terminated(uow: UnitOfWork, event: EnrollmentTerminated) -> None:
    await projections.record_termination(uow, event)


async def on_premium_due(uow: UnitOfWork, event: PremiumDue) -> None:
    await projections.record_bill(uow, event)


@batch_handler
async def on_premiums_paid(uow: UnitOfWork, payments: list[Envelope]) -> None:
    await projections.record_payments(uow, payments)


async def on_payment_overdue(uow: UnitOfWork, event: PaymentOverdue) -> None:
    await notices.notify_overdue(uow, event)


async def on_contribution_repriced(uow: UnitOfWork, event: ContributionRepriced) -> None:
    await notices.notify_repricing(uow, event)


async def on_refund_issued(uow: UnitOfWork, event: RefundIssued) -> None:
    await notices.notify_refund(uow, event)


async def on_certificate_issued(uow: UnitOfWork, event: CertificateIssued) -> None:
    await notices.notify_certificate(uow, event)


HANDLERS: HandlerTable = {
    ApplicationSubmitted: on_applications_submitted,
    DocumentsRejected: on_documents_rejected,
    EnrollmentActivated: on_enrollment_activated,
    EnrollmentChanged: on_enrollment_changed,
    EnrollmentSuspended: on_enrollment_suspended,
    EnrollmentReinstated: on_enrollment_reinstated,
    EnrollmentTerminated: on_enrollment_terminated,
    PremiumDue: on_premium_due,
    PremiumPaid: on_premiums_paid,
    PaymentOverdue: on_payment_overdue,
    ContributionRepriced: on_contribution_repriced,
    ApplicationRejected: on_application_rejected,
    RefundIssued: on_refund_issued,
    CertificateIssued: on_certificate_issued,
}
