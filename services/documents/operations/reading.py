"""Reading what the service holds: a dossier with every version of its materials, the
caseworker's review queue, and the file of one version (every read of a file is audited).

Queries run in a read-only unit of work, one consistent view each; opening a file writes
its ``content_reads`` row in a unit of its own before the bytes are streamed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from services.documents import domain, repository
from services.documents.adapters.storage import ObjectMissing, Storage
from services.documents.operations.answers import caller_of, not_found, purged
from shared.auth import Principal, ensure_person_access, forbidden
from shared.periods import now_utc
from shared.unit_of_work import UnitsOfWork

Row = Mapping[str, Any]


@dataclass(frozen=True)
class DossierContents:
    """A dossier as one reader may see it: its row, its checklist in DOMAIN.md's order and
    every version of its materials (newest first within a material)."""

    dossier: Row
    checklist: tuple[str, ...]
    versions: Sequence[Row]
    shows_duplicates: bool


async def dossier(units: UnitsOfWork, *, principal: Principal, application_id: UUID) -> DossierContents:
    """The dossier of ``application_id``, to its applicant or staff of its region."""
    async with units.read() as uow:
        found = await repository.dossier(uow.conn, application_id)
        if found is None:
            raise not_found("dossier", "path.application_id")
        ensure_person_access(principal, found["person_id"], found["region"])
        checklist = await repository.checklist_of(uow.conn, application_id)
        versions = await repository.versions(uow.conn, application_id)
    return DossierContents(found, domain.in_checklist_order(checklist), versions,
                           domain.sees_duplicates(caller_of(principal)))


@dataclass(frozen=True)
class QueuePage:
    """Dossiers waiting for review, oldest first; ``more`` when another page follows."""

    items: Sequence[Row]
    more: bool


async def review_queue(units: UnitsOfWork, *, region: str, after: tuple[datetime, UUID] | None,
                       limit: int) -> QueuePage:
    """Open dossiers of ``region`` with versions waiting for a verdict, after the key ``after``."""
    async with units.read() as uow:
        rows = await repository.review_queue(uow.conn, region=region, after=after, limit=limit + 1)
    return QueuePage(rows[:limit], len(rows) > limit)


@dataclass(frozen=True)
class OpenedContent:
    """The file of one version, ready to stream."""

    material: str
    version: int
    content_type: str
    size: int
    chunks: AsyncIterator[bytes]


async def open_content(units: UnitsOfWork, storage: Storage, *, principal: Principal,
                       document_id: UUID) -> OpenedContent:
    """Open a version's file for ``principal`` and write the read to the audit table."""
    async with units.begin() as uow:
        document = await repository.document(uow.conn, document_id)
        if document is None:
            raise not_found("document", "path.document_id")
        if not domain.may_read(caller_of(principal), owner=document["person_id"], region=document["region"]):
            raise forbidden("only the applicant or a caseworker of the region reads a material")
        if document["purged_at"] is not None:
            raise purged("purged after its retention period")
        try:
            chunks = await storage.open(document["storage_key"])
        except ObjectMissing as exc:
            raise purged("file gone") from exc
        await repository.record_content_read(
            uow.conn, document_id=document_id, application_id=document["application_id"], reader=principal.sub,
            reader_role=principal.role, reader_region=principal.region, read_at=now_utc(),
        )
    return OpenedContent(document["material"], document["version"], document["content_type"], document["size"],
                         chunks)
