"""Reactions of the enrollment service to consumed events: one function per event class.

Each hands the event to one operation of ``operations.reactions``, in the unit of work the
inbox consumer opened for it (the transaction that also records the event in the inbox).
``settings`` is passed in by the wiring.
"""

from __future__ import annotations

from services.enrollment.operations import reactions
from services.enrollment.settings import EnrollmentSettings
from shared.events import ArrearsSettled, DocumentsRejected, DocumentsVerified, PaymentOverdue, PolicyPublished
from shared.handlers import HandlerTable
from shared.unit_of_work import UnitOfWork


async def on_policy_published(uow: UnitOfWork, event: PolicyPublished) -> None:
    await reactions.keep_policy(uow, event)


async def on_documents_verified(uow: UnitOfWork, event: DocumentsVerified, settings: EnrollmentSettings) -> None:
    await reactions.approve_application(uow, event, settings.tz)


async def on_documents_rejected(uow: UnitOfWork, event: DocumentsRejected) -> None:
    await reactions.keep_open_with_rejected_materials(uow, event)


async def on_payment_overdue(uow: UnitOfWork, event: PaymentOverdue, settings: EnrollmentSettings) -> None:
    await reactions.suspend_for_overdue(uow, event, settings.enrollment_suspension_level)


async def on_arrears_settled(uow: UnitOfWork, event: ArrearsSettled, settings: EnrollmentSettings) -> None:
    await reactions.reinstate_after_arrears(uow, event, settings.tz)


HANDLERS: HandlerTable = {
    PolicyPublished: on_policy_published,
    DocumentsVerified: on_documents_verified,
    DocumentsRejected: on_documents_rejected,
    PaymentOverdue: on_payment_overdue,
    ArrearsSettled: on_arrears_settled,
}
