"""What the service runtime does for the operators of a region, kept out of its way.

- ``instrument_http_app``: a server span per HTTP request (the OpenTelemetry FastAPI
  instrumentation) and the request metrics by route template and status;
- ``refresh_gauges``: right before each scrape of ``/metrics``, the gauges that describe the
  present are read again: readiness, the outbox's pending rows and their age, consumer lag and
  dead-letter depth. Each source has a time limit; one that fails keeps its last values and
  counts ``shebao_metrics_refresh_failures_total{source}``, and the scrape still answers;
- ``record_readiness`` and ``observed_job``: readiness gauges, and each periodic job's runs and
  the time of its last success (the handle of the "billing run overdue" alert);
- ``watch_event_loop``: how late the event loop wakes a sleeping task
  (``shebao_event_loop_lag_seconds``): every request, consumer batch and relay pass of the process
  takes its turns on that one loop, so when it lags they all wait, whatever the database does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

import structlog
from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from shared import metrics
from shared.broker_metrics import BrokerProbe
from shared.http_metrics import PROBE_PATHS, HttpMetricsMiddleware
from shared.outbox import OutboxRelay
from shared.tracing import CarriedTraceContext, Tracing

log = structlog.get_logger(__name__)

REFRESH_TIMEOUT_S = 3.0


def instrument_http_app(app: FastAPI, service: str, tracing: Tracing) -> None:
    """Add the request metrics and the tracing of every request (but probes and scrapes) to ``app``:
    server spans when they are exported, else only the trace context carried (``CarriedTraceContext``)."""
    app.add_middleware(HttpMetricsMiddleware, service=service)
    if not tracing.exporting:
        app.add_middleware(CarriedTraceContext, excluded_paths=PROBE_PATHS)
        return
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=tracing.provider, excluded_urls=",".join(f"{path}$" for path in PROBE_PATHS),
        exclude_spans=["receive", "send"],
    )


class ObservedService(Protocol):
    """The parts of a running service the gauges are read from (``ServiceRuntime`` has them)."""

    relay: OutboxRelay | None
    probe: BrokerProbe | None

    @property
    def name(self) -> str: ...

    async def readiness(self) -> dict[str, bool]: ...


async def refresh_gauges(service: ObservedService) -> None:
    """Read readiness, the outbox and the broker's offsets again; never raises."""
    await _refresh(service.name, "readiness", service.readiness)
    if service.relay is not None:
        await _refresh(service.name, "outbox", service.relay.update_lag_metrics)
    if service.probe is not None:
        await _refresh(service.name, "broker", service.probe.refresh)


async def _refresh(service: str, source: str, read: Callable[[], Awaitable[object]]) -> None:
    try:
        async with asyncio.timeout(REFRESH_TIMEOUT_S):
            await read()
    except Exception as error:
        metrics.REFRESH_FAILURES.labels(service, source).inc()
        log.info("metrics not refreshed", source=source, error=f"{type(error).__name__}: {error}")


def record_readiness(service: str, checks: Mapping[str, bool]) -> None:
    """``shebao_ready`` and ``shebao_dependency_up{dependency}`` from one readiness check."""
    for dependency, up in checks.items():
        metrics.DEPENDENCY_UP.labels(service, dependency).set(1 if up else 0)
    metrics.READY.labels(service).set(1 if all(checks.values()) else 0)


async def observed_job(service: str, job: str, run: Awaitable[None]) -> None:
    """Await one run of a periodic job, counting its outcome; its error is raised on."""
    try:
        await run
    except Exception:
        metrics.JOB_RUNS.labels(service, job, "failed").inc()
        raise
    metrics.JOB_RUNS.labels(service, job, "succeeded").inc()
    metrics.JOB_LAST_SUCCESS.labels(service, job).set(time.time())


EVENT_LOOP_PROBE_S = 0.1


async def watch_event_loop(service: str, interval_s: float = EVENT_LOOP_PROBE_S) -> None:
    """Sleep ``interval_s`` again and again, and observe how much later than asked the loop woke
    this task up (until cancelled)."""
    loop = asyncio.get_running_loop()
    lag = metrics.EVENT_LOOP_LAG.labels(service)
    while True:
        asleep_at = loop.time()
        await asyncio.sleep(interval_s)
        lag.observe(max(0.0, loop.time() - asleep_at - interval_s))
