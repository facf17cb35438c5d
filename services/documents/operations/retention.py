"""The retention purge: the materials of every dossier closed ``retention_years`` or more
before a business date are purged, leaving tombstones and a record of the run.

The rows become tombstones first (committed with the purge record in one unit of work), then
the files no version points at any more are deleted: a crash in between leaves orphan files,
never a row pointing at a missing file. Running it again for the same date purges nothing
more, and one run at a time goes on across replicas (the daily job and the operators' route
share the lock). An operator's run covers their region; a dry run reports what would be purged
(dossiers, versions, bytes) and changes nothing, on disk or in the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from uuid import UUID

import structlog

from services.documents import domain, repository
from services.documents.adapters.storage import Storage
from services.documents.operations.stored_files import discard_unreferenced
from shared.periods import now_utc
from shared.rehearsal import rehearse
from shared.unit_of_work import UnitsOfWork

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PurgeReport:
    purge_id: UUID
    as_of: date
    closed_by: date
    dossiers: int
    documents: int
    bytes: int
    files_deleted: int
    dry_run: bool = False


async def purge_expired(units: UnitsOfWork, storage: Storage, *, as_of: date, retention_years: int,
                        timezone: str, ran_by: str, region: str | None = None,
                        dry_run: bool = False) -> PurgeReport:
    """Purge the materials of every dossier (of ``region``, or all) closed on or before the
    retention cutoff of ``as_of`` (business dates in ``timezone``); ``ran_by`` is recorded with
    the run. A dry run reports the same figures (no file deleted) and changes nothing."""
    if dry_run:
        return await _rehearse_purge(units, as_of=as_of, retention_years=retention_years, timezone=timezone,
                                     region=region)
    closed_by = domain.retention_cutoff(as_of, retention_years)
    purge_id = uuid.uuid4()
    async with units.exclusive("retention-purge"):
        async with units.begin() as uow:
            result = await repository.purge_closed_by(uow.conn, closed_by=closed_by, timezone=timezone,
                                                      purge_id=purge_id, purged_at=now_utc(), region=region)
            await repository.record_purge(uow.conn, purge_id=purge_id, as_of=as_of, closed_by=closed_by,
                                          ran_by=ran_by, ran_at=now_utc(), result=result)
        files_deleted = await discard_unreferenced(units, storage, result.freed_keys)
        async with units.begin() as uow:
            await repository.record_files_deleted(uow.conn, purge_id, files_deleted)
    log.info("retention purge", as_of=as_of.isoformat(), dossiers=result.dossiers, documents=result.documents,
             files_deleted=files_deleted)
    return PurgeReport(purge_id, as_of, closed_by, result.dossiers, result.documents, result.bytes, files_deleted)


async def _rehearse_purge(units: UnitsOfWork, *, as_of: date, retention_years: int, timezone: str,
                          region: str | None) -> PurgeReport:
    closed_by = domain.retention_cutoff(as_of, retention_years)
    purge_id = uuid.uuid4()
    async with rehearse(units) as rehearsal, rehearsal.begin() as uow:
        result = await repository.purge_closed_by(uow.conn, closed_by=closed_by, timezone=timezone,
                                                  purge_id=purge_id, purged_at=now_utc(), region=region)
    return PurgeReport(purge_id, as_of, closed_by, result.dossiers, result.documents, result.bytes, 0, dry_run=True)
