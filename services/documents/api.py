"""HTTP routes of the documents service (its issue adds the domain routes)."""

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["documents"])
