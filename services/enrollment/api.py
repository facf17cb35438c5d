"""HTTP routes of the enrollment service: applications, their life, and enrolments.

Routes validate and authorize, ask the domain, store through the repository and write the
events they cause into the outbox in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from typing import Any

import asyncpg
from fastapi import APIRouter, Body, Depends, Request

from services.enrollment import repository
from services.enrollment.domain.coverage import last_month_on_termination, next_unbilled_month, start_month_after
from services.enrollment.domain.eligibility import (
    Applicant,
    ApplicationForm,
    Violation,
    check_identity,
    check_not_already_covered,
    check_pension_age,
    check_programmes,
)
from services.enrollment.domain.lifecycle import TransitionRefused, ensure_application_move, ensure_enrollment_move
from services.enrollment.domain.model import Application, Cause, Enrollment, plan_change
from services.enrollment.domain.policy import policies_in_force
from services.enrollment.views import (
    ApplicationRequest,
    ChangeRequest,
    RejectionRequest,
    SubmittedApplication,
    TerminationRequest,
    application_view,
    enrollment_view,
    transition_view,
)
from shared.auth import Principal, ensure_person_access, forbidden, require_role
from shared.errors import ApiError
from shared.events import (
    ApplicationRejected,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    Contact,
    EnrollmentChanged,
    EnrollmentTerminated,
    EventPayload,
    make_envelope,
)
from shared.identity import person_id_for
from shared.periods import business_date, now_utc
from shared.runtime import ServiceRuntime, get_runtime

router = APIRouter(prefix="/v1", tags=["enrollment"])

PEOPLE = require_role("resident", "caseworker", "admin")
STAFF = require_role("caseworker", "admin")

# --- applications ------------------------------------------------------------------------


@router.post("/applications", status_code=202, response_model=SubmittedApplication)
async def submit_application(
    body: ApplicationRequest, request: Request, principal: Principal = Depends(PEOPLE),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict[str, Any]:
    """Apply for programmes (a resident for themself, or staff of the region on their behalf)."""
    if principal.role != "resident" and principal.region != body.region:
        raise forbidden(f"this token is scoped to region {principal.region}")
    today = _today(runtime)
    form = body.form()
    applicant, violations = check_identity(form, today)
    if applicant is not None:
        ensure_person_access(principal, person_id_for(applicant.resident_id.number))
    async with runtime.pool.acquire() as conn, conn.transaction():
        applicant, violations = await _assess(conn, form, applicant, violations, today)
        if violations:
            raise _refused(violations)
        application = await _store_application(conn, runtime, body, applicant, _cause(request, principal))
    return {"application_id": application.application_id, "person_id": application.person_id,
            "status": application.status}


async def _assess(
    conn: asyncpg.Connection, form: ApplicationForm, applicant: Applicant | None, violations: list[Violation],
    today: date,
) -> tuple[Applicant | None, list[Violation]]:
    """The rules that need the region's policies and the person's record, added to ``violations``.

    Programmes are checked against the policies in force in the earliest month coverage can
    start (the month after today). The person is locked so that two applications at once
    cannot both pass the one-enrolment-per-programme rule.
    """
    policies = policies_in_force(await repository.region_policies(conn, form.region),
                                 start_month_after(today).first_day)
    violations = violations + check_programmes(form, policies)
    if applicant is None:
        return None, violations
    person_id = person_id_for(applicant.resident_id.number)
    await repository.lock_person(conn, person_id)
    recorded = await repository.retirement_category_of(conn, person_id)
    if form.retirement_category is None and recorded is not None:
        applicant = replace(applicant, retirement_category=recorded)
    enrolled, applied_for = await repository.covered_programmes(conn, person_id)
    violations += check_pension_age(applicant, form.programmes, today)
    violations += check_not_already_covered(form.programmes, enrolled, applied_for)
    return applicant, violations


async def _store_application(
    conn: asyncpg.Connection, runtime: ServiceRuntime, body: ApplicationRequest, applicant: Applicant, cause: Cause,
) -> Application:
    """The person (once per ID number), the application and ``ApplicationSubmitted``."""
    person_id = person_id_for(applicant.resident_id.number)
    await repository.save_person(
        conn, person_id, applicant.resident_id, name=body.name.strip(),
        retirement_category=applicant.retirement_category, region=body.region, phone=body.phone,
        email=body.email, language=body.language,
    )
    application = Application(
        application_id=uuid.uuid4(), person_id=person_id, region=body.region, programmes=tuple(body.programmes),
        declared_base=body.declared_base, medical_base=body.medical_base, frequency=body.frequency,
        retirement_category=applicant.retirement_category, status="awaiting_documents", submitted_at=now_utc(),
    )
    await repository.insert_application(conn, application, phone=body.phone, email=body.email,
                                        language=body.language)
    await _record_submission(conn, runtime, application, body, cause)
    return application


async def _record_submission(
    conn: asyncpg.Connection, runtime: ServiceRuntime, application: Application, body: ApplicationRequest,
    cause: Cause,
) -> None:
    event = await _emit(conn, runtime, ApplicationSubmitted(
        application_id=application.application_id, person_id=application.person_id, region=application.region,
        programmes=application.programmes, declared_base=application.declared_base,
        medical_base=application.medical_base, frequency=application.frequency,
        retirement_category=application.retirement_category,
        contact=Contact(phone=body.phone, email=body.email, language=body.language),
    ), subject=application.application_id, region=application.region)
    await repository.record_transition(conn, "application", application.application_id, from_status=None,
                                       to_status="submitted", cause=cause, event_type=event.type, event_id=event.id)
    # Materials are checked by the documents service as soon as it hears of the application.
    await repository.record_transition(conn, "application", application.application_id, from_status="submitted",
                                       to_status="awaiting_documents", cause=cause)


@router.get("/applications/{application_id}")
async def get_application(
    application_id: uuid.UUID, principal: Principal = Depends(PEOPLE), runtime: ServiceRuntime = Depends(get_runtime),
) -> dict[str, Any]:
    """The application, its status and history, and the enrolments it started."""
    async with runtime.pool.acquire() as conn:
        application = await _visible_application(conn, application_id, principal)
        enrollments = await repository.application_enrollments(conn, application_id)
        steps = await repository.history(conn, [application_id, *(e.enrollment_id for e in enrollments)])
    return {
        **application_view(application),
        "history": [transition_view(step) for step in steps[application_id]],
        "enrollments": [enrollment_view(e, steps[e.enrollment_id]) for e in enrollments],
    }


@router.get("/persons/{person_id}/applications")
async def person_applications(
    person_id: uuid.UUID, principal: Principal = Depends(PEOPLE), runtime: ServiceRuntime = Depends(get_runtime),
) -> dict[str, Any]:
    """The person's applications (staff: those of their region), newest first."""
    async with runtime.pool.acquire() as conn:
        region = await _person_region_for(conn, person_id, principal)
        applications = await repository.person_applications(conn, person_id, region)
    return {"person_id": person_id, "applications": [application_view(a) for a in applications]}


@router.post("/applications/{application_id}/withdraw")
async def withdraw_application(
    application_id: uuid.UUID, request: Request, principal: Principal = Depends(PEOPLE),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict[str, Any]:
    """Withdraw an application that has not been decided yet."""
    async with runtime.pool.acquire() as conn, conn.transaction():
        application = await _visible_application(conn, application_id, principal, for_update=True)
        _ensure(ensure_application_move, application.status, "withdrawn")
        await repository.set_application_status(conn, application_id, "withdrawn", decided=True)
        event = await _emit(conn, runtime, ApplicationWithdrawn(
            application_id=application_id, person_id=application.person_id,
        ), subject=application_id, region=application.region)
        await repository.record_transition(conn, "application", application_id, from_status=application.status,
                                           to_status="withdrawn", cause=_cause(request, principal),
                                           event_type=event.type, event_id=event.id)
    return {"application_id": application_id, "status": "withdrawn"}


@router.post("/applications/{application_id}/reject")
async def reject_application(
    application_id: uuid.UUID, body: RejectionRequest, request: Request, principal: Principal = Depends(STAFF),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict[str, Any]:
    """Refuse an undecided application (caseworker or admin of its region), saying why."""
    async with runtime.pool.acquire() as conn, conn.transaction():
        application = await _visible_application(conn, application_id, principal, for_update=True)
        _ensure(ensure_application_move, application.status, "rejected")
        await repository.set_application_status(conn, application_id, "rejected", decided=True,
                                                rejection_reasons=body.reasons)
        event = await _emit(conn, runtime, ApplicationRejected(
            application_id=application_id, person_id=application.person_id, reasons=tuple(body.reasons),
        ), subject=application_id, region=application.region)
        await repository.record_transition(conn, "application", application_id, from_status=application.status,
                                           to_status="rejected", cause=_cause(request, principal),
                                           event_type=event.type, event_id=event.id,
                                           detail={"reasons": body.reasons})
    return {"application_id": application_id, "status": "rejected", "reasons": body.reasons}


# --- enrolments --------------------------------------------------------------------------


@router.get("/persons/{person_id}/enrollments")
async def person_enrollments(
    person_id: uuid.UUID, principal: Principal = Depends(PEOPLE), runtime: ServiceRuntime = Depends(get_runtime),
) -> dict[str, Any]:
    """The person's enrolments with their coverage status and history (staff: their region's)."""
    async with runtime.pool.acquire() as conn:
        region = await _person_region_for(conn, person_id, principal)
        enrollments = await repository.person_enrollments(conn, person_id, region)
        steps = await repository.history(conn, [e.enrollment_id for e in enrollments])
    return {"person_id": person_id,
            "enrollments": [enrollment_view(e, steps[e.enrollment_id]) for e in enrollments]}


@router.patch("/enrollments/{enrollment_id}")
async def change_enrollment(
    enrollment_id: uuid.UUID, request: Request, body: ChangeRequest = Body(...),
    principal: Principal = Depends(PEOPLE), runtime: ServiceRuntime = Depends(get_runtime),
) -> dict[str, Any]:
    """Change the base and/or frequency from the next unbilled month (see ``next_unbilled_month``)."""
    if body.base is None and body.frequency is None:
        raise _refused([Violation("", "required", "give a new base, a new frequency or both")])
    today = _today(runtime)
    async with runtime.pool.acquire() as conn, conn.transaction():
        enrollment = await _visible_enrollment(conn, enrollment_id, principal)
        _ensure(ensure_enrollment_move, enrollment.status, enrollment.status)
        versions = await repository.region_policies(conn, enrollment.region)
        effective = next_unbilled_month(today, enrollment.start_month)
        change, violations = plan_change(enrollment, today, policies_in_force(versions, effective.first_day),
                                         base=body.base, frequency=body.frequency)
        if violations:
            raise _refused(violations)
        await repository.set_enrollment_terms(conn, enrollment_id, change.base, change.frequency,
                                              change.effective_month)
        event = await _emit(conn, runtime, EnrollmentChanged(
            enrollment_id=enrollment_id, person_id=enrollment.person_id, programme=enrollment.programme,
            base=change.base, frequency=change.frequency, effective_month=str(change.effective_month),
        ), subject=enrollment_id, region=enrollment.region)
        await repository.record_transition(
            conn, "enrollment", enrollment_id, from_status=enrollment.status, to_status=enrollment.status,
            cause=_cause(request, principal), event_type=event.type, event_id=event.id,
            detail={"base": str(change.base), "frequency": change.frequency,
                    "effective_month": str(change.effective_month)},
        )
        return await _enrollment_with_history(conn, enrollment_id)


@router.post("/enrollments/{enrollment_id}/terminate")
async def terminate_enrollment(
    enrollment_id: uuid.UUID, request: Request, body: TerminationRequest | None = Body(default=None),
    principal: Principal = Depends(PEOPLE), runtime: ServiceRuntime = Depends(get_runtime),
) -> dict[str, Any]:
    """End an enrolment: the current month is the last covered (a suspended one: its suspension month)."""
    reason = (body or TerminationRequest()).reason
    today = _today(runtime)
    async with runtime.pool.acquire() as conn, conn.transaction():
        enrollment = await _visible_enrollment(conn, enrollment_id, principal)
        _ensure(ensure_enrollment_move, enrollment.status, "terminated")
        last_month = last_month_on_termination(today, enrollment.start_month, enrollment.suspended_since)
        await repository.terminate_enrollment(conn, enrollment_id, last_month)
        event = await _emit(conn, runtime, EnrollmentTerminated(
            enrollment_id=enrollment_id, person_id=enrollment.person_id, programme=enrollment.programme,
            reason=reason, last_month=str(last_month),
        ), subject=enrollment_id, region=enrollment.region)
        await repository.record_transition(
            conn, "enrollment", enrollment_id, from_status=enrollment.status, to_status="terminated",
            cause=_cause(request, principal), event_type=event.type, event_id=event.id,
            detail={"reason": reason, "last_month": str(last_month)},
        )
        return await _enrollment_with_history(conn, enrollment_id)


# --- helpers -----------------------------------------------------------------------------


def _today(runtime: ServiceRuntime) -> date:
    return business_date(now_utc(), runtime.settings.tz)


def _cause(request: Request, principal: Principal) -> Cause:
    return Cause.of_request(request.method, request.url.path, principal.role, principal.sub)


async def _emit(conn: asyncpg.Connection, runtime: ServiceRuntime, payload: EventPayload, *, subject: uuid.UUID,
                region: str):
    envelope = make_envelope(payload, subject=str(subject), region=region)
    await runtime.outbox.add(conn, envelope)
    return envelope


def _refused(violations: list[Violation]) -> ApiError:
    return ApiError(422, "validation_error", [
        {"field": f"body.{v.field}" if v.field else "body", "rule": v.rule, "reason": v.reason}
        for v in violations
    ])


def _ensure(check, current: str, wanted: str) -> None:
    try:
        check(current, wanted)
    except TransitionRefused as refused:
        raise ApiError(409, "conflict", [{"field": "status", "reason": str(refused)}]) from refused


async def _visible_application(
    conn: asyncpg.Connection, application_id: uuid.UUID, principal: Principal, *, for_update: bool = False
) -> Application:
    application = await repository.get_application(conn, application_id, for_update=for_update)
    if application is None:
        raise _not_found("application", application_id)
    ensure_person_access(principal, application.person_id, application.region)
    return application


async def _visible_enrollment(conn: asyncpg.Connection, enrollment_id: uuid.UUID, principal: Principal) -> Enrollment:
    enrollment = await repository.get_enrollment(conn, enrollment_id, for_update=True)
    if enrollment is None:
        raise _not_found("enrollment", enrollment_id)
    ensure_person_access(principal, enrollment.person_id, enrollment.region)
    return enrollment


async def _person_region_for(conn: asyncpg.Connection, person_id: uuid.UUID, principal: Principal) -> str | None:
    """The region whose records ``principal`` may see of this person (None: all, for the person themself)."""
    ensure_person_access(principal, person_id)  # a resident: their own id only
    if not await repository.person_exists(conn, person_id):
        raise _not_found("person", person_id)
    if principal.role == "resident":
        return None
    if principal.region not in await repository.person_regions(conn, person_id):
        raise forbidden(f"the person has no records in region {principal.region}")
    return principal.region


def _not_found(what: str, ident: uuid.UUID) -> ApiError:
    return ApiError(404, "not_found", [{"field": f"path.{what}_id", "reason": f"no {what} {ident}"}])


async def _enrollment_with_history(conn: asyncpg.Connection, enrollment_id: uuid.UUID) -> dict[str, Any]:
    enrollment = await repository.get_enrollment(conn, enrollment_id)
    steps = await repository.history(conn, [enrollment_id])
    return enrollment_view(enrollment, steps[enrollment_id])
