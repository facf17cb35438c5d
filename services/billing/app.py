"""Wiring of the billing service: handlers, routes, the daily jobs and the first-start
announcement of the seeded policies, on the shared runtime."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from services.billing.api import router
from services.billing.handlers import HANDLERS
from services.billing.operations.billing_run import run_billing
from services.billing.operations.overdue import scan_overdue
from services.billing.operations.policies import announce_policies
from services.billing.operations.vouchers import voucher_keys
from services.billing.settings import BillingSettings
from shared.periods import business_date, now_utc
from shared.runtime import PeriodicJob, ServiceDefinition, ServiceRuntime, run_service


async def on_start(runtime: ServiceRuntime) -> None:
    voucher_keys(runtime.settings)  # a bad voucher key stops the service at start, not at the first payment
    await announce_policies(runtime)


async def daily_billing_run(runtime: ServiceRuntime) -> None:
    await run_billing(runtime, business_date(now_utc(), runtime.settings.tz))


async def daily_overdue_scan(runtime: ServiceRuntime) -> None:
    await scan_overdue(runtime, business_date(now_utc(), runtime.settings.tz))


_JOB_INTERVAL = timedelta(seconds=BillingSettings().billing_job_interval_s)

SERVICE = ServiceDefinition(
    name="billing",
    migrations_dir=Path(__file__).parent / "migrations",
    handlers=HANDLERS,
    router=router,
    jobs=[
        PeriodicJob("billing-run", _JOB_INTERVAL, daily_billing_run),
        PeriodicJob("overdue-scan", _JOB_INTERVAL, daily_overdue_scan),
    ],
    on_start=on_start,
    settings_class=BillingSettings,
)


def main() -> None:
    run_service(SERVICE)


if __name__ == "__main__":
    main()
