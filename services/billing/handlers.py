"""Reactions of the billing service to enrollment's events: they keep each person's
contribution account (which programmes, at what base and frequency, billed from when)."""

from __future__ import annotations

import structlog

from services.billing.domain.account import change_applies_now, resume_month
from services.billing.repository import accounts
from shared.consumer import Handler, HandlerContext
from shared.events import (
    EnrollmentActivated,
    EnrollmentChanged,
    EnrollmentReinstated,
    EnrollmentSuspended,
    EnrollmentTerminated,
)
from shared.periods import Month, business_date

log = structlog.get_logger(__name__)


async def on_enrollment_activated(ctx: HandlerContext, event: EnrollmentActivated) -> None:
    """Billing starts with the enrolment's first month."""
    await accounts.open_account(ctx.conn, event.person_id, event.region)
    await accounts.add_enrolment(
        ctx.conn, enrollment_id=event.enrollment_id, person_id=event.person_id, region=event.region,
        programme=event.programme, base=event.base, frequency=event.frequency,
        start_month=Month.parse(event.start_month).first_day, waiting_until=event.waiting_until,
    )


async def on_enrollment_changed(ctx: HandlerContext, event: EnrollmentChanged) -> None:
    """A new base or frequency applies from the first cycle that starts at or after its month."""
    enrolment = await accounts.enrolment(ctx.conn, event.enrollment_id, lock=True)
    if enrolment is None:
        log.warning("change of an enrolment billing does not know", enrollment_id=str(event.enrollment_id))
        return
    effective = Month.parse(event.effective_month)
    if change_applies_now(effective, Month.of(enrolment.next_cycle_start)):
        await accounts.change_terms(ctx.conn, event.enrollment_id, event.base, event.frequency)
    else:
        await accounts.defer_terms(ctx.conn, event.enrollment_id, event.base, event.frequency, effective.first_day)


async def on_enrollment_suspended(ctx: HandlerContext, event: EnrollmentSuspended) -> None:
    """A suspended enrolment is not billed."""
    await accounts.set_status(ctx.conn, event.enrollment_id, "suspended")


async def on_enrollment_reinstated(ctx: HandlerContext, event: EnrollmentReinstated) -> None:
    """Billing resumes with the month after the reinstatement; the suspended months are a gap."""
    enrolment = await accounts.enrolment(ctx.conn, event.enrollment_id, lock=True)
    if enrolment is None:
        log.warning("reinstatement of an enrolment billing does not know", enrollment_id=str(event.enrollment_id))
        return
    reinstated_on = business_date(ctx.envelope.time)
    resume = resume_month(Month.of(enrolment.next_cycle_start), reinstated_on)
    await accounts.set_status(ctx.conn, event.enrollment_id, "active", next_cycle_start=resume.first_day,
                              waiting_until=event.waiting_until)


async def on_enrollment_terminated(ctx: HandlerContext, event: EnrollmentTerminated) -> None:
    """No bills after ``last_month``: such months still unpaid come off their bills."""
    last_month = Month.parse(event.last_month).first_day
    await accounts.lock_person(ctx.conn, event.person_id)
    await accounts.set_status(ctx.conn, event.enrollment_id, "terminated", last_month=last_month)
    await accounts.void_months_after(ctx.conn, event.enrollment_id, last_month)


HANDLERS: dict[str, Handler] = {
    "EnrollmentActivated": on_enrollment_activated,
    "EnrollmentChanged": on_enrollment_changed,
    "EnrollmentSuspended": on_enrollment_suspended,
    "EnrollmentReinstated": on_enrollment_reinstated,
    "EnrollmentTerminated": on_enrollment_terminated,
}
