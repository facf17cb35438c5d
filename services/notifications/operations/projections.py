"""What the service keeps from the other services' events, and the notice each one brings.

The contact directory (from ApplicationSubmitted), the enrolments (the Enrollment* events) and
the open bills (PremiumDue, reduced by PremiumPaid) are local projections: the service never
asks another service. Each reaction runs in the unit of work of the consumed event, but those to
applications and payments, the bulk of the traffic, take a run of them in the unit of the consumer's
batch: a constant number of statements per run, each event still the cause of its own notice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from uuid import UUID

from services.notifications import repository
from services.notifications.domain.model import contact_from
from services.notifications.domain.notices import NewNotification
from services.notifications.domain.reminders import bill_from, principal_per_bill
from services.notifications.domain.templates import variables
from services.notifications.domain.timing import region_tz
from services.notifications.operations.notices import NoticeAbout, notify, record, worded
from shared.events import (
    EnrollmentActivated,
    EnrollmentChanged,
    EnrollmentReinstated,
    EnrollmentSuspended,
    EnrollmentTerminated,
    Envelope,
    PremiumDue,
)
from shared.unit_of_work import Origin, UnitOfWork


async def record_applications(uow: UnitOfWork, applications: Sequence[Envelope]) -> None:
    """Keep each application's contact details and tell each person what to hand in.

    A person's latest application wins the directory, and each notice is worded for the contact its own
    application gave, as it would be handled alone: the run is saved in stretches in which each person
    applies once (one statement cannot update a contact twice).
    """
    notices: list[NewNotification] = []
    for stretch in _each_person_once(applications):
        await repository.save_contacts(uow.conn, [contact_from(envelope.data) for envelope in stretch])
        notices += await worded(uow, [
            NoticeAbout(Origin.of_event(envelope), envelope.data.person_id, "application_received",
                        variables.application_received(envelope.data), region=envelope.data.region)
            for envelope in stretch
        ])
    await record(uow, notices)


def _each_person_once(applications: Sequence[Envelope]) -> Iterator[list[Envelope]]:
    """``applications`` in order, cut before each one whose person already applied in the stretch."""
    stretch: list[Envelope] = []
    persons: set[UUID] = set()
    for envelope in applications:
        if envelope.data.person_id in persons:
            yield stretch
            stretch, persons = [], set()
        stretch.append(envelope)
        persons.add(envelope.data.person_id)
    if stretch:
        yield stretch


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


async def record_payments(uow: UnitOfWork, payments: Sequence[Envelope]) -> None:
    """Count each payment against its bills (once, however often it arrives) and send each receipt."""
    await repository.save_payments(uow.conn, [(envelope.data.payment_id, principal_per_bill(envelope.data))
                                              for envelope in payments])
    await record(uow, await worded(uow, [
        NoticeAbout(Origin.of_event(envelope), envelope.data.person_id, "payment_received",
                    variables.payment_received(envelope.data, region_tz(envelope.region)))
        for envelope in payments
    ]))
