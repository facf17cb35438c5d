"""A person's preferences: which outside channels, which language, whether to get reminders.
They apply to notices made from the moment they are stored."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from services.notifications import repository
from services.notifications.domain.model import (
    Channel,
    NoEmailAddress,
    Preferences,
    choose_preferences,
    preferences_in_force,
)
from shared.unit_of_work import UnitsOfWork

__all__ = ["NoEmailAddress", "choose", "preferences_of"]


async def preferences_of(units: UnitsOfWork, person_id: uuid.UUID) -> Preferences:
    """What the person chose, or what holds until they choose."""
    async with units.read() as uow:
        return preferences_in_force(await repository.recipient(uow.conn, person_id))


async def choose(
    units: UnitsOfWork, person_id: uuid.UUID, *, channels: Iterable[Channel] | None, language: str | None,
    reminders: bool,
) -> Preferences:
    """Store the person's choice; raises ``NoEmailAddress`` when they name e-mail without an address."""
    async with units.begin() as uow:
        recipient = await repository.recipient(uow.conn, person_id)
        preferences = choose_preferences(recipient, channels=channels, language=language, reminders=reminders)
        await repository.save_preferences(uow.conn, preferences)
    return preferences
