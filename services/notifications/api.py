"""HTTP routes of the notifications service (its issue adds the domain routes)."""

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["notifications"])
