"""Wiring of the documents service: handlers, routes, settings, the file store and the daily
retention purge."""

from datetime import timedelta
from pathlib import Path

from services.documents.adapters.storage import storage_from_settings
from services.documents.api import router
from services.documents.handlers import HANDLERS
from services.documents.operations import retention
from services.documents.settings import DocumentsSettings
from shared.periods import business_date, now_utc
from shared.runtime import PeriodicJob, ServiceDefinition, ServiceRuntime, run_service


async def attach_storage(runtime: ServiceRuntime) -> None:
    """Give the running service its file store (``runtime.documents_storage``), as configured."""
    runtime.documents_storage = storage_from_settings(runtime.settings)


async def purge_past_retention(runtime: ServiceRuntime) -> None:
    """The daily job: purge what is past retention on today's business date."""
    settings = runtime.settings
    await retention.purge_expired(
        runtime.units, runtime.documents_storage, as_of=business_date(now_utc(), settings.tz),
        retention_years=settings.documents_retention_years, timezone=settings.timezone, ran_by="scheduler",
    )


SERVICE = ServiceDefinition(
    name="documents",
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
    router=router,
    jobs=[PeriodicJob("retention-purge", timedelta(days=1), purge_past_retention)],
    on_start=attach_storage,
    settings_class=DocumentsSettings,
)


def main() -> None:
    run_service(SERVICE)


if __name__ == "__main__":
    main()
