"""Wiring of the documents service: handlers, routes and jobs on the shared runtime."""

from pathlib import Path

from shared.runtime import ServiceDefinition, run_service
from services.documents.api import router
from services.documents.handlers import HANDLERS

SERVICE = ServiceDefinition(
    name="documents",
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
    router=router,
)


def main() -> None:
    run_service(SERVICE)


if __name__ == "__main__":
    main()
