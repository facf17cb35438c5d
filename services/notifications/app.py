"""Wiring of the notifications service: handlers, routes and the two periodic jobs (the
delivery worker every second, the reminder scan hourly) on the shared runtime."""

from datetime import timedelta
from pathlib import Path

from services.notifications.api import router
from services.notifications.handlers import HANDLERS
from services.notifications.operations import deliveries, reminders
from services.notifications.settings import NotificationsSettings
from shared.runtime import PeriodicJob, ServiceDefinition, ServiceRuntime, run_service


async def delivery_job(runtime: ServiceRuntime) -> None:
    await deliveries.work_through_due(runtime.units, runtime.settings)


async def reminder_job(runtime: ServiceRuntime) -> None:
    await reminders.scan_today(runtime.units, runtime.settings.tz)


SERVICE = ServiceDefinition(
    name="notifications",
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
    router=router,
    jobs=[
        PeriodicJob("notification-deliveries", timedelta(seconds=1), delivery_job),
        PeriodicJob("payment-reminders", timedelta(hours=1), reminder_job),
    ],
    settings_class=NotificationsSettings,
)


def main() -> None:
    run_service(SERVICE)


if __name__ == "__main__":
    main()
