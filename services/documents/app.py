"""Wiring of the documents service: handlers, routes, settings and the daily retention purge."""

from datetime import timedelta
from pathlib import Path

from services.documents import operations
from services.documents.api import router
from services.documents.handlers import HANDLERS
from services.documents.settings import DocumentsSettings
from services.documents.storage import storage_of
from shared.periods import business_date, now_utc
from shared.runtime import PeriodicJob, ServiceDefinition, ServiceRuntime, run_service


async def purge_past_retention(runtime: ServiceRuntime) -> None:
    """The daily job: purge what is past retention on today's business date."""
    settings = runtime.settings
    await operations.purge_expired(
        runtime.pool, storage_of(runtime), as_of=business_date(now_utc(), settings.tz),
        retention_years=settings.documents_retention_years, timezone=settings.timezone, ran_by="scheduler",
    )


SERVICE = ServiceDefinition(
    name="documents",
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
    router=router,
    jobs=[PeriodicJob("retention-purge", timedelta(days=1), purge_past_retention)],
    settings_class=DocumentsSettings,
)


def main() -> None:
    run_service(SERVICE)


if __name__ == "__main__":
    main()
