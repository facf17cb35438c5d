"""A person's inbox: the notices recorded for them, newest first, with each channel's state."""

from __future__ import annotations

import uuid

from services.notifications import repository
from services.notifications.domain.notices import InboxEntry
from shared.unit_of_work import UnitsOfWork


async def notices_of(units: UnitsOfWork, person_id: uuid.UUID, limit: int) -> list[InboxEntry]:
    async with units.read() as uow:
        return await repository.inbox(uow.conn, person_id, limit)
