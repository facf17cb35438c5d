"""Reactions of the billing service to enrollment's events: each keeps the person's
contribution account through one operation, in the unit of work of the consumed event."""

from __future__ import annotations

from services.billing.operations import accounts
from shared.events import (
    EnrollmentActivated,
    EnrollmentChanged,
    EnrollmentReinstated,
    EnrollmentSuspended,
    EnrollmentTerminated,
)
from shared.handlers import HandlerTable
from shared.unit_of_work import UnitOfWork


async def on_enrollment_activated(uow: UnitOfWork, event: EnrollmentActivated) -> None:
    await accounts.start_billing(uow, event)


async def on_enrollment_changed(uow: UnitOfWork, event: EnrollmentChanged) -> None:
    await accounts.change_terms(uow, event)


async def on_enrollment_suspended(uow: UnitOfWork, event: EnrollmentSuspended) -> None:
    await accounts.suspend_billing(uow, event)


async def on_enrollment_reinstated(uow: UnitOfWork, event: EnrollmentReinstated) -> None:
    await accounts.resume_billing(uow, event)


async def on_enrollment_terminated(uow: UnitOfWork, event: EnrollmentTerminated) -> None:
    await accounts.end_billing(uow, event)


HANDLERS: HandlerTable = {
    EnrollmentActivated: on_enrollment_activated,
    EnrollmentChanged: on_enrollment_changed,
    EnrollmentSuspended: on_enrollment_suspended,
    EnrollmentReinstated: on_enrollment_reinstated,
    EnrollmentTerminated: on_enrollment_terminated,
}
