"""Reactions of the enrollment service to consumed events: one function per event type.

Each loads what it needs, asks the domain to decide, stores through the repository and
emits through ``ctx.emit`` — all in the transaction that also records the event in the inbox.
"""

from __future__ import annotations

import uuid

import structlog

from services.enrollment import repository
from services.enrollment.domain.coverage import suspended_on
from services.enrollment.domain.lifecycle import OPEN_APPLICATION
from services.enrollment.domain.model import (
    Activation,
    Application,
    Cause,
    Enrollment,
    activations_for,
    reinstatement_waiting_until,
)
from services.enrollment.domain.policy import Policy
from shared.consumer import Handler, HandlerContext
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

log = structlog.get_logger(__name__)


async def on_policy_published(ctx: HandlerContext, event: PolicyPublished) -> None:
    """Keep the region's policy version: the programmes offered, base range and frequencies."""
    await repository.save_policy(ctx.conn, Policy.from_event(event), ctx.envelope.id)


async def on_documents_verified(ctx: HandlerContext, event: DocumentsVerified) -> None:
    """Approve the application and activate one enrolment per programme."""
    application = await _open_application(ctx, event.application_id)
    if application is None:
        return
    await repository.lock_person(ctx.conn, application.person_id)
    approved_on = business_date(ctx.envelope.time, ctx.settings.tz)
    last_cover = await repository.last_medical_cover(ctx.conn, application.person_id)
    enrolled, _ = await repository.covered_programmes(ctx.conn, application.person_id)
    activated, skipped = [], []
    for activation in activations_for(application, approved_on, last_cover):
        if activation.programme in enrolled:
            skipped.append(activation.programme)  # enrolled meanwhile through another application
            continue
        activated.append(str(await _activate(ctx, application, activation)))
    await repository.set_application_status(ctx.conn, application.application_id, "approved", decided=True)
    await repository.record_transition(
        ctx.conn, "application", application.application_id, from_status=application.status,
        to_status="approved", cause=Cause(event_id=ctx.envelope.id),
        detail={"verified_by": event.verified_by, "enrollments": activated, "already_enrolled": skipped},
    )


async def _activate(ctx: HandlerContext, application: Application, activation: Activation) -> uuid.UUID:
    enrollment = Enrollment(
        enrollment_id=uuid.uuid4(), person_id=application.person_id, application_id=application.application_id,
        region=application.region, programme=activation.programme, base=activation.base,
        frequency=activation.frequency, start_month=activation.start_month, terms_from=activation.start_month,
        status="active", activated_at=ctx.envelope.time, waiting_until=activation.waiting_until,
    )
    await repository.insert_enrollment(ctx.conn, enrollment)
    envelope = await ctx.emit(
        EnrollmentActivated(
            enrollment_id=enrollment.enrollment_id, person_id=enrollment.person_id,
            application_id=enrollment.application_id, region=enrollment.region, programme=enrollment.programme,
            base=enrollment.base, frequency=enrollment.frequency, start_month=str(enrollment.start_month),
            waiting_until=enrollment.waiting_until,
        ),
        subject=str(enrollment.enrollment_id), region=enrollment.region,
    )
    await repository.record_transition(
        ctx.conn, "enrollment", enrollment.enrollment_id, from_status=None, to_status="active",
        cause=Cause(event_id=ctx.envelope.id), event_type=envelope.type, event_id=envelope.id,
        detail={"start_month": str(enrollment.start_month),
                "waiting_until": enrollment.waiting_until.isoformat() if enrollment.waiting_until else None},
    )
    return enrollment.enrollment_id


async def on_documents_rejected(ctx: HandlerContext, event: DocumentsRejected) -> None:
    """Keep the application open, with the rejected materials and reasons for the resident to see."""
    application = await _open_application(ctx, event.application_id)
    if application is None:
        return
    rejected = [material.model_dump(mode="json") for material in event.rejected]
    await repository.set_rejected_materials(ctx.conn, application.application_id, rejected)
    await repository.record_transition(
        ctx.conn, "application", application.application_id, from_status=application.status,
        to_status="awaiting_documents", cause=Cause(event_id=ctx.envelope.id), detail={"rejected": rejected},
    )


async def _open_application(ctx: HandlerContext, application_id: uuid.UUID) -> Application | None:
    """The application, locked, if it is still open; a decided or unknown one is left alone."""
    application = await repository.get_application(ctx.conn, application_id, for_update=True)
    if application is None or application.status not in OPEN_APPLICATION:
        log.info("documents outcome for an application that is not open; ignored", event_type=ctx.envelope.type,
                 application_id=str(application_id), status=application.status if application else None)
        return None
    return application


async def on_payment_overdue(ctx: HandlerContext, event: PaymentOverdue) -> None:
    """At the suspension level, suspend the person's active enrolments of the bill's programmes."""
    if event.level < ctx.settings.enrollment_suspension_level:
        return
    since = suspended_on(event.due_date, event.days_overdue)
    reason = f"payment overdue {event.days_overdue} days (bill {event.bill_id})"
    for enrollment in await repository.enrollments_in(ctx.conn, event.person_id, event.programmes, "active"):
        await repository.suspend_enrollment(ctx.conn, enrollment.enrollment_id, since)
        envelope = await ctx.emit(
            EnrollmentSuspended(enrollment_id=enrollment.enrollment_id, person_id=enrollment.person_id,
                                programme=enrollment.programme, reason=reason, since=since),
            subject=str(enrollment.enrollment_id), region=enrollment.region,
        )
        await repository.record_transition(
            ctx.conn, "enrollment", enrollment.enrollment_id, from_status="active", to_status="suspended",
            cause=Cause(event_id=ctx.envelope.id), event_type=envelope.type, event_id=envelope.id,
            detail={"reason": reason, "since": since.isoformat()},
        )


async def on_arrears_settled(ctx: HandlerContext, event: ArrearsSettled) -> None:
    """Reinstate the person's suspended enrolments of the settled programmes."""
    settled_on = business_date(event.settled_at, ctx.settings.tz)
    for enrollment in await repository.enrollments_in(ctx.conn, event.person_id, event.programmes, "suspended"):
        waiting_until = reinstatement_waiting_until(enrollment, settled_on)
        await repository.reinstate_enrollment(ctx.conn, enrollment.enrollment_id, waiting_until)
        envelope = await ctx.emit(
            EnrollmentReinstated(enrollment_id=enrollment.enrollment_id, person_id=enrollment.person_id,
                                 programme=enrollment.programme, waiting_until=waiting_until),
            subject=str(enrollment.enrollment_id), region=enrollment.region,
        )
        await repository.record_transition(
            ctx.conn, "enrollment", enrollment.enrollment_id, from_status="suspended", to_status="active",
            cause=Cause(event_id=ctx.envelope.id), event_type=envelope.type, event_id=envelope.id,
            detail={"settled_on": settled_on.isoformat(),
                    "waiting_until": waiting_until.isoformat() if waiting_until else None},
        )


HANDLERS: dict[str, Handler] = {
    "PolicyPublished": on_policy_published,
    "DocumentsVerified": on_documents_verified,
    "DocumentsRejected": on_documents_rejected,
    "PaymentOverdue": on_payment_overdue,
    "ArrearsSettled": on_arrears_settled,
}
