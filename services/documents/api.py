"""HTTP routes of the documents service: dossiers, uploads, file reads, the caseworker's
review queue and verdicts, and the retention purge for operators."""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from services.documents import operations, repository
from services.documents.domain import MATERIALS, MaterialStatus, ReviewDecision, file_type_by_content_type
from services.documents.intake import receive_file, refuse_oversized_body
from services.documents.storage import storage_of
from shared.auth import Principal, ensure_person_access, require_role
from shared.errors import ApiError
from shared.events import Material, RejectionReason
from shared.runtime import ServiceRuntime, get_runtime

router = APIRouter(prefix="/v1", tags=["documents"])

Runtime = Annotated[ServiceRuntime, Depends(get_runtime)]


# --- dossiers and uploads -----------------------------------------------------------------


_FILE_FORM = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary", "description": "JPEG, PNG or PDF"}},
        }}},
    },
}


# the body is read as a stream (see intake.py), so the form is described here rather than by parameters
@router.put("/dossiers/{application_id}/materials/{material}", status_code=201, openapi_extra=_FILE_FORM)
async def upload_material(
    application_id: UUID, material: Material, request: Request, runtime: Runtime,
    principal: Principal = Depends(require_role("resident")),
) -> dict:
    """The applicant hands in one material (multipart, part ``file``): JPEG, PNG or PDF by its
    bytes, at most the configured size. A second upload replaces the current version."""
    limit = runtime.settings.documents_max_upload_bytes
    refuse_oversized_body(request.headers.get("content-length"), limit)
    await operations.check_upload(runtime.pool, principal, application_id, material)
    storage = storage_of(runtime)
    staged = await storage.stage()
    try:
        received = await receive_file(request.stream(), request.headers.get("content-type"), staged, limit)
    except BaseException:
        await staged.abort()
        raise
    stored = await operations.file_document(
        runtime.pool, runtime.outbox, storage, principal=principal, application_id=application_id,
        material=material, staged=staged, received=received,
    )
    return {
        "document_id": str(stored.document_id), "application_id": str(application_id), "material": material,
        "version": stored.version, "status": MaterialStatus.RECEIVED, "sha256": received.sha256,
        "size": received.size, "content_type": received.file_type.content_type,
        "uploaded_at": stored.uploaded_at.isoformat(),
    }


@router.get("/dossiers/{application_id}")
async def get_dossier(
    application_id: UUID, runtime: Runtime,
    principal: Principal = Depends(require_role("resident", "caseworker", "admin")),
) -> dict:
    """Each required material's status (missing, received, approved, rejected with reason)
    and its versions."""
    async with runtime.pool.acquire() as conn:
        dossier = await repository.dossier(conn, application_id)
        if dossier is None:
            raise operations.not_found("dossier", "path.application_id")
        ensure_person_access(principal, dossier["person_id"], dossier["region"])
        checklist = await repository.checklist_of(conn, application_id)
        versions = await repository.versions(conn, application_id)
    staff = principal.role != "resident"
    return {
        "application_id": str(application_id), "person_id": str(dossier["person_id"]),
        "region": dossier["region"], "programmes": list(dossier["programmes"]), "status": dossier["status"],
        "opened_at": _iso(dossier["opened_at"]), "closed_at": _iso(dossier["closed_at"]),
        "verified_by": dossier["verified_by"], "purged_at": _iso(dossier["purged_at"]),
        "materials": [_material_view(material, versions, staff) for material in _ordered(checklist)],
    }


def _ordered(checklist: list[str]) -> list[str]:
    return [material for material in MATERIALS if material in checklist]


def _material_view(material: str, versions: list, staff: bool) -> dict:
    history = [row for row in versions if row["material"] == material]
    current = next((row for row in history if row["is_current"]), None)
    view: dict = {"material": material, "status": current["status"] if current else MaterialStatus.MISSING}
    if current is not None:
        view.update(_version_view(current, staff))
    view["history"] = [_version_view(row, staff) for row in history]
    return view


def _version_view(row, staff: bool) -> dict:
    view = {
        "document_id": str(row["document_id"]), "version": row["version"], "status": row["status"],
        "content_type": row["content_type"], "size": row["size"], "sha256": row["sha256"],
        "uploaded_at": _iso(row["uploaded_at"]), "reason": row["rejection_reason"], "note": row["rejection_note"],
        "reviewed_by": row["reviewed_by"], "reviewed_at": _iso(row["reviewed_at"]),
        "purged": row["purged_at"] is not None,
    }
    if staff:  # a hint for the caseworker, not an accusation shown to the resident
        view["duplicate"] = row["duplicate"]
    return view


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- reading a file -------------------------------------------------------------------------


@router.get("/documents/{document_id}/content")
async def read_content(
    document_id: UUID, runtime: Runtime, principal: Principal = Depends(require_role("resident", "caseworker")),
) -> StreamingResponse:
    """The file of one version, to its owner or a caseworker of the region; every read is audited."""
    opened = await operations.open_content(runtime.pool, storage_of(runtime), principal=principal,
                                           document_id=document_id)
    document = opened.document
    file_type = file_type_by_content_type(document["content_type"])
    filename = f"{document['material']}-v{document['version']}.{file_type.extension}"
    return StreamingResponse(
        opened.chunks, media_type=file_type.content_type,
        headers={"Content-Length": str(document["size"]), "Content-Disposition": f'inline; filename="{filename}"',
                 "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
    )


# --- review -----------------------------------------------------------------------------------


@router.get("/review-queue")
async def review_queue(
    runtime: Runtime, principal: Principal = Depends(require_role("caseworker")),
    limit: Annotated[int, Query(ge=1, le=100)] = 20, cursor: str | None = None,
) -> dict:
    """Dossiers of the caseworker's region with materials waiting for review, oldest first."""
    after = _decode_cursor(cursor) if cursor else None
    async with runtime.pool.acquire() as conn:
        rows = await repository.review_queue(conn, region=principal.region, after=after, limit=limit + 1)
    page = rows[:limit]
    return {
        "items": [
            {"application_id": str(row["application_id"]), "person_id": str(row["person_id"]),
             "waiting_since": _iso(row["waiting_since"]), "duplicate": row["duplicate"],
             "documents": row["documents"]}
            for row in page
        ],
        "next_cursor": _encode_cursor(page[-1]) if len(rows) > limit else None,
    }


def _encode_cursor(row) -> str:
    text = f"{row['waiting_since'].isoformat()}|{row['application_id']}"
    return base64.urlsafe_b64encode(text.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        waiting_since, application_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        at = datetime.fromisoformat(waiting_since)
        if at.tzinfo is None:
            raise ValueError("naive")
        return at, UUID(application_id)
    except ValueError as exc:
        raise ApiError(422, "validation_error",
                       [{"field": "query.cursor", "reason": "not a cursor this API returned"}]) from exc


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    reason: RejectionReason | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None


@router.post("/documents/{document_id}/review")
async def review_document(
    document_id: UUID, body: ReviewRequest, runtime: Runtime,
    principal: Principal = Depends(require_role("caseworker")),
) -> dict:
    """Approve a version, or reject it with a reason (``other`` needs a note)."""
    decision = ReviewDecision(body.decision, body.reason, body.note)
    problems = decision.problems()
    if problems:
        raise ApiError(422, "validation_error", problems)
    result = await operations.review_document(runtime.pool, runtime.outbox, principal=principal,
                                              document_id=document_id, decision=decision)
    return {
        "review_id": str(result.review_id), "document_id": str(document_id), "status": result.status,
        "reviewed_by": principal.sub, "reviewed_at": result.reviewed_at.isoformat(),
        "dossier_outcome": result.dossier_outcome,
    }


# --- operations ---------------------------------------------------------------------------------


class PurgeRequest(BaseModel):
    as_of: date


@router.post("/ops/retention-purge")
async def retention_purge(
    body: PurgeRequest, runtime: Runtime, principal: Principal = Depends(require_role("ops")),
) -> dict:
    """Purge the materials past retention on ``as_of`` (the job the service runs daily)."""
    settings = runtime.settings
    report = await operations.purge_expired(
        runtime.pool, storage_of(runtime), as_of=body.as_of, retention_years=settings.documents_retention_years,
        timezone=settings.timezone, ran_by=principal.sub,
    )
    return {
        "purge_id": str(report.purge_id), "as_of": report.as_of.isoformat(),
        "closed_on_or_before": report.closed_by.isoformat(), "dossiers": report.dossiers,
        "documents": report.documents, "bytes": report.bytes, "files_deleted": report.files_deleted,
    }
