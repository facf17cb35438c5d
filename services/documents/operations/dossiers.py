"""Dossiers follow the application they belong to: enrollment's ``ApplicationSubmitted``
opens one with the checklist of its programmes in its region, ``ApplicationWithdrawn`` and
``ApplicationRejected`` close it (no more uploads or reviews; its retention period starts).

These run in the unit of work the inbox consumer opened for the event; the event's time
(``uow.origin.occurred_at``) is when the dossier opened or closed. A replayed event changes
nothing: a dossier opens once, and only an open dossier closes.
"""

from __future__ import annotations

from uuid import UUID

import structlog

from services.documents import domain, repository
from services.documents.domain import DossierStatus
from shared.events import ApplicationRejected, ApplicationSubmitted, ApplicationWithdrawn
from shared.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)


async def open_dossier(uow: UnitOfWork, submitted: ApplicationSubmitted) -> None:
    """Open the application's dossier with the materials its programmes need in its region."""
    requirements = await repository.requirements(uow.conn, submitted.region, submitted.programmes)
    materials = domain.checklist(submitted.programmes, submitted.region, requirements)
    if not materials:
        log.warning("no materials required; the dossier can never be verified", region=submitted.region,
                    programmes=list(submitted.programmes))
    opened = await repository.open_dossier(
        uow.conn, application_id=submitted.application_id, person_id=submitted.person_id, region=submitted.region,
        programmes=submitted.programmes, materials=materials, opened_at=uow.origin.occurred_at,
    )
    if opened:
        log.info("dossier opened", application_id=str(submitted.application_id), materials=list(materials))


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
