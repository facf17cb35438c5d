"""Settings of the enrollment service (environment variables with the ``SHEBAO_`` prefix)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import Settings


class EnrollmentSettings(Settings):
    """The shared knobs plus the overdue level at which coverage is suspended."""

    service: str = "enrollment"
    # DOMAIN.md: "at 90 days overdue (configurable) coverage of that programme is suspended".
    enrollment_suspension_level: int = Field(default=90, ge=1)
