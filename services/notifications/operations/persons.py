"""What the routes need to know of a person before they answer: the region staff are checked
against."""

from __future__ import annotations

import uuid

from services.notifications import repository
from shared.unit_of_work import UnitsOfWork


async def region_of(units: UnitsOfWork, person_id: uuid.UUID) -> str | None:
    """The person's region (their application's, else their latest enrolment's or notice's);
    None when the service has never heard of them."""
    async with units.read() as uow:
        return await repository.person_region(uow.conn, person_id)
