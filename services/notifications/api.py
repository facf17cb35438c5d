"""HTTP routes of the notifications service: a person's inbox and preferences, and the
operators' reminder scan."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

import asyncpg
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, field_validator

from services.notifications import repository
from services.notifications.domain import EMAIL, INBOX, SMS, Preferences, reachable_channels
from services.notifications.jobs import reminder_scan
from shared.auth import Principal, ensure_person_access, require_role
from shared.errors import ApiError
from shared.runtime import ServiceRuntime, get_runtime

router = APIRouter(prefix="/v1", tags=["notifications"])

PERSON_ROLES = ("resident", "caseworker", "admin")


class DeliveryOut(BaseModel):
    channel: str
    status: Literal["pending", "sending", "delivered", "failed"]
    attempts: int
    error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


class NotificationOut(BaseModel):
    notification_id: uuid.UUID
    template: str
    caused_by: uuid.UUID
    language: str
    title: str
    text: str
    created_at: datetime
    deliveries: list[DeliveryOut]


class InboxOut(BaseModel):
    person_id: uuid.UUID
    notifications: list[NotificationOut]


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

    @field_validator("receipts", "overdue_notices")
    @classmethod
    def _always_on(cls, value: bool) -> bool:
        if not value:
            raise ValueError("receipts and overdue notices cannot be switched off")
        return value


class PreferencesOut(BaseModel):
    person_id: uuid.UUID
    channels: list[str]
    language: str | None
    reminders: bool
    receipts: bool = True
    overdue_notices: bool = True


class ReminderScanIn(BaseModel):
    as_of: date


class ReminderScanOut(BaseModel):
    as_of: date
    reminders: int


@router.get("/persons/{person_id}/notifications", response_model=InboxOut)
async def list_notifications(
    person_id: uuid.UUID,
    limit: int = Query(50, ge=1, le=200),
    principal: Principal = Depends(require_role(*PERSON_ROLES)),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> InboxOut:
    """The person's notices, newest first, with the text and each channel's status."""
    async with runtime.pool.acquire() as conn:
        await _authorize(conn, principal, person_id)
        rows = await repository.inbox(conn, person_id, limit)
    return InboxOut(person_id=person_id, notifications=[
        NotificationOut(notification_id=row["notification_id"], template=row["template"],
                        caused_by=row["caused_by"], language=row["language"], title=row["title"],
                        text=row["body"], created_at=row["created_at"], deliveries=row["deliveries"] or [])
        for row in rows
    ])


@router.get("/persons/{person_id}/preferences", response_model=PreferencesOut)
async def get_preferences(
    person_id: uuid.UUID,
    principal: Principal = Depends(require_role(*PERSON_ROLES)),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> PreferencesOut:
    """What the person chose, or the defaults (every reachable channel, reminders on)."""
    async with runtime.pool.acquire() as conn:
        await _authorize(conn, principal, person_id)
        recipient = await repository.recipient(conn, person_id)
    if recipient.preferences is None:
        return PreferencesOut(person_id=person_id, channels=[INBOX, *reachable_channels(recipient.contact)],
                              language=None, reminders=True)
    return _preferences_out(recipient.preferences)


@router.put("/persons/{person_id}/preferences", response_model=PreferencesOut)
async def put_preferences(
    person_id: uuid.UUID,
    body: PreferencesIn,
    principal: Principal = Depends(require_role(*PERSON_ROLES)),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> PreferencesOut:
    """Choose channels, language and reminders; applies to notices made from now on."""
    async with runtime.pool.acquire() as conn, conn.transaction():
        await _authorize(conn, principal, person_id)
        contact = await repository.contact(conn, person_id)
        chosen = [SMS, EMAIL] if body.channels is None else [c for c in body.channels if c != INBOX]
        if body.channels is not None and EMAIL in chosen and contact is not None and not contact.email:
            raise ApiError(422, "validation_error", [
                {"field": "body.channels", "reason": "no e-mail address on record for this person"}])
        preferences = Preferences(person_id, frozenset(chosen), body.language, body.reminders)
        await repository.save_preferences(conn, preferences)
    return _preferences_out(preferences)


@router.post("/ops/reminder-scan", response_model=ReminderScanOut)
async def post_reminder_scan(
    body: ReminderScanIn,
    principal: Principal = Depends(require_role("ops")),
    runtime: ServiceRuntime = Depends(get_runtime),
) -> ReminderScanOut:
    """The daily due-date reminders for business date ``as_of``; running it again adds nothing."""
    return ReminderScanOut(as_of=body.as_of, reminders=await reminder_scan(runtime, body.as_of))


async def _authorize(conn: asyncpg.Connection, principal: Principal, person_id: uuid.UUID) -> None:
    """Residents reach their own records; staff those of persons in their region."""
    if principal.role == "resident":
        ensure_person_access(principal, person_id)
        return
    region = await repository.person_region(conn, person_id)
    if region is None:
        raise ApiError(404, "person_not_found", [{"field": "path.person_id", "reason": "no such person here"}])
    ensure_person_access(principal, person_id, region)


def _preferences_out(preferences: Preferences) -> PreferencesOut:
    channels = [INBOX, *sorted(preferences.channels, key=[SMS, EMAIL].index)]
    return PreferencesOut(person_id=preferences.person_id, channels=channels, language=preferences.language,
                          reminders=preferences.reminders)
