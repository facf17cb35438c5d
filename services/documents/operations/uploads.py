"""Handing in a material: refuse early what the dossier would not take, stream the body into
staged storage, then file it as the material's current version and announce it with
``DocumentReceived``, in one unit of work.

The file is promoted to its content key inside the unit, under a lock on that key; if the
unit fails the file is removed again unless another version uses it, so no row ever points
at a missing file and a failed upload leaves nothing behind.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg
import structlog

from services.documents import domain, repository
from services.documents.adapters.intake import ReceivedFile, receive_file, refuse_oversized_body
from services.documents.adapters.storage import StagedObject, Storage
from services.documents.operations.answers import caller_of, not_found, upload_refused
from services.documents.operations.stored_files import discard_unreferenced
from services.documents.repository import NewDocument
from shared.auth import Principal
from shared.events import DocumentReceived
from shared.periods import now_utc
from shared.unit_of_work import UnitOfWork, UnitsOfWork

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class StoredDocument:
    """An upload filed as the current version of its material."""

    document_id: UUID
    application_id: UUID
    material: str
    version: int
    uploaded_at: datetime
    duplicate: bool
    file: ReceivedFile


async def upload_material(
    units: UnitsOfWork, storage: Storage, *, principal: Principal, application_id: UUID, material: str,
    body: AsyncIterator[bytes], content_type: str | None, content_length: str | None, limit: int,
) -> StoredDocument:
    """Take the ``file`` part of a multipart ``body`` as the new current version of ``material``.

    Refused before the body is read when its declared length is over ``limit`` or the dossier
    would not take the material anyway; while it is read, as soon as it passes ``limit`` or its
    first bytes are not an accepted file type.
    """
    refuse_oversized_body(content_length, limit)
    await check_upload(units, principal, application_id, material)
    staged = await storage.stage()
    try:
        received = await receive_file(body, content_type, staged, limit)
    except BaseException:
        await staged.abort()
        raise
    return await file_document(units, storage, principal=principal, application_id=application_id,
                               material=material, staged=staged, received=received)


async def check_upload(units: UnitsOfWork, principal: Principal, application_id: UUID, material: str) -> None:
    """Refuse an upload before its body is read, when the dossier would not take it anyway."""
    async with units.read() as uow:
        dossier = await repository.dossier(uow.conn, application_id)
        checklist = await repository.checklist_of(uow.conn, application_id) if dossier else []
    _refuse_unless_taken(dossier, checklist, principal, material)


async def file_document(
    units: UnitsOfWork, storage: Storage, *, principal: Principal, application_id: UUID, material: str,
    staged: StagedObject, received: ReceivedFile,
) -> StoredDocument:
    """Make a received upload the current version of its material and emit ``DocumentReceived``."""
    key = storage.key_for(received.sha256)
    try:
        async with units.begin() as uow:
            stored = await _file_in(uow, storage, key, principal, application_id, material, staged, received)
    except BaseException:
        await staged.abort()
        await _discard_after_failure(units, storage, key)
        raise
    log.info("document received", document_id=str(stored.document_id), material=material,
             size=received.size, duplicate=stored.duplicate)
    return stored


async def _file_in(
    uow: UnitOfWork, storage: Storage, key: str, principal: Principal, application_id: UUID, material: str,
    staged: StagedObject, received: ReceivedFile,
) -> StoredDocument:
    dossier = await repository.dossier(uow.conn, application_id, for_update=True)
    _refuse_unless_taken(dossier, await repository.checklist_of(uow.conn, application_id), principal, material)
    await repository.lock_stored_files(uow.conn, [key])
    await storage.promote(staged, key)
    document = NewDocument(
        document_id=uuid.uuid4(), application_id=application_id, material=material,
        person_id=dossier["person_id"], sha256=received.sha256, size=received.size,
        content_type=received.file_type.content_type, storage_key=key, uploaded_by=principal.sub,
        uploaded_at=now_utc(),
    )
    version = await repository.add_document(uow.conn, document)
    duplicate = await repository.shared_with_another_person(uow.conn, received.sha256, dossier["person_id"])
    uow.emit(
        DocumentReceived(document_id=document.document_id, application_id=application_id,
                         person_id=dossier["person_id"], material=material, sha256=received.sha256,
                         size=received.size),
        subject=str(document.document_id), region=dossier["region"],
    )
    return StoredDocument(document.document_id, application_id, material, version, document.uploaded_at,
                          duplicate, received)


def _refuse_unless_taken(dossier: asyncpg.Record | None, checklist: Sequence[str], principal: Principal,
                         material: str) -> None:
    if dossier is None:
        raise not_found("dossier", "path.application_id")
    refusal = domain.upload_refusal(caller_of(principal), applicant=dossier["person_id"],
                                    dossier_status=dossier["status"], material=material, checklist=checklist)
    if refusal is not None:
        raise upload_refused(refusal)


async def _discard_after_failure(units: UnitsOfWork, storage: Storage, key: str) -> None:
    try:
        await discard_unreferenced(units, storage, [key])
    except Exception as error:  # the upload's own error is the one to report; an orphan file is harmless
        log.warning("could not remove the file of a failed upload", error=f"{type(error).__name__}: {error}")
