"""Applications: submit one, withdraw or reject an undecided one, read them.

A submission is refused with every broken rule at once and stores nothing. The person is
locked while their application is assessed and stored, so that two applications at once
cannot both pass the one-enrolment-per-programme rule. Each change emits its event with
the application as subject and its region as the event's region.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, tzinfo

import asyncpg

from services.enrollment import repository
from services.enrollment.domain.eligibility import (
    Applicant,
    ApplicationForm,
    Violation,
    assess_application,
    check_identity,
    policies_for_application,
)
from services.enrollment.domain.lifecycle import ensure_application_move
from services.enrollment.domain.model import Application, Cause
from services.enrollment.operations.common import (
    ApplicationRecord,
    Authorize,
    EnrollmentRecord,
    NotFound,
    Refused,
    a_step,
    business_today,
    record_step,
    visible_region,
)
from shared.events import ApplicationRejected, ApplicationSubmitted, ApplicationWithdrawn, Contact
from shared.periods import now_utc
from shared.unit_of_work import CHANGED_MEANWHILE, ChangedMeanwhile, UnitOfWork, UnitsOfWork, at_once_else_locked


async def submit(
    units: UnitsOfWork, form: ApplicationForm, contact: Contact, *, tz: tzinfo, authorize: Authorize, cause: Cause,
) -> Application:
    """Assess ``form`` and store the person and the application, awaiting documents: by one
    statement that checks the person is still as read (``_submit_at_once``), or, when the person
    kept changing under it, in a transaction holding the person's lock.

    The caller is authorized for the person behind a valid ID number before anything is read.
    """
    today = business_today(tz)
    identity = check_identity(form, today)
    applicant = identity[0]
    if applicant is not None:
        authorize(applicant.person_id, None)
    return await at_once_else_locked(lambda: _submit_at_once(units, form, contact, identity, today, cause),
                                     lambda: _submit_locked(units, form, contact, identity, today, cause))


_Identity = tuple[Applicant | None, list[Violation]]


async def _submit_at_once(units: UnitsOfWork, form: ApplicationForm, contact: Contact, identity: _Identity,
                          today: date, cause: Cause) -> Application | ChangedMeanwhile:
    """Read the person without a lock and assess the application, then write it in one statement
    that takes the person's lock and writes only if the person is still as read
    (``repository.INSERT_CHECKED_CTES``).

    The application's connection is held for that one round trip instead of six (BEGIN, the lock,
    the person's record, the application, the outbox, COMMIT), each a pass through the event loop.
    """
    applicant = identity[0]
    async with units.lookup() as reading:
        versions, record, state = await repository.read_applicant(
            reading.conn, form.region, applicant.person_id if applicant else None)
    applicant, violations = assess_application(form, *identity, policies=policies_for_application(versions, today),
                                                record=record, today=today)
    if violations:
        raise Refused(violations)
    async with units.at_once() as uow:
        application, arguments = _new(uow, form, contact, applicant, cause)
        row = await uow.write(repository.INSERT_CHECKED_CTES, repository.INSERT_CHECKED_RESULT,
                              repository.checked_arguments(arguments, applicant.person_id, state), gate="application")
    return application if row["written"] else CHANGED_MEANWHILE


async def _submit_locked(units: UnitsOfWork, form: ApplicationForm, contact: Contact, identity: _Identity,
                         today: date, cause: Cause) -> Application:
    """The application in a transaction that takes the person's lock before reading their record
    (after ``_submit_at_once`` lost to other writers: so the ID number is valid, or it was refused)."""
    applicant, identity_violations = identity
    if applicant is None:  # an ID number that is not valid (``check_identity``): refused, as at once
        raise Refused(identity_violations)
    async with units.begin() as uow:
        versions = await repository.lock_person_reading_policies(uow.conn, applicant.person_id, form.region)
        record = await repository.person_record(uow.conn, applicant.person_id)
        applicant, violations = assess_application(
            form, *identity, policies=policies_for_application(versions, today), record=record, today=today)
        if violations:
            raise Refused(violations)
        application, arguments = _new(uow, form, contact, applicant, cause)
        await repository.insert_application(uow.conn, arguments)
    return application


def _new(uow: UnitOfWork, form: ApplicationForm, contact: Contact, applicant: Applicant,
         cause: Cause) -> tuple[Application, list]:
    """The application, awaiting documents, with ``ApplicationSubmitted`` emitted; the arguments of
    the statement storing the person (once per ID number), the application and its first steps
    (``repository.application_arguments``)."""
    application = Application(
        application_id=uuid.uuid4(), person_id=applicant.person_id, region=form.region, programmes=form.programmes,
        declared_base=form.declared_base, medical_base=form.medical_base, frequency=form.frequency,
        retirement_category=applicant.retirement_category, status="awaiting_documents", submitted_at=now_utc(),
    )
    submitted = uow.emit(ApplicationSubmitted(
        application_id=application.application_id, person_id=application.person_id, region=application.region,
        programmes=application.programmes, declared_base=application.declared_base,
        medical_base=application.medical_base, frequency=application.frequency,
        retirement_category=application.retirement_category, contact=contact,
    ), subject=application.application_id, region=application.region)
    steps = [
        a_step("application", application.application_id, from_status=None, to_status="submitted", cause=cause,
               event=submitted),
        # Materials are checked by the documents service as soon as it hears of the application.
        a_step("application", application.application_id, from_status="submitted", to_status="awaiting_documents",
               cause=cause),
    ]
    return application, repository.application_arguments(
        applicant, form.name.strip(), application, steps, phone=contact.phone, email=contact.email,
        language=contact.language)


async def withdraw(units: UnitsOfWork, application_id: uuid.UUID, *, authorize: Authorize,
                   cause: Cause) -> Application:
    """Withdraw an application that has not been decided yet: ``ApplicationWithdrawn``."""
    async with units.begin() as uow:
        application = await _to_decide(uow, application_id, "withdrawn", authorize)
        await repository.set_application_status(uow.conn, application_id, "withdrawn", decided=True)
        withdrawn = uow.emit(ApplicationWithdrawn(application_id=application_id, person_id=application.person_id),
                             subject=application_id, region=application.region)
        await record_step(uow, "application", application_id, from_status=application.status,
                          to_status="withdrawn", cause=cause, event=withdrawn)
    return replace(application, status="withdrawn")


async def reject(units: UnitsOfWork, application_id: uuid.UUID, reasons: Sequence[str], *, authorize: Authorize,
                 cause: Cause) -> Application:
    """Refuse an undecided application, saying why: ``ApplicationRejected``."""
    async with units.begin() as uow:
        application = await _to_decide(uow, application_id, "rejected", authorize)
        await repository.set_application_status(uow.conn, application_id, "rejected", decided=True,
                                                rejection_reasons=reasons)
        rejected = uow.emit(ApplicationRejected(
            application_id=application_id, person_id=application.person_id, reasons=tuple(reasons),
        ), subject=application_id, region=application.region)
        await record_step(uow, "application", application_id, from_status=application.status,
                          to_status="rejected", cause=cause, event=rejected, detail={"reasons": list(reasons)})
    return replace(application, status="rejected", rejection_reasons=tuple(reasons))


async def _to_decide(uow: UnitOfWork, application_id: uuid.UUID, decision: str, authorize: Authorize) -> Application:
    """The application, locked, once the caller may reach it and the state machine allows ``decision``."""
    application = await _visible(uow.conn, application_id, authorize, for_update=True)
    ensure_application_move(application.status, decision)
    return application


async def _visible(conn: asyncpg.Connection, application_id: uuid.UUID, authorize: Authorize, *,
                   for_update: bool = False) -> Application:
    application = await repository.get_application(conn, application_id, for_update=for_update)
    if application is None:
        raise NotFound("application", application_id)
    authorize(application.person_id, application.region)
    return application


# --- reads -------------------------------------------------------------------------------


async def application_with_history(units: UnitsOfWork, application_id: uuid.UUID, *,
                                   authorize: Authorize) -> ApplicationRecord:
    """The application, its history and the enrolments it started (each with its history)."""
    async with units.read() as uow:
        application = await _visible(uow.conn, application_id, authorize)
        enrollments = await repository.application_enrollments(uow.conn, application_id)
        steps = await repository.history(uow.conn, [application_id, *(e.enrollment_id for e in enrollments)])
    return ApplicationRecord(application, steps[application_id],
                             [EnrollmentRecord(e, steps[e.enrollment_id]) for e in enrollments])


async def person_applications(units: UnitsOfWork, person_id: uuid.UUID, *, region: str | None) -> list[Application]:
    """The person's applications, newest first: of ``region`` only for staff of that region
    (``NotInRegion`` if there are none), all of them for the person themself (``region`` None)."""
    async with units.read() as uow:
        await visible_region(uow.conn, person_id, region)
        return await repository.person_applications(uow.conn, person_id, region)
