"""Reactions of the documents service to enrollment's events: a submitted application opens
its dossier with its checklist; a withdrawn or rejected one closes it. Each handler runs in
the unit of work the inbox consumer opened for the event and calls one operation; submissions
come a run of consecutive events at a time (``@batch_handler``)."""

from __future__ import annotations

from services.documents.operations import dossiers
from shared.events import ApplicationRejected, ApplicationSubmitted, ApplicationWithdrawn, Envelope
from shared.handlers import HandlerTable, batch_handler
from shared.unit_of_work import UnitOfWork


@batch_handler
async def on_applications_submitted(uow: UnitOfWork, submissions: list[Envelope]) -> None:
    await dossiers.open_dossiers(uow, submissions)


async def on_application_withdrawn(uow: UnitOfWork, event: ApplicationWithdrawn) -> None:
    await dossiers.close_withdrawn(uow, event)


async def on_application_rejected(uow: UnitOfWork, event: ApplicationRejected) -> None:
    await dossiers.close_rejected(uow, event)


HANDLERS: HandlerTable = {
    ApplicationSubmitted: on_applications_submitted,
    ApplicationWithdrawn: on_application_withdrawn,
    ApplicationRejected: on_application_rejected,
}
