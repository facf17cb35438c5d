"""Wiring of the enrollment service: handlers, routes and settings on the shared runtime."""

from pathlib import Path

from services.enrollment.api import router
from services.enrollment.handlers import HANDLERS
from services.enrollment.settings import EnrollmentSettings
from shared.runtime import ServiceDefinition, run_service

SERVICE = ServiceDefinition(
    name="enrollment",
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
    router=router,
    settings_class=EnrollmentSettings,
)


def main() -> None:
    run_service(SERVICE)


if __name__ == "__main__":
    main()
