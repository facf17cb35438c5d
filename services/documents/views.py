"""How the documents service's answers look: what the operations return, shaped as the JSON
(or the file stream) of each route, and the review queue's opaque page cursor. No database."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi.responses import StreamingResponse

from services.documents.domain import MaterialStatus, file_type_by_content_type
from services.documents.operations.reading import DossierContents, OpenedContent, QueuePage
from services.documents.operations.retention import PurgeReport
from services.documents.operations.reviews import ReviewResult
from services.documents.operations.uploads import StoredDocument
from shared.errors import ApiError

Row = Mapping[str, Any]


def stored_document(stored: StoredDocument) -> dict:
    return {
        "document_id": str(stored.document_id), "application_id": str(stored.application_id),
        "material": stored.material, "version": stored.version, "status": MaterialStatus.RECEIVED,
        "sha256": stored.file.sha256, "size": stored.file.size, "content_type": stored.file.file_type.content_type,
        "uploaded_at": stored.uploaded_at.isoformat(),
    }


# --- a dossier ----------------------------------------------------------------------------------


def dossier(contents: DossierContents) -> dict:
    """Each required material's status (its current version's, or missing) and its versions."""
    row = contents.dossier
    return {
        "application_id": str(row["application_id"]), "person_id": str(row["person_id"]),
        "region": row["region"], "programmes": list(row["programmes"]), "status": row["status"],
        "opened_at": _iso(row["opened_at"]), "closed_at": _iso(row["closed_at"]),
        "verified_by": row["verified_by"], "purged_at": _iso(row["purged_at"]),
        "materials": [_material(material, contents) for material in contents.checklist],
    }


def _material(material: str, contents: DossierContents) -> dict:
    history = [row for row in contents.versions if row["material"] == material]
    current = next((row for row in history if row["is_current"]), None)
    view: dict = {"material": material, "status": current["status"] if current else MaterialStatus.MISSING}
    if current is not None:
        view.update(_version(current, contents.shows_duplicates))
    view["history"] = [_version(row, contents.shows_duplicates) for row in history]
    return view


def _version(row: Row, shows_duplicates: bool) -> dict:
    view = {
        "document_id": str(row["document_id"]), "version": row["version"], "status": row["status"],
        "content_type": row["content_type"], "size": row["size"], "sha256": row["sha256"],
        "uploaded_at": _iso(row["uploaded_at"]), "reason": row["rejection_reason"], "note": row["rejection_note"],
        "reviewed_by": row["reviewed_by"], "reviewed_at": _iso(row["reviewed_at"]),
        "purged": row["purged_at"] is not None,
    }
    if shows_duplicates:
        view["duplicate"] = row["duplicate"]
    return view


# --- a file -------------------------------------------------------------------------------------


def content(opened: OpenedContent) -> StreamingResponse:
    """The file, inline, under a name made of its material and version; never cached or sniffed."""
    file_type = file_type_by_content_type(opened.content_type)
    filename = f"{opened.material}-v{opened.version}.{file_type.extension}"
    return StreamingResponse(
        opened.chunks, media_type=file_type.content_type,
        headers={"Content-Length": str(opened.size), "Content-Disposition": f'inline; filename="{filename}"',
                 "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
    )


# --- review -------------------------------------------------------------------------------------


def review_queue(page: QueuePage) -> dict:
    return {
        "items": [
            {"application_id": str(row["application_id"]), "person_id": str(row["person_id"]),
             "waiting_since": _iso(row["waiting_since"]), "duplicate": row["duplicate"],
             "documents": row["documents"]}
            for row in page.items
        ],
        "next_cursor": encode_cursor(page.items[-1]) if page.more else None,
    }


def encode_cursor(row: Row) -> str:
    """The key of the last dossier of a page, opaque to the client."""
    text = f"{row['waiting_since'].isoformat()}|{row['application_id']}"
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The key a cursor of :func:`encode_cursor` carries; a 422 for anything else."""
    try:
        waiting_since, application_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        at = datetime.fromisoformat(waiting_since)
        if at.tzinfo is None:
            raise ValueError("naive")
        return at, UUID(application_id)
    except ValueError as exc:
        raise ApiError(422, "validation_error",
                       [{"field": "query.cursor", "reason": "not a cursor this API returned"}]) from exc


def review_result(result: ReviewResult) -> dict:
    return {
        "review_id": str(result.review_id), "document_id": str(result.document_id), "status": result.status,
        "reviewed_by": result.reviewer, "reviewed_at": result.reviewed_at.isoformat(),
        "dossier_outcome": result.dossier_outcome,
    }


# --- retention ----------------------------------------------------------------------------------


def purge_report(report: PurgeReport) -> dict:
    return {
        "purge_id": str(report.purge_id), "as_of": report.as_of.isoformat(),
        "closed_on_or_before": report.closed_by.isoformat(), "dossiers": report.dossiers,
        "documents": report.documents, "bytes": report.bytes, "files_deleted": report.files_deleted,
        "dry_run": report.dry_run,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
