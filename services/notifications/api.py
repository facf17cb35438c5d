"""HTTP routes of the notifications service: a person's inbox and preferences, and the
operators' reminder scan. Each route checks who may ask, calls one operation and renders
its answer (``views``)."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, field_validator

from services.notifications.operations import inbox, persons, preferences, reminders
from services.notifications.views import (
    InboxOut,
    PreferencesOut,
    ReminderScanOut,
    inbox_out,
    preferences_out,
    reminder_scan_out,
)
from shared.auth import Principal, authorize_job_run, ensure_person_access, require_role
from shared.errors import ApiError
from shared.jobs import JobRun
from shared.runtime import ServiceRuntime, get_runtime
from shared.wire import WireUuid

router = APIRouter(prefix="/v1", tags=["notifications"])

PERSON_ROLES = ("resident", "caseworker", "admin")


class PreferencesIn(BaseModel):
    """Outside channels wanted (the inbox is always on), language, and whether to get reminders.
    Receipts and overdue notices cannot be switched off: they go to every reachable channel."""

    model_config = ConfigDict(extra="forbid")

    # None: every channel we can reach the person on
    channels: list[Literal["inbox", "sms", "email"]] | None = None
    language: Literal["zh-CN", "en"] | None = None
    reminders: bool = True
    receipts: bool = True
    overdue_notices: bool = True
    loss_of_cover_notices: bool = True

    @field_validator("receipts", "overdue_notices", "loss_of_cover_notices")
    @classmethod
    def _always_on(cls, value: bool) -> bool:
        if not value:
            raise ValueError("receipts, overdue notices and notices of suspended or ended cover cannot be switched "
                             "off; the channels chosen decide only how they reach you")
        return value


@router.get("/persons/{person_id}/notifications", response_model=InboxOut)
async def list_notifications(
    person_id: WireUuid,
    limit: int = Query(50, ge=1, le=200),
    principal: Principal = Depends(require_role(*PERSON_ROLES)),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> InboxOut:
    """The person's notices, newest first, with the text and each channel's status."""
    await _authorize(runtime, principal, person_id)
    return inbox_out(person_id, await inbox.notices_of(runtime.units, person_id, limit))


@router.get("/persons/{person_id}/preferences", response_model=PreferencesOut)
async def get_preferences(
    person_id: WireUuid,
    principal: Principal = Depends(require_role(*PERSON_ROLES)),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> PreferencesOut:
    """What the person chose, or the defaults (every reachable channel, reminders on)."""
    await _authorize(runtime, principal, person_id)
    return preferences_out(await preferences.preferences_of(runtime.units, person_id))


@router.put("/persons/{person_id}/preferences", response_model=PreferencesOut)
async def put_preferences(
    person_id: WireUuid,
    body: PreferencesIn,
    principal: Principal = Depends(require_role(*PERSON_ROLES)),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> PreferencesOut:
    """Choose channels, language and reminders; applies to notices made from now on."""
    await _authorize(runtime, principal, person_id)
    try:
        chosen = await preferences.choose(runtime.units, person_id, channels=body.channels,
                                          language=body.language, reminders=body.reminders)
    except preferences.NoEmailAddress as refused:
        raise ApiError(422, "validation_error", [{"field": "body.channels", "reason": str(refused)}]) from None
    return preferences_out(chosen)


@router.post("/ops/reminder-scan", response_model=ReminderScanOut)
async def post_reminder_scan(
    body: JobRun,
    principal: Principal = Depends(require_role("ops")),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> ReminderScanOut:
    """The daily due-date reminders for business date ``as_of`` in the caller's region; running it
    again adds nothing. ``dry_run`` counts them and records nothing."""
    region = authorize_job_run(body, principal, runtime.settings)
    created = await reminders.scan(runtime.units, body.as_of, region, dry_run=body.dry_run)
    return reminder_scan_out(body.as_of, created, dry_run=body.dry_run)


async def _authorize(runtime: ServiceRuntime, principal: Principal, person_id: uuid.UUID) -> None:
    """Residents reach their own records; staff those of persons in their region."""
    if principal.role == "resident":
        ensure_person_access(principal, person_id)
        return
    region = await persons.region_of(runtime.units, person_id)
    if region is None:
        raise ApiError(404, "person_not_found", [{"field": "path.person_id", "reason": "no such person here"}])
    ensure_person_access(principal, person_id, region)
