"""Wiring of the notifications service: handlers, routes and jobs on the shared runtime."""

from datetime import timedelta
from pathlib import Path

from services.notifications.api import router
from services.notifications.handlers import HANDLERS
from services.notifications.jobs import delivery_job, reminder_job
from services.notifications.settings import NotificationsSettings
from shared.runtime import PeriodicJob, ServiceDefinition, run_service

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
