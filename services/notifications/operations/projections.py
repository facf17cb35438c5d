"""What the service keeps from the other services' events, and the notice each one brings.

The contact directory (from ApplicationSubmitted), the enrolments (the Enrollment* events) and
the open bills (PremiumDue, reduced by PremiumPaid) are local projections: the service never
asks another service. Each reaction runs in the unit of work of the consumed event.
"""

from __future__ import annotations

from services.notifications import repository
from services.notifications.domain.model import contact_from
from services.notifications.domain.reminders import bill_from, principal_per_bill
from services.notifications.domain.templates import variables
from services.notifications.domain.timing import region_tz
from services.notifications.operations.notices import notify
from shared.events import (
    ApplicationSubmitted,
    EnrollmentActivated,
    EnrollmentChanged,
    EnrollmentReinstated,
    EnrollmentSuspended,
    EnrollmentTerminated,
    PremiumDue,
    PremiumPaid,
)
from shared.unit_of_work import UnitOfWork


async def record_application(uow: UnitOfWork, event: ApplicationSubmitted) -> None:
    """Keep the application's contact details and tell the person what to hand in."""
    await repository.save_contact(uow.conn, contact_from(event))
    await notify(uow, person_id=event.person_id, template="application_received", region=event.region,
                 variables_for=variables.application_received(event))


async def record_activation(uow: UnitOfWork, event: EnrollmentActivated) -> None:
    await repository.save_enrolment(
        uow.conn, enrollment_id=event.enrollment_id, person_id=event.person_id, region=event.region,
        programme=event.programme, base=event.base, frequency=event.frequency,
    )
    await notify(uow, person_id=event.person_id, template="enrolment_active", region=event.region,
                 variables_for=variables.enrolment_active(event))


async def record_change(uow: UnitOfWork, event: EnrollmentChanged) -> None:
    await repository.change_enrolment(uow.conn, event.enrollment_id, event.base, event.frequency)


async def record_suspension(uow: UnitOfWork, event: EnrollmentSuspended) -> None:
    await repository.set_enrolment_status(uow.conn, event.enrollment_id, "suspended")
    await notify(uow, person_id=event.person_id, template="coverage_suspended",
                 variables_for=variables.coverage_suspended(event))


async def record_reinstatement(uow: UnitOfWork, event: EnrollmentReinstated) -> None:
    await repository.set_enrolment_status(uow.conn, event.enrollment_id, "active")
    await notify(uow, person_id=event.person_id, template="coverage_reinstated",
                 variables_for=variables.coverage_reinstated(event))


async def record_termination(uow: UnitOfWork, event: EnrollmentTerminated) -> None:
    await repository.set_enrolment_status(uow.conn, event.enrollment_id, "terminated")
    await notify(uow, person_id=event.person_id, template="coverage_terminated",
                 variables_for=variables.coverage_terminated(event))


async def record_bill(uow: UnitOfWork, event: PremiumDue) -> None:
    """Keep the bill for the reminders (they are caused by this PremiumDue, in its chain) and announce it."""
    origin = uow.origin
    await repository.save_bill(uow.conn, bill_from(event, due_event_id=origin.causation_id,
                                                   correlation_id=origin.correlation_id))
    await notify(uow, person_id=event.person_id, template="bill_issued", region=event.region,
                 variables_for=variables.bill_issued(event))


async def record_payment(uow: UnitOfWork, event: PremiumPaid) -> None:
    """Count the payment against its bills (once, however often it arrives) and send the receipt."""
    await repository.save_payment(uow.conn, event.payment_id, principal_per_bill(event))
    await notify(uow, person_id=event.person_id, template="payment_received",
                 variables_for=variables.payment_received(event, region_tz(uow.origin.region)))
