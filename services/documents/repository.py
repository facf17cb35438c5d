"""Every SQL statement of the documents service (asyncpg; the connection's search path is
the service's own schema)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import asyncpg

from services.documents.domain import MaterialState, MaterialStatus, Requirement

# --- requirements and dossiers -----------------------------------------------------------


async def requirements(conn: asyncpg.Connection, regions: Sequence[str], programmes: Sequence[str]
                       ) -> list[Requirement]:
    """The default and ``regions``' own requirement rows for ``programmes``."""
    rows = await conn.fetch(
        """SELECT region, programme, material, required FROM material_requirements
           WHERE (region = '*' OR region = ANY($1::text[])) AND programme = ANY($2::text[])""",
        list(set(regions)), list(set(programmes)),
    )
    return [Requirement(**dict(row)) for row in rows]


@dataclass(frozen=True)
class NewDossier:
    application_id: UUID
    person_id: UUID
    region: str
    programmes: Sequence[str]
    materials: Sequence[str]
    opened_at: datetime


async def open_dossiers(conn: asyncpg.Connection, dossiers: Sequence[NewDossier]) -> set[UUID]:
    """Open dossiers with their checklists; returns the applications whose dossier opened (one that
    already has one is left alone, and of one application given twice the first opens)."""
    first_of_each: dict[UUID, NewDossier] = {}
    for dossier in dossiers:
        first_of_each.setdefault(dossier.application_id, dossier)
    new = list(first_of_each.values())
    rows = await conn.fetch(
        # unnest takes no array of arrays of different lengths: the programme codes (words of a closed
        # list) travel joined by commas
        """INSERT INTO dossiers (application_id, person_id, region, programmes, opened_at)
           SELECT application_id, person_id, region, string_to_array(programmes, ','), opened_at
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[])
                AS d(application_id, person_id, region, programmes, opened_at)
           ON CONFLICT (application_id) DO NOTHING RETURNING application_id""",
        [d.application_id for d in new], [d.person_id for d in new], [d.region for d in new],
        [",".join(d.programmes) for d in new], [d.opened_at for d in new],
    )
    opened = {row["application_id"] for row in rows}
    checklists = [(d.application_id, material) for d in new if d.application_id in opened for material in d.materials]
    if checklists:
        await conn.execute(
            "INSERT INTO dossier_materials (application_id, material) SELECT * FROM unnest($1::uuid[], $2::text[])",
            [application_id for application_id, _ in checklists], [material for _, material in checklists],
        )
    return opened


async def close_dossier(conn: asyncpg.Connection, application_id: UUID, *, status: str, closed_at: datetime) -> bool:
    """Close an open dossier with ``status``; False when it is unknown or already closed."""
    return bool(await conn.fetchval(
        """UPDATE dossiers SET status = $2, closed_at = $3
           WHERE application_id = $1 AND status = 'open' RETURNING true""",
        application_id, status, closed_at,
    ))


async def dossier(conn: asyncpg.Connection, application_id: UUID, *, for_update: bool = False) -> asyncpg.Record | None:
    """The dossier row; ``for_update`` locks it for the rest of the transaction."""
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT * FROM dossiers WHERE application_id = $1{lock}", application_id)


async def checklist_of(conn: asyncpg.Connection, application_id: UUID) -> list[str]:
    """The materials the dossier requires."""
    rows = await conn.fetch("SELECT material FROM dossier_materials WHERE application_id = $1", application_id)
    return [row["material"] for row in rows]


async def verify_dossier(conn: asyncpg.Connection, application_id: UUID, *, verified_by: str, at: datetime) -> None:
    await conn.execute(
        """UPDATE dossiers SET status = 'verified', closed_at = $3, verified_by = $2
           WHERE application_id = $1 AND status = 'open'""",
        application_id, verified_by, at,
    )


# --- documents -----------------------------------------------------------------------------


async def lock_stored_files(conn: asyncpg.Connection, storage_keys: Sequence[str]) -> None:
    """Serialise, until the transaction ends, everyone who stores or deletes these files."""
    await conn.execute(
        """SELECT pg_advisory_xact_lock(k) FROM (
               SELECT DISTINCT hashtextextended('documents.file:' || key, 0) AS k
               FROM unnest($1::text[]) AS key ORDER BY 1) AS keys""",
        list(storage_keys),
    )


@dataclass(frozen=True)
class NewDocument:
    document_id: UUID
    application_id: UUID
    material: str
    person_id: UUID
    sha256: str
    size: int
    content_type: str
    storage_key: str
    uploaded_by: str
    uploaded_at: datetime


async def add_document(conn: asyncpg.Connection, document: NewDocument) -> int:
    """Store a new version of a material and make it the current one; returns its version."""
    version = await conn.fetchval(
        """INSERT INTO documents (document_id, application_id, material, version, person_id, sha256, size,
                                  content_type, storage_key, uploaded_by, uploaded_at)
           SELECT $1, $2, $3, coalesce(max(version), 0) + 1, $4, $5, $6, $7, $8, $9, $10
           FROM documents WHERE application_id = $2 AND material = $3
           RETURNING version""",
        document.document_id, document.application_id, document.material, document.person_id, document.sha256,
        document.size, document.content_type, document.storage_key, document.uploaded_by, document.uploaded_at,
    )
    await conn.execute(
        "UPDATE dossier_materials SET current_document_id = $3 WHERE application_id = $1 AND material = $2",
        document.application_id, document.material, document.document_id,
    )
    return version


async def shared_with_another_person(conn: asyncpg.Connection, sha256: str, person_id: UUID) -> bool:
    """Whether another person has uploaded a file with these exact bytes."""
    return bool(await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM documents WHERE sha256 = $1 AND person_id <> $2)", sha256, person_id,
    ))


async def document(conn: asyncpg.Connection, document_id: UUID) -> asyncpg.Record | None:
    """One version with its dossier's owner, region and status, and whether it is current."""
    return await conn.fetchrow(
        """SELECT d.*, s.region, s.status AS dossier_status,
                  (m.current_document_id = d.document_id) AS is_current
           FROM documents d
           JOIN dossiers s USING (application_id)
           JOIN dossier_materials m USING (application_id, material)
           WHERE d.document_id = $1""",
        document_id,
    )


async def application_of_document(conn: asyncpg.Connection, document_id: UUID) -> UUID | None:
    return await conn.fetchval("SELECT application_id FROM documents WHERE document_id = $1", document_id)


async def record_review(
    conn: asyncpg.Connection, *, review_id: UUID, document_id: UUID, decision: str, status: str,
    reason: str | None, note: str | None, reviewer: str, reviewed_at: datetime,
) -> None:
    """Record a verdict in the review history and on the version itself."""
    await conn.execute(
        """INSERT INTO reviews (review_id, document_id, decision, reason, note, reviewer, reviewed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        review_id, document_id, decision, reason, note, reviewer, reviewed_at,
    )
    await conn.execute(
        """UPDATE documents SET status = $2, rejection_reason = $3, rejection_note = $4,
                                reviewed_by = $5, reviewed_at = $6
           WHERE document_id = $1""",
        document_id, status, reason, note, reviewer, reviewed_at,
    )


async def material_states(conn: asyncpg.Connection, application_id: UUID) -> list[MaterialState]:
    """Each required material with its current version's status (missing without one)."""
    rows = await conn.fetch(
        """SELECT m.material, d.document_id, d.sha256, d.status, d.rejection_reason, d.rejection_note
           FROM dossier_materials m LEFT JOIN documents d ON d.document_id = m.current_document_id
           WHERE m.application_id = $1""",
        application_id,
    )
    return [
        MaterialState(
            material=row["material"],
            status=MaterialStatus(row["status"] or MaterialStatus.MISSING),
            document_id=row["document_id"], sha256=row["sha256"],
            reason=row["rejection_reason"], note=row["rejection_note"],
        )
        for row in rows
    ]


_VERSION_COLUMNS = """d.document_id, d.material, d.version, d.sha256, d.size, d.content_type, d.uploaded_by,
    d.uploaded_at, d.status, d.rejection_reason, d.rejection_note, d.reviewed_by, d.reviewed_at, d.purged_at,
    EXISTS (SELECT 1 FROM documents o WHERE o.sha256 = d.sha256 AND o.person_id <> d.person_id) AS duplicate"""


async def versions(conn: asyncpg.Connection, application_id: UUID) -> list[asyncpg.Record]:
    """Every uploaded version of the dossier's materials, newest first within a material."""
    return await conn.fetch(
        f"""SELECT {_VERSION_COLUMNS}, (m.current_document_id = d.document_id) AS is_current
            FROM documents d JOIN dossier_materials m USING (application_id, material)
            WHERE d.application_id = $1 ORDER BY d.material, d.version DESC""",
        application_id,
    )


# --- the caseworker's queue ----------------------------------------------------------------


async def review_queue(
    conn: asyncpg.Connection, *, region: str, after: tuple[datetime, UUID] | None, limit: int,
) -> list[asyncpg.Record]:
    """Open dossiers of ``region`` with current versions awaiting review, the longest waiting
    first; each row carries its waiting documents as a JSON list. Keyset-paginated."""
    after_at, after_id = after or (None, None)
    return await conn.fetch(
        f"""WITH waiting AS (
                SELECT s.application_id, s.person_id, {_VERSION_COLUMNS}
                FROM dossiers s
                JOIN dossier_materials m USING (application_id)
                JOIN documents d ON d.document_id = m.current_document_id
                WHERE s.region = $1 AND s.status = 'open' AND d.status = 'received'
            )
            SELECT application_id, person_id, min(uploaded_at) AS waiting_since,
                   bool_or(duplicate) AS duplicate,
                   jsonb_agg(jsonb_build_object(
                       'document_id', document_id, 'material', material, 'version', version,
                       'content_type', content_type, 'size', size, 'sha256', sha256,
                       'uploaded_at', uploaded_at, 'duplicate', duplicate) ORDER BY uploaded_at) AS documents
            FROM waiting
            GROUP BY application_id, person_id
            HAVING $2::timestamptz IS NULL OR (min(uploaded_at), application_id) > ($2, $3::uuid)
            ORDER BY waiting_since, application_id
            LIMIT $4""",
        region, after_at, after_id, limit,
    )


# --- reads ------------------------------------------------------------------------------------


async def record_content_read(
    conn: asyncpg.Connection, *, document_id: UUID, application_id: UUID, reader: str, reader_role: str,
    reader_region: str, read_at: datetime,
) -> None:
    await conn.execute(
        """INSERT INTO content_reads (document_id, application_id, reader, reader_role, reader_region, read_at)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        document_id, application_id, reader, reader_role, reader_region, read_at,
    )


# --- retention ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeResult:
    dossiers: int
    documents: int
    bytes: int
    freed_keys: list[str]


async def purge_closed_by(
    conn: asyncpg.Connection, *, closed_by: date, timezone: str, purge_id: UUID, purged_at: datetime,
    region: str | None = None,
) -> PurgeResult:
    """Tombstone every dossier (of ``region``, or all) closed on or before the business date
    ``closed_by`` and its versions: keep ids, hashes, sizes and verdicts; drop storage keys and
    free-text notes. Returns what was freed."""
    row = await conn.fetchrow(
        """WITH due AS (
               UPDATE dossiers SET purged_at = $3, purge_id = $4
               WHERE purged_at IS NULL AND closed_at IS NOT NULL
                 AND (closed_at AT TIME ZONE $2)::date <= $1
                 AND ($5::text IS NULL OR region = $5)
               RETURNING application_id
           ), gone AS (
               UPDATE documents d SET purged_at = $3, storage_key = NULL, rejection_note = NULL
               FROM documents old JOIN due USING (application_id)
               WHERE d.document_id = old.document_id AND old.purged_at IS NULL
               RETURNING d.document_id, d.size, old.storage_key AS old_key
           ), notes AS (  -- a caseworker's free text may describe the material's content
               UPDATE reviews r SET note = NULL FROM gone WHERE r.document_id = gone.document_id
           )
           SELECT (SELECT count(*) FROM due) AS dossiers, count(*) AS documents,
                  coalesce(sum(size), 0)::bigint AS bytes, coalesce(array_agg(DISTINCT old_key), '{}') AS keys
           FROM gone""",
        closed_by, timezone, purged_at, purge_id, region,
    )
    return PurgeResult(row["dossiers"], row["documents"], row["bytes"], list(row["keys"]))


async def referenced_keys(conn: asyncpg.Connection, storage_keys: Sequence[str]) -> set[str]:
    """Those of ``storage_keys`` some unpurged version still points at."""
    rows = await conn.fetch(
        "SELECT DISTINCT storage_key FROM documents WHERE storage_key = ANY($1::text[])", list(storage_keys),
    )
    return {row["storage_key"] for row in rows}


async def record_purge(
    conn: asyncpg.Connection, *, purge_id: UUID, as_of: date, closed_by: date, ran_by: str, ran_at: datetime,
    result: PurgeResult,
) -> None:
    await conn.execute(
        """INSERT INTO purges (purge_id, as_of, closed_by, ran_by, ran_at, dossiers, documents, bytes)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        purge_id, as_of, closed_by, ran_by, ran_at, result.dossiers, result.documents, result.bytes,
    )


async def record_files_deleted(conn: asyncpg.Connection, purge_id: UUID, files_deleted: int) -> None:
    await conn.execute("UPDATE purges SET files_deleted = $2 WHERE purge_id = $1", purge_id, files_deleted)
