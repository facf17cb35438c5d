"""Dossiers follow the application they belong to: enrollment's ``ApplicationSubmitted``
opens one with the checklist of its programmes in its region, ``ApplicationWithdrawn`` and
``ApplicationRejected`` close it (no more uploads or reviews; its retention period starts).

These run in the unit of work the inbox consumer opened for the event (submissions: a run of them,
in the unit of the consumer's batch); the event's time is when the dossier opened or closed. A
replayed event changes nothing: a dossier opens once, and only an open dossier closes.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import structlog

from services.documents import domain, repository
from services.documents.domain import DossierStatus, Requirement
from shared.events import ApplicationRejected, ApplicationSubmitted, ApplicationWithdrawn, Envelope
from shared.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)


async def open_dossiers(uow: UnitOfWork, submissions: Sequence[Envelope]) -> None:
    """Open each application's dossier with the materials its programmes need in its region, as of
    the event's time (a run of submissions at once: one look-up of the requirements, one insert each
    for the dossiers and their checklists)."""
    requirements = await repository.requirements(
        uow.conn, [envelope.data.region for envelope in submissions],
        [programme for envelope in submissions for programme in envelope.data.programmes],
    )
    dossiers = [_new_dossier(envelope, requirements) for envelope in submissions]
    opened = await repository.open_dossiers(uow.conn, dossiers)
    for envelope, dossier in zip(submissions, dossiers, strict=True):
        if dossier.application_id in opened:
            log.info("dossier opened", application_id=str(dossier.application_id), materials=list(dossier.materials),
                     **_context(envelope))


def _new_dossier(submission: Envelope, requirements: Sequence[Requirement]) -> repository.NewDossier:
    submitted: ApplicationSubmitted = submission.data
    materials = domain.checklist(submitted.programmes, submitted.region, requirements)
    if not materials:
        log.warning("no materials required; the dossier can never be verified", region=submitted.region,
                    programmes=list(submitted.programmes), **_context(submission))
    return repository.NewDossier(
        application_id=submitted.application_id, person_id=submitted.person_id, region=submitted.region,
        programmes=submitted.programmes, materials=materials, opened_at=submission.time,
    )


def _context(envelope: Envelope) -> dict[str, str]:
    """The ids the consumer puts on the log lines of an event handled alone (a run has no one event)."""
    return {"event_id": str(envelope.id), "correlation_id": str(envelope.correlationid)}


async def close_withdrawn(uow: UnitOfWork, withdrawn: ApplicationWithdrawn) -> None:
    """The resident withdrew the application: its dossier closes as withdrawn."""
    await _close(uow, withdrawn.application_id, DossierStatus.WITHDRAWN)


async def close_rejected(uow: UnitOfWork, rejected: ApplicationRejected) -> None:
    """Enrollment refused the application: it needs no more materials, its dossier closes as rejected."""
    await _close(uow, rejected.application_id, DossierStatus.REJECTED)


async def _close(uow: UnitOfWork, application_id: UUID, status: DossierStatus) -> None:
    closed = await repository.close_dossier(uow.conn, application_id, status=status,
                                            closed_at=uow.origin.occurred_at)
    log.info("dossier closed" if closed else "no open dossier to close", application_id=str(application_id),
             status=str(status))
