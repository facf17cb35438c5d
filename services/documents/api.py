"""HTTP routes of the documents service: dossiers, uploads, file reads, the caseworker's
review queue and verdicts, and the retention purge for operators.

Each route authorizes by role, calls one operation and renders its answer with ``views``;
rules that need the dossier (whose it is, whether it is open) are the operations' to apply.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from services.documents import views
from services.documents.operations import reading, retention, reviews, uploads
from shared.auth import Principal, authorize_job_run, require_role
from shared.events import Material, RejectionReason
from shared.jobs import JobRun
from shared.runtime import ServiceRuntime, get_runtime
from shared.wire import WireUuid

router = APIRouter(prefix="/v1", tags=["documents"])

Runtime = Annotated[ServiceRuntime, Depends(get_runtime)]


async def get_storage(runtime: Runtime) -> Any:
    """The file store the wiring attached to the running service (``app.attach_storage``)."""
    return runtime.documents_storage


FileStore = Annotated[Any, Depends(get_storage)]


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


# the body is read as a stream (adapters/intake.py), so the form is described here rather than by parameters
@router.put("/dossiers/{application_id}/materials/{material}", status_code=201, openapi_extra=_FILE_FORM)
async def upload_material(
    application_id: WireUuid, material: Material, request: Request, runtime: Runtime, storage: FileStore,
    principal: Principal = Depends(require_role("resident")),
) -> dict:
    """The applicant hands in one material (multipart, part ``file``): JPEG, PNG or PDF by its
    bytes, at most the configured size. A second upload replaces the current version."""
    stored = await uploads.upload_material(
        runtime.units, storage, principal=principal, application_id=application_id, material=material,
        body=request.stream(), content_type=request.headers.get("content-type"),
        content_length=request.headers.get("content-length"), limit=runtime.settings.documents_max_upload_bytes,
    )
    return views.stored_document(stored)


@router.get("/dossiers/{application_id}")
async def get_dossier(
    application_id: WireUuid, runtime: Runtime,
    principal: Principal = Depends(require_role("resident", "caseworker", "admin")),
) -> dict:
    """Each required material's status (missing, received, approved, rejected with reason)
    and its versions."""
    contents = await reading.dossier(runtime.units, principal=principal, application_id=application_id)
    return views.dossier(contents)


# --- reading a file -------------------------------------------------------------------------


@router.get("/documents/{document_id}/content")
async def read_content(
    document_id: WireUuid, runtime: Runtime, storage: FileStore,
    principal: Principal = Depends(require_role("resident", "caseworker")),
) -> StreamingResponse:
    """The file of one version, to its owner or a caseworker of the region; every read is audited."""
    opened = await reading.open_content(runtime.units, storage, principal=principal, document_id=document_id)
    return views.content(opened)


# --- review -----------------------------------------------------------------------------------


@router.get("/review-queue")
async def review_queue(
    runtime: Runtime, principal: Principal = Depends(require_role("caseworker")),
    limit: Annotated[int, Query(ge=1, le=100)] = 20, cursor: str | None = None,
) -> dict:
    """Dossiers of the caseworker's region with materials waiting for review, oldest first."""
    after = views.decode_cursor(cursor) if cursor else None
    page = await reading.review_queue(runtime.units, region=principal.region, after=after, limit=limit)
    return views.review_queue(page)


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    reason: RejectionReason | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None


@router.post("/documents/{document_id}/review")
async def review_document(
    document_id: WireUuid, body: ReviewRequest, runtime: Runtime,
    principal: Principal = Depends(require_role("caseworker")),
) -> dict:
    """Approve a version, or reject it with a reason (``other`` needs a note)."""
    result = await reviews.review_document(runtime.units, principal=principal, document_id=document_id,
                                           decision=body.decision, reason=body.reason, note=body.note)
    return views.review_result(result)


# --- operations ---------------------------------------------------------------------------------


@router.post("/ops/retention-purge")
async def retention_purge(
    body: JobRun, runtime: Runtime, storage: FileStore, principal: Principal = Depends(require_role("ops")),
) -> dict:
    """Purge the materials past retention on ``as_of`` in the caller's region (the job the service
    runs daily). ``dry_run`` reports what would be purged and changes nothing."""
    settings = runtime.settings
    region = authorize_job_run(body, principal, settings)
    report = await retention.purge_expired(
        runtime.units, storage, as_of=body.as_of, retention_years=settings.documents_retention_years,
        timezone=settings.timezone, ran_by=principal.sub, region=region, dry_run=body.dry_run,
    )
    return views.purge_report(report)
