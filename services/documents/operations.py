"""What the documents service does on request: file a received upload, record a review,
open a file for reading (audited), purge materials past retention. Routes and the daily
job call these; each change and the events it causes commit in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import asyncpg
import structlog

from services.documents import domain, repository
from services.documents.domain import DossierStatus, ReviewDecision
from services.documents.intake import ReceivedFile
from services.documents.repository import NewDocument
from services.documents.storage import ObjectMissing, StagedObject, Storage
from shared.auth import Principal, forbidden
from shared.errors import ApiError
from shared.events import DocumentReceived, make_envelope
from shared.outbox import Outbox
from shared.periods import now_utc

log = structlog.get_logger(__name__)

PURGE_BATCH = 500


def _now() -> datetime:
    return now_utc()


def not_found(what: str, field: str) -> ApiError:
    return ApiError(404, f"{what}_not_found", [{"field": field, "reason": f"no such {what}"}])


# --- uploads ------------------------------------------------------------------------------


def upload_refusal(dossier: asyncpg.Record | None, checklist: Sequence[str], principal: Principal,
                   application_id: UUID, material: str) -> ApiError | None:
    """Why ``principal`` may not upload ``material`` to this dossier now, or None."""
    if dossier is None:
        return not_found("dossier", "path.application_id")
    if principal.role != "resident" or principal.sub != str(dossier["person_id"]):
        return forbidden("only the applicant uploads materials to a dossier")
    if dossier["status"] != DossierStatus.OPEN:
        return ApiError(409, "dossier_closed",
                        [{"field": "path.application_id", "reason": f"the dossier is {dossier['status']}"}])
    if material not in checklist:
        return ApiError(422, "material_not_required",
                        [{"field": "path.material",
                          "reason": f"this application needs only {', '.join(checklist) or 'nothing'}"}])
    return None


async def check_upload(pool: asyncpg.Pool, principal: Principal, application_id: UUID, material: str) -> None:
    """Refuse an upload before its body is read, when the dossier would not take it anyway."""
    async with pool.acquire() as conn:
        dossier = await repository.dossier(conn, application_id)
        checklist = await repository.checklist_of(conn, application_id) if dossier else []
    refusal = upload_refusal(dossier, checklist, principal, application_id, material)
    if refusal is not None:
        raise refusal


@dataclass(frozen=True)
class StoredDocument:
    document_id: UUID
    version: int
    uploaded_at: datetime
    duplicate: bool


async def file_document(
    pool: asyncpg.Pool, outbox: Outbox, storage: Storage, *, principal: Principal, application_id: UUID,
    material: str, staged: StagedObject, received: ReceivedFile,
) -> StoredDocument:
    """Make a received upload the current version of its material and emit DocumentReceived.

    The file is promoted to its content key inside the transaction, under a lock on that key;
    if the transaction fails the file is removed again unless another version uses it, so no
    row ever points at a missing file and a failed upload leaves nothing behind.
    """
    key = storage.key_for(received.sha256)
    async with pool.acquire() as conn:
        try:
            async with conn.transaction():
                stored = await _file_in(conn, outbox, storage, key, principal, application_id, material,
                                        staged, received)
        except BaseException:
            await staged.abort()
            await _discard_after_failure(conn, storage, key)
            raise
    log.info("document received", document_id=str(stored.document_id), material=material,
             size=received.size, duplicate=stored.duplicate)
    return stored


async def _discard_after_failure(conn: asyncpg.Connection, storage: Storage, key: str) -> None:
    try:
        await discard_unreferenced(conn, storage, [key])
    except Exception as error:  # the upload's own error is the one to report; an orphan file is harmless
        log.warning("could not remove the file of a failed upload", error=f"{type(error).__name__}: {error}")


async def _file_in(
    conn: asyncpg.Connection, outbox: Outbox, storage: Storage, key: str, principal: Principal,
    application_id: UUID, material: str, staged: StagedObject, received: ReceivedFile,
) -> StoredDocument:
    dossier = await repository.dossier(conn, application_id, for_update=True)
    refusal = upload_refusal(dossier, await repository.checklist_of(conn, application_id), principal,
                             application_id, material)
    if refusal is not None:
        raise refusal
    await repository.lock_stored_files(conn, [key])
    await storage.promote(staged, key)
    document = NewDocument(
        document_id=uuid.uuid4(), application_id=application_id, material=material,
        person_id=dossier["person_id"], sha256=received.sha256, size=received.size,
        content_type=received.file_type.content_type, storage_key=key, uploaded_by=principal.sub,
        uploaded_at=_now(),
    )
    version = await repository.add_document(conn, document)
    duplicate = await repository.shared_with_another_person(conn, received.sha256, dossier["person_id"])
    event = DocumentReceived(document_id=document.document_id, application_id=application_id,
                             person_id=dossier["person_id"], material=material, sha256=received.sha256,
                             size=received.size)
    await outbox.add(conn, make_envelope(event, subject=str(document.document_id), region=dossier["region"]))
    return StoredDocument(document.document_id, version, document.uploaded_at, duplicate)


async def discard_unreferenced(conn: asyncpg.Connection, storage: Storage, keys: Sequence[str]) -> int:
    """Delete the files under ``keys`` that no version points at any more; returns how many.

    Under the same per-file lock an upload holds while it promotes and records a file, so a
    file is never deleted between another upload's promote and its commit.
    """
    deleted = 0
    keys = sorted(set(keys))
    for start in range(0, len(keys), PURGE_BATCH):
        batch = keys[start:start + PURGE_BATCH]
        async with conn.transaction():
            await repository.lock_stored_files(conn, batch)
            still_used = await repository.referenced_keys(conn, batch)
            for key in batch:
                if key not in still_used and await storage.exists(key):
                    await storage.delete(key)
                    deleted += 1
    return deleted


# --- reviews --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewResult:
    review_id: UUID
    document_id: UUID
    status: str
    reviewed_at: datetime
    dossier_outcome: str | None  # "verified", "rejected" or None while review goes on


async def review_document(
    pool: asyncpg.Pool, outbox: Outbox, *, principal: Principal, document_id: UUID, decision: ReviewDecision,
) -> ReviewResult:
    """Record a caseworker's verdict; emit DocumentsVerified when it completes the dossier,
    DocumentsRejected (with every rejected material) when it rejects one."""
    async with pool.acquire() as conn, conn.transaction():
        application_id = await repository.application_of_document(conn, document_id)
        if application_id is None:
            raise not_found("document", "path.document_id")
        dossier = await repository.dossier(conn, application_id, for_update=True)  # one verdict at a time
        document = await repository.document(conn, document_id)
        if document["region"] != principal.region:
            raise forbidden(f"this token is scoped to region {principal.region}")
        refusal = domain.review_refusal(dossier_status=dossier["status"], is_current=document["is_current"],
                                        document_status=document["status"])
        if refusal is not None:
            raise ApiError(409, "not_reviewable", [{"field": "path.document_id", "reason": refusal}])
        result = ReviewResult(uuid.uuid4(), document_id, decision.resulting_status, _now(), None)
        await repository.record_review(
            conn, review_id=result.review_id, document_id=document_id, decision=decision.decision,
            status=result.status, reason=decision.reason, note=decision.note, reviewer=principal.sub,
            reviewed_at=result.reviewed_at,
        )
        outcome = domain.outcome_of_review(decision, await repository.material_states(conn, application_id))
        if outcome is None:
            return result
        if isinstance(outcome, domain.Verified):
            await repository.verify_dossier(conn, application_id, verified_by=principal.sub, at=result.reviewed_at)
            event = domain.documents_verified(application_id, dossier["person_id"], outcome, principal.sub)
        else:
            event = domain.documents_rejected(application_id, dossier["person_id"], outcome)
        await outbox.add(conn, make_envelope(event, subject=str(application_id), region=dossier["region"]))
    log.info("dossier decided", application_id=str(application_id), outcome=event.event_type())
    return ReviewResult(result.review_id, document_id, result.status, result.reviewed_at,
                        "verified" if isinstance(outcome, domain.Verified) else "rejected")


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenedContent:
    document: asyncpg.Record
    chunks: AsyncIterator[bytes]


def may_read(principal: Principal, document: asyncpg.Record) -> bool:
    """The owner, or a caseworker of the dossier's region."""
    if principal.role == "resident":
        return principal.sub == str(document["person_id"])
    return principal.role == "caseworker" and principal.region == document["region"]


async def open_content(pool: asyncpg.Pool, storage: Storage, *, principal: Principal,
                       document_id: UUID) -> OpenedContent:
    """Open a version's file for ``principal`` and write the read to the audit table."""
    async with pool.acquire() as conn:
        document = await repository.document(conn, document_id)
        if document is None:
            raise not_found("document", "path.document_id")
        if not may_read(principal, document):
            raise forbidden("only the applicant or a caseworker of the region reads a material")
        if document["purged_at"] is not None:
            raise ApiError(410, "document_purged",
                           [{"field": "path.document_id", "reason": "purged after its retention period"}])
        try:
            chunks = await storage.open(document["storage_key"])
        except ObjectMissing as exc:
            raise ApiError(410, "document_purged", [{"field": "path.document_id", "reason": "file gone"}]) from exc
        await repository.record_content_read(
            conn, document_id=document_id, application_id=document["application_id"], reader=principal.sub,
            reader_role=principal.role, reader_region=principal.region, read_at=_now(),
        )
    return OpenedContent(document, chunks)


# --- retention ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeReport:
    purge_id: UUID
    as_of: date
    closed_by: date
    dossiers: int
    documents: int
    bytes: int
    files_deleted: int


async def purge_expired(pool: asyncpg.Pool, storage: Storage, *, as_of: date, retention_years: int,
                        timezone: str, ran_by: str) -> PurgeReport:
    """Purge the materials of every dossier closed ``retention_years`` or more before ``as_of``.

    The rows become tombstones first (committed with the purge record), then the files no
    version points at any more are deleted: a crash in between leaves orphan files, never a
    row pointing at a missing file. Running it again for the same date purges nothing more.
    """
    closed_by = domain.retention_cutoff(as_of, retention_years)
    purge_id = uuid.uuid4()
    async with pool.acquire() as conn:
        async with conn.transaction():
            result = await repository.purge_closed_by(conn, closed_by=closed_by, timezone=timezone,
                                                      purge_id=purge_id, purged_at=_now())
            await repository.record_purge(conn, purge_id=purge_id, as_of=as_of, closed_by=closed_by,
                                          ran_by=ran_by, ran_at=_now(), result=result)
        files_deleted = await discard_unreferenced(conn, storage, result.freed_keys)
        await repository.record_files_deleted(conn, purge_id, files_deleted)
    log.info("retention purge", as_of=as_of.isoformat(), dossiers=result.dossiers, documents=result.documents,
             files_deleted=files_deleted)
    return PurgeReport(purge_id, as_of, closed_by, result.dossiers, result.documents, result.bytes, files_deleted)
