"""What consumed events do, in the unit of work the inbox consumer opened for each.

The unit's origin is the handled event: ``uow.origin.causation_id`` is its id (recorded as the
``Cause`` of every step it makes), ``occurred_at`` its time (the approval's time), and the
events emitted here continue its chain.

- ``PolicyPublished``: keep the version (``policies``).
- ``DocumentsVerified``: approve the application, activate one enrolment per programme not
  enrolled meanwhile.
- ``DocumentsRejected``: keep the application open, with the rejected materials and reasons.
- ``PaymentOverdue``: at the suspension level, suspend the active enrolments of the bill's programmes.
- ``ArrearsSettled``: reinstate the suspended enrolments of the settled programmes.

Documents' outcomes for an application that is no longer open (decided, withdrawn, unknown)
are ignored.
"""

from __future__ import annotations

import uuid
from datetime import date, tzinfo

import structlog

from services.enrollment import repository
from services.enrollment.domain.coverage import suspension_for
from services.enrollment.domain.model import (
    Activation,
    Application,
    Cause,
    Enrollment,
    plan_approval,
    reinstatement_waiting_until,
)
from services.enrollment.domain.policy import Policy
from services.enrollment.operations.common import record_step
from shared.events import (
    ArrearsSettled,
    DocumentsRejected,
    DocumentsVerified,
    EnrollmentActivated,
    EnrollmentReinstated,
    EnrollmentSuspended,
    PaymentOverdue,
    PolicyPublished,
)
from shared.periods import business_date
from shared.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)


def _cause(uow: UnitOfWork) -> Cause:
    """The handled event, as the cause of a recorded step."""
    return Cause(event_id=uow.origin.causation_id)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


async def keep_policy(uow: UnitOfWork, published: PolicyPublished) -> None:
    """Keep the region's policy version: the programmes offered, base range and frequencies."""
    await repository.save_policy(uow.conn, Policy.from_event(published), uow.origin.causation_id)


async def approve_application(uow: UnitOfWork, verified: DocumentsVerified, tz: tzinfo) -> None:
    """Approve the application and activate its enrolments, from the month after the approval's
    business date (in ``tz``); programmes enrolled meanwhile are skipped and recorded as such."""
    application = await _open_application(uow, verified)
    if application is None:
        return
    await repository.lock_person(uow.conn, application.person_id)
    last_cover = await repository.last_medical_cover(uow.conn, application.person_id)
    enrolled, _ = await repository.covered_programmes(uow.conn, application.person_id)
    approval = plan_approval(application, business_date(uow.origin.occurred_at, tz), last_cover, enrolled)
    activated = [str(await _activate(uow, application, activation)) for activation in approval.activations]
    await repository.set_application_status(uow.conn, application.application_id, "approved", decided=True)
    await record_step(uow, "application", application.application_id, from_status=application.status,
                      to_status="approved", cause=_cause(uow),
                      detail={"verified_by": verified.verified_by, "enrollments": activated,
                              "already_enrolled": approval.already_enrolled})


async def _activate(uow: UnitOfWork, application: Application, activation: Activation) -> uuid.UUID:
    enrollment = Enrollment(
        enrollment_id=uuid.uuid4(), person_id=application.person_id, application_id=application.application_id,
        region=application.region, programme=activation.programme, base=activation.base,
        frequency=activation.frequency, start_month=activation.start_month, terms_from=activation.start_month,
        status="active", activated_at=uow.origin.occurred_at, waiting_until=activation.waiting_until,
    )
    await repository.insert_enrollment(uow.conn, enrollment)
    activated = uow.emit(EnrollmentActivated(
        enrollment_id=enrollment.enrollment_id, person_id=enrollment.person_id,
        application_id=enrollment.application_id, region=enrollment.region, programme=enrollment.programme,
        base=enrollment.base, frequency=enrollment.frequency, start_month=str(enrollment.start_month),
        waiting_until=enrollment.waiting_until,
    ), subject=enrollment.enrollment_id, region=enrollment.region)
    await record_step(uow, "enrollment", enrollment.enrollment_id, from_status=None, to_status="active",
                      cause=_cause(uow), event=activated,
                      detail={"start_month": str(enrollment.start_month),
                              "waiting_until": _iso(enrollment.waiting_until)})
    return enrollment.enrollment_id


async def keep_open_with_rejected_materials(uow: UnitOfWork, rejected: DocumentsRejected) -> None:
    """Keep the application open, with the rejected materials and reasons for the resident to see."""
    application = await _open_application(uow, rejected)
    if application is None:
        return
    materials = [material.model_dump(mode="json") for material in rejected.rejected]
    await repository.set_rejected_materials(uow.conn, application.application_id, materials)
    await record_step(uow, "application", application.application_id, from_status=application.status,
                      to_status="awaiting_documents", cause=_cause(uow), detail={"rejected": materials})


async def _open_application(uow: UnitOfWork, outcome: DocumentsVerified | DocumentsRejected) -> Application | None:
    """The application, locked, if it is still open; a decided or unknown one is left alone."""
    application = await repository.get_application(uow.conn, outcome.application_id, for_update=True)
    if application is None or not application.is_open:
        log.info("documents outcome for an application that is not open; ignored", event_type=outcome.event_type(),
                 application_id=str(outcome.application_id), status=application.status if application else None)
        return None
    return application


async def suspend_for_overdue(uow: UnitOfWork, overdue: PaymentOverdue, suspension_level: int) -> None:
    """At ``suspension_level`` or past it, suspend the person's active enrolments of the bill's programmes."""
    suspension = suspension_for(overdue, suspension_level)
    if suspension is None:
        return
    for enrollment in await repository.enrollments_in(uow.conn, overdue.person_id, overdue.programmes, "active"):
        await repository.suspend_enrollment(uow.conn, enrollment.enrollment_id, suspension.since)
        suspended = uow.emit(EnrollmentSuspended(
            enrollment_id=enrollment.enrollment_id, person_id=enrollment.person_id, programme=enrollment.programme,
            reason=suspension.reason, since=suspension.since,
        ), subject=enrollment.enrollment_id, region=enrollment.region)
        await record_step(uow, "enrollment", enrollment.enrollment_id, from_status="active", to_status="suspended",
                          cause=_cause(uow), event=suspended,
                          detail={"reason": suspension.reason, "since": suspension.since.isoformat()})


async def reinstate_after_arrears(uow: UnitOfWork, settled: ArrearsSettled, tz: tzinfo) -> None:
    """Reinstate the person's suspended enrolments of the settled programmes, a medical one after
    its waiting period (see ``reinstatement_waiting_until``), as of the settlement's business date."""
    settled_on = business_date(settled.settled_at, tz)
    for enrollment in await repository.enrollments_in(uow.conn, settled.person_id, settled.programmes, "suspended"):
        waiting_until = reinstatement_waiting_until(enrollment, settled_on)
        await repository.reinstate_enrollment(uow.conn, enrollment.enrollment_id, waiting_until)
        reinstated = uow.emit(EnrollmentReinstated(
            enrollment_id=enrollment.enrollment_id, person_id=enrollment.person_id, programme=enrollment.programme,
            waiting_until=waiting_until,
        ), subject=enrollment.enrollment_id, region=enrollment.region)
        await record_step(uow, "enrollment", enrollment.enrollment_id, from_status="suspended", to_status="active",
                          cause=_cause(uow), event=reinstated,
                          detail={"settled_on": settled_on.isoformat(), "waiting_until": _iso(waiting_until)})
