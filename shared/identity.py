"""A person's id is derived from their resident ID number (which is also their social
security number, SIL Art. 58), so every service and the identity provider agree on it
without a lookup, and a resident's token can be issued from the ID they log in with."""

from __future__ import annotations

import uuid

from shared.resident_id import ResidentId, parse_resident_id

PERSON_NAMESPACE = uuid.UUID("6f1c2a0e-5b9d-4c53-9e0b-2f0d7a4c8e11")


def person_id_for(id_number: str) -> uuid.UUID:
    """The stable person id of a valid resident ID number (raises InvalidResidentId otherwise)."""
    return person_id_of(parse_resident_id(id_number))


def person_id_of(resident_id: ResidentId) -> uuid.UUID:
    """The stable person id of an ID number already validated."""
    return uuid.uuid5(PERSON_NAMESPACE, resident_id.number)
