"""Enrolments asked for over HTTP: change the base or frequency, terminate, read them.

The enrolment is locked for the change; the state machine must allow it (a terminated one
allows nothing). Each change emits its event with the enrolment as subject and its region
as the event's region, and answers the enrolment as it now stands, with its history.
"""

from __future__ import annotations

from datetime import tzinfo
from decimal import Decimal
from uuid import UUID

from services.enrollment import repository
from services.enrollment.domain.coverage import last_month_on_termination
from services.enrollment.domain.lifecycle import ensure_enrollment_move
from services.enrollment.domain.model import Cause, Enrollment, check_change_asked, plan_change, policies_for_change
from services.enrollment.operations.common import (
    Authorize,
    EnrollmentRecord,
    NotFound,
    Refused,
    business_today,
    enrollment_records,
    record_step,
    visible_region,
)
from shared.events import EnrollmentChanged, EnrollmentTerminated
from shared.unit_of_work import UnitOfWork, UnitsOfWork


async def change_terms(
    units: UnitsOfWork, enrollment_id: UUID, *, base: Decimal | None, frequency: str | None, tz: tzinfo,
    authorize: Authorize, cause: Cause,
) -> EnrollmentRecord:
    """New base and/or frequency from the next unbilled month, within the policy then in force:
    ``EnrollmentChanged``."""
    if violations := check_change_asked(base, frequency):
        raise Refused(violations)
    today = business_today(tz)
    async with units.begin() as uow:
        enrollment = await _to_move(uow, enrollment_id, None, authorize)
        versions = await repository.region_policies(uow.conn, enrollment.region)
        change, violations = plan_change(enrollment, today, policies_for_change(versions, enrollment, today),
                                         base=base, frequency=frequency)
        if violations:
            raise Refused(violations)
        await repository.set_enrollment_terms(uow.conn, enrollment_id, change.base, change.frequency,
                                              change.effective_month)
        changed = uow.emit(EnrollmentChanged(
            enrollment_id=enrollment_id, person_id=enrollment.person_id, programme=enrollment.programme,
            base=change.base, frequency=change.frequency, effective_month=str(change.effective_month),
        ), subject=enrollment_id, region=enrollment.region)
        await record_step(uow, "enrollment", enrollment_id, from_status=enrollment.status,
                          to_status=enrollment.status, cause=cause, event=changed,
                          detail={"base": str(change.base), "frequency": change.frequency,
                                  "effective_month": str(change.effective_month)})
        return await _as_it_stands(uow, enrollment_id)


async def terminate(units: UnitsOfWork, enrollment_id: UUID, *, reason: str, tz: tzinfo, authorize: Authorize,
                    cause: Cause) -> EnrollmentRecord:
    """End an enrolment (see ``last_month_on_termination``): ``EnrollmentTerminated``."""
    today = business_today(tz)
    async with units.begin() as uow:
        enrollment = await _to_move(uow, enrollment_id, "terminated", authorize)
        last_month = last_month_on_termination(today, enrollment.start_month, enrollment.suspended_since)
        await repository.terminate_enrollment(uow.conn, enrollment_id, last_month)
        terminated = uow.emit(EnrollmentTerminated(
            enrollment_id=enrollment_id, person_id=enrollment.person_id, programme=enrollment.programme,
            reason=reason, last_month=str(last_month),
        ), subject=enrollment_id, region=enrollment.region)
        await record_step(uow, "enrollment", enrollment_id, from_status=enrollment.status, to_status="terminated",
                          cause=cause, event=terminated, detail={"reason": reason, "last_month": str(last_month)})
        return await _as_it_stands(uow, enrollment_id)


async def _to_move(uow: UnitOfWork, enrollment_id: UUID, wanted: str | None, authorize: Authorize) -> Enrollment:
    """The enrolment, locked, once the caller may reach it and the state machine allows ``wanted``
    (None: a change of terms, which keeps the state)."""
    enrollment = await repository.get_enrollment(uow.conn, enrollment_id, for_update=True)
    if enrollment is None:
        raise NotFound("enrollment", enrollment_id)
    authorize(enrollment.person_id, enrollment.region)
    ensure_enrollment_move(enrollment.status, wanted or enrollment.status)
    return enrollment


async def _as_it_stands(uow: UnitOfWork, enrollment_id: UUID) -> EnrollmentRecord:
    [record] = await enrollment_records(uow.conn, [await repository.get_enrollment(uow.conn, enrollment_id)])
    return record


async def person_enrollments(units: UnitsOfWork, person_id: UUID, *, region: str | None) -> list[EnrollmentRecord]:
    """The person's enrolments with their histories, oldest first: of ``region`` only for staff of
    that region (``NotInRegion`` if the person has no records there), all for the person themself."""
    async with units.read() as uow:
        await visible_region(uow.conn, person_id, region)
        return await enrollment_records(uow.conn, await repository.person_enrollments(uow.conn, person_id, region))
