"""How the documents service answers a caller: who the caller is in the domain's words, and
each refusal as the HTTP error the API has always answered with (status, code and field)."""

from __future__ import annotations

from services.documents.domain import Caller, UploadRefusal, UploadRule
from shared.auth import Principal, forbidden
from shared.errors import ApiError


def caller_of(principal: Principal) -> Caller:
    """The authenticated caller as the domain's rules see them."""
    return Caller(role=principal.role, id=principal.sub, region=principal.region)


def not_found(what: str, field: str) -> ApiError:
    return ApiError(404, f"{what}_not_found", [{"field": field, "reason": f"no such {what}"}])


def upload_refused(refusal: UploadRefusal) -> ApiError:
    """403 for someone else's dossier, 409 for a closed one, 422 for a material not on its checklist."""
    if refusal.rule is UploadRule.NOT_THE_APPLICANT:
        return forbidden(refusal.reason)
    if refusal.rule is UploadRule.DOSSIER_CLOSED:
        return ApiError(409, "dossier_closed", [{"field": "path.application_id", "reason": refusal.reason}])
    return ApiError(422, "material_not_required", [{"field": "path.material", "reason": refusal.reason}])


def not_reviewable(reason: str) -> ApiError:
    return ApiError(409, "not_reviewable", [{"field": "path.document_id", "reason": reason}])


def purged(reason: str) -> ApiError:
    return ApiError(410, "document_purged", [{"field": "path.document_id", "reason": reason}])
