"""Keeping each person's contribution account as enrollment's events say: which programmes,
at what base and frequency, billed from which month. Each reaction runs in the unit of work
of the event it handles (opened by the consumer), and emits nothing."""

from __future__ import annotations

import structlog

from services.billing.domain.account import change_applies_now, resume_month
from services.billing.repository import accounts as repo
from shared.events import (
    EnrollmentActivated,
    EnrollmentChanged,
    EnrollmentReinstated,
    EnrollmentSuspended,
    EnrollmentTerminated,
)
from shared.periods import Month, business_date, now_utc
from shared.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)


async def start_billing(uow: UnitOfWork, event: EnrollmentActivated) -> None:
    """Billing starts with the enrolment's first month (an activation known already changes nothing)."""
    await repo.open_account(uow.conn, event.person_id, event.region)
    await repo.add_enrolment(
        uow.conn, enrollment_id=event.enrollment_id, person_id=event.person_id, region=event.region,
        programme=event.programme, base=event.base, frequency=event.frequency,
        start_month=Month.parse(event.start_month).first_day, waiting_until=event.waiting_until,
    )


async def change_terms(uow: UnitOfWork, event: EnrollmentChanged) -> None:
    """A new base or frequency applies from the first cycle that starts at or after its month;
    until then it waits on the enrolment."""
    enrolment = await repo.enrolment(uow.conn, event.enrollment_id, lock=True)
    if enrolment is None:
        log.warning("change of an enrolment billing does not know", enrollment_id=str(event.enrollment_id))
        return
    effective = Month.parse(event.effective_month)
    if change_applies_now(effective, Month.of(enrolment.next_cycle_start)):
        await repo.change_terms(uow.conn, event.enrollment_id, event.base, event.frequency)
    else:
        await repo.defer_terms(uow.conn, event.enrollment_id, event.base, event.frequency, effective.first_day)


async def suspend_billing(uow: UnitOfWork, event: EnrollmentSuspended) -> None:
    """A suspended enrolment is not billed."""
    await repo.set_status(uow.conn, event.enrollment_id, "suspended")


async def resume_billing(uow: UnitOfWork, event: EnrollmentReinstated) -> None:
    """Billing resumes with the month after the reinstatement — the business date (in the
    default time zone) of the event's time; the suspended months are a gap."""
    enrolment = await repo.enrolment(uow.conn, event.enrollment_id, lock=True)
    if enrolment is None:
        log.warning("reinstatement of an enrolment billing does not know", enrollment_id=str(event.enrollment_id))
        return
    reinstated_on = business_date(uow.origin.occurred_at or now_utc())
    resume = resume_month(Month.of(enrolment.next_cycle_start), reinstated_on)
    await repo.set_status(uow.conn, event.enrollment_id, "active", next_cycle_start=resume.first_day,
                          waiting_until=event.waiting_until)


async def end_billing(uow: UnitOfWork, event: EnrollmentTerminated) -> None:
    """No bills after ``last_month``: such months still unpaid come off their bills, and what was
    already paid for them becomes refundable credit."""
    last_month = Month.parse(event.last_month).first_day
    await repo.lock_person(uow.conn, event.person_id)
    await repo.set_status(uow.conn, event.enrollment_id, "terminated", last_month=last_month)
    await repo.void_months_after(uow.conn, event.enrollment_id, last_month)
    await repo.credit_paid_months_after(uow.conn, event.enrollment_id, last_month)
