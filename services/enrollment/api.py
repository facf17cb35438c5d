"""HTTP routes of the enrollment service: applications, their life, and enrolments.

A route authorizes the caller, calls one operation and renders its answer (``views``). The
caller's access rule goes to the operation as ``authorize`` (asked once the person and region
of the record are known); the operations' refusals become the API's errors here:
``Refused`` → 422 ``validation_error`` naming each field and rule, ``TransitionRefused`` → 409
``conflict``, ``NotFound`` → 404 ``not_found``, ``NotInRegion`` → 403 ``forbidden``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from fastapi import APIRouter, Body, Depends, Request

from services.enrollment.domain.lifecycle import TransitionRefused
from services.enrollment.domain.model import Cause
from services.enrollment.operations import applications, enrollments
from services.enrollment.operations.common import Authorize, NotFound, NotInRegion, Refused
from services.enrollment.views import (
    ApplicationRequest,
    ChangeRequest,
    RejectionRequest,
    SubmittedApplication,
    TerminationRequest,
    application_record_view,
    enrollment_record_view,
    person_applications_view,
    person_enrollments_view,
    rejected_view,
    submitted_view,
    withdrawn_view,
)
from shared.auth import Principal, ensure_person_access, forbidden, require_role
from shared.errors import ApiError
from shared.runtime import ServiceRuntime, get_runtime
from shared.wire import WireUuid

router = APIRouter(prefix="/v1", tags=["enrollment"])

PEOPLE = require_role("resident", "caseworker", "admin")
STAFF = require_role("caseworker", "admin")

# --- applications ------------------------------------------------------------------------


@router.post("/applications", status_code=202, response_model=SubmittedApplication)
async def submit_application(
    body: ApplicationRequest, request: Request, principal: Principal = Depends(PEOPLE),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict[str, Any]:
    """Apply for programmes (a resident for themself, or staff of the region on their behalf), in a
    region this deployment serves."""
    if not runtime.settings.serves(body.region):
        raise ApiError(422, "validation_error", [{"field": "body.region", "rule": "region_not_served",
                                                  "reason": f"this deployment serves region "
                                                            f"{', '.join(runtime.settings.served_regions)}"}])
    if principal.role != "resident" and principal.region != body.region:
        raise forbidden(f"this token is scoped to region {principal.region}")
    with _refusals_answered():
        application = await applications.submit(
            runtime.units, body.form(), body.contact(), tz=runtime.settings.tz, authorize=_access(principal),
            cause=_cause(request, principal),
        )
    return submitted_view(application)


@router.get("/applications/{application_id}")
async def get_application(
    application_id: WireUuid, principal: Principal = Depends(PEOPLE), runtime: ServiceRuntime = Depends(get_runtime),
) -> dict[str, Any]:
    """The application, its status and history, and the enrolments it started."""
    with _refusals_answered():
        record = await applications.application_with_history(runtime.units, application_id,
                                                             authorize=_access(principal))
    return application_record_view(record)


@router.get("/persons/{person_id}/applications")
async def person_applications(
    person_id: WireUuid, principal: Principal = Depends(PEOPLE), runtime: ServiceRuntime = Depends(get_runtime),
) -> dict[str, Any]:
    """The person's applications (staff: those of their region), newest first."""
    with _refusals_answered():
        found = await applications.person_applications(runtime.units, person_id,
                                                       region=_region_seen(principal, person_id))
    return person_applications_view(person_id, found)


@router.post("/applications/{application_id}/withdraw")
async def withdraw_application(
    application_id: WireUuid, request: Request, principal: Principal = Depends(PEOPLE),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict[str, Any]:
    """Withdraw an application that has not been decided yet."""
    with _refusals_answered():
        application = await applications.withdraw(runtime.units, application_id, authorize=_access(principal),
                                                  cause=_cause(request, principal))
    return withdrawn_view(application)


@router.post("/applications/{application_id}/reject")
async def reject_application(
    application_id: WireUuid, body: RejectionRequest, request: Request, principal: Principal = Depends(STAFF),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> dict[str, Any]:
    """Refuse an undecided application (caseworker or admin of its region), saying why."""
    with _refusals_answered():
        application = await applications.reject(runtime.units, application_id, body.reasons,
                                                authorize=_access(principal), cause=_cause(request, principal))
    return rejected_view(application)


# --- enrolments --------------------------------------------------------------------------


@router.get("/persons/{person_id}/enrollments")
async def person_enrollments(
    person_id: WireUuid, principal: Principal = Depends(PEOPLE), runtime: ServiceRuntime = Depends(get_runtime),
) -> dict[str, Any]:
    """The person's enrolments with their coverage status and history (staff: their region's)."""
    with _refusals_answered():
        found = await enrollments.person_enrollments(runtime.units, person_id,
                                                     region=_region_seen(principal, person_id))
    return person_enrollments_view(person_id, found)


@router.patch("/enrollments/{enrollment_id}")
async def change_enrollment(
    enrollment_id: WireUuid, request: Request, body: ChangeRequest = Body(...),
    principal: Principal = Depends(PEOPLE), runtime: ServiceRuntime = Depends(get_runtime),
) -> dict[str, Any]:
    """Change the base and/or frequency from the next unbilled month (see ``next_unbilled_month``)."""
    with _refusals_answered():
        record = await enrollments.change_terms(
            runtime.units, enrollment_id, base=body.base, frequency=body.frequency, tz=runtime.settings.tz,
            authorize=_access(principal), cause=_cause(request, principal),
        )
    return enrollment_record_view(record)


@router.post("/enrollments/{enrollment_id}/terminate")
async def terminate_enrollment(
    enrollment_id: WireUuid, request: Request, body: TerminationRequest | None = Body(default=None),
    principal: Principal = Depends(PEOPLE), runtime: ServiceRuntime = Depends(get_runtime),
) -> dict[str, Any]:
    """End an enrolment: the current month is the last covered (a suspended one: its suspension month)."""
    with _refusals_answered():
        record = await enrollments.terminate(
            runtime.units, enrollment_id, reason=(body or TerminationRequest()).reason, tz=runtime.settings.tz,
            authorize=_access(principal), cause=_cause(request, principal),
        )
    return enrollment_record_view(record)


# --- helpers -----------------------------------------------------------------------------


def _access(principal: Principal) -> Authorize:
    """The caller's access rule: their own records (a resident), their region's (staff); else 403."""
    return partial(ensure_person_access, principal)


def _region_seen(principal: Principal, person_id: uuid.UUID) -> str | None:
    """The region whose records of the person ``principal`` may see (None: all, for the person themself)."""
    ensure_person_access(principal, person_id)  # a resident: their own id only
    return None if principal.role == "resident" else principal.region


def _cause(request: Request, principal: Principal) -> Cause:
    return Cause.of_request(request.method, request.url.path, principal.role, principal.sub)


@contextmanager
def _refusals_answered() -> Iterator[None]:
    """The operations' refusals, as the API answers them."""
    try:
        yield
    except Refused as refused:
        raise ApiError(422, "validation_error", [
            {"field": f"body.{v.field}" if v.field else "body", "rule": v.rule, "reason": v.reason}
            for v in refused.violations
        ]) from refused
    except TransitionRefused as refused:
        raise ApiError(409, "conflict", [{"field": "status", "reason": str(refused)}]) from refused
    except NotFound as missing:
        raise ApiError(404, "not_found", [{"field": f"path.{missing.what}_id",
                                           "reason": f"no {missing.what} {missing.ident}"}]) from missing
    except NotInRegion as elsewhere:
        raise forbidden(str(elsewhere)) from elsewhere
