"""Reactions of the documents service to enrollment's events: a submitted application
opens a dossier with its checklist; a withdrawn or rejected one closes it."""

from __future__ import annotations

import structlog

from services.documents import domain, repository
from services.documents.domain import DossierStatus
from shared.consumer import Handler, HandlerContext
from shared.events import ApplicationRejected, ApplicationSubmitted, ApplicationWithdrawn

log = structlog.get_logger(__name__)


async def on_application_submitted(ctx: HandlerContext, event: ApplicationSubmitted) -> None:
    """Open the application's dossier with the materials its programmes need in its region."""
    requirements = await repository.requirements(ctx.conn, event.region, event.programmes)
    materials = domain.checklist(event.programmes, event.region, requirements)
    if not materials:
        log.warning("no materials required; the dossier can never be verified", region=event.region,
                    programmes=list(event.programmes))
    opened = await repository.open_dossier(
        ctx.conn, application_id=event.application_id, person_id=event.person_id, region=event.region,
        programmes=event.programmes, materials=materials, opened_at=ctx.envelope.time,
    )
    if opened:
        log.info("dossier opened", application_id=str(event.application_id), materials=list(materials))


async def on_application_withdrawn(ctx: HandlerContext, event: ApplicationWithdrawn) -> None:
    """Close the dossier: no more uploads or reviews; its retention period starts."""
    await _close(ctx, event.application_id, DossierStatus.WITHDRAWN)


async def on_application_rejected(ctx: HandlerContext, event: ApplicationRejected) -> None:
    """An application refused by enrollment needs no more materials; close its dossier."""
    await _close(ctx, event.application_id, DossierStatus.REJECTED)


async def _close(ctx: HandlerContext, application_id, status: DossierStatus) -> None:
    closed = await repository.close_dossier(ctx.conn, application_id, status=status, closed_at=ctx.envelope.time)
    log.info("dossier closed" if closed else "no open dossier to close", application_id=str(application_id),
             status=str(status))


HANDLERS: dict[str, Handler] = {
    "ApplicationSubmitted": on_application_submitted,
    "ApplicationWithdrawn": on_application_withdrawn,
    "ApplicationRejected": on_application_rejected,
}
