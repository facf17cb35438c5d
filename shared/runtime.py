"""One way to build a service process: the FastStream consumer, the outbox relay, the
HTTP API with health, readiness and metrics, and periodic jobs, started and stopped
together.

A service describes itself with a ``ServiceDefinition`` in its ``app.py``; ``run_service``
applies its migrations and serves it until SIGTERM/SIGINT, then stops consuming,
lets in-flight handlers finish, flushes the outbox relay and closes its connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import asyncpg
import structlog
import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CONTENT_TYPE_LATEST

from shared import observability, tracing
from shared.audit import StaffAudit, audit_router
from shared.auth import require_role
from shared.broker_metrics import BrokerProbe
from shared.consumer import ConsumerConfig, EventConsumer
from shared.db import apply_migrations, create_pool
from shared.errors import install_error_handlers
from shared.events import topic_for
from shared.handlers import HandlerTable, bind_handlers, check_handler_table
from shared.kafka import faststream_security, new_producer
from shared.logging import configure_logging
from shared.metrics import exposition
from shared.outbox import Outbox, OutboxRelay, RelayConfig
from shared.request_guard import RequestGuard, publish_guarded_text
from shared.settings import Settings
from shared.unit_of_work import UnitsOfWork

log = structlog.get_logger(__name__)

ASIDE_POOL_MAX = 2  # connections for the short writes that units of work wait for (UnitsOfWork.aside)


@dataclass(frozen=True)
class PeriodicJob:
    """A job the service runs every ``interval`` (e.g. a daily scan) while it is up."""

    name: str
    interval: timedelta
    run: Callable[[ServiceRuntime], Awaitable[None]]


@dataclass
class ServiceDefinition:
    """What makes a service: its name, migrations, event handlers, routes and jobs."""

    name: str
    migrations_dir: Path | None
    handlers: HandlerTable = field(default_factory=dict)
    router: APIRouter | None = None
    jobs: Sequence[PeriodicJob] = ()
    on_start: Callable[[ServiceRuntime], Awaitable[None]] | None = None
    # a Settings subclass with the service's own knobs (e.g. a storage directory)
    settings_class: type[Settings] = Settings

    def __post_init__(self) -> None:
        check_handler_table(self.handlers)

    def consumed_topics(self, prefix: str) -> list[str]:
        """The topics carrying the events this service handles."""
        return sorted({topic_for(event_class.source_service, prefix) for event_class in self.handlers})


class ServiceRuntime:
    """The running parts of one service process."""

    def __init__(self, definition: ServiceDefinition, settings: Settings,
                 tracer_provider: TracerProvider | None = None) -> None:
        self.definition = definition
        self.settings = settings
        # the OTEL_* variables configure it (shared/tracing.py); tests pass one with an in-memory exporter
        self._owns_tracer_provider = tracer_provider is None
        self.tracing = tracing.Tracing(tracer_provider, exporting=True) if tracer_provider is not None \
            else tracing.from_environment(definition.name, settings.region)
        self.tracer_provider = self.tracing.provider
        self.tracer = self.tracing.kernel_tracer()
        self.outbox = Outbox(settings.topic_prefix, tracer=self.tracer)
        self.pool: asyncpg.Pool | None = None
        self.readers: asyncpg.Pool | None = None
        self.aside: asyncpg.Pool | None = None
        self.units: UnitsOfWork | None = None
        self.producer = None
        self.broker: KafkaBroker | None = None
        self.relay: OutboxRelay | None = None
        self.consumer: EventConsumer | None = None
        self.probe: BrokerProbe | None = None
        self._tasks: list[asyncio.Task] = []

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def group_id(self) -> str:
        return f"{self.settings.topic_prefix}shebao.{self.definition.name}"

    async def start(self) -> None:
        """Connect to the database and the broker and start relay, consumer and jobs."""
        settings = self.settings
        self.pool = await create_pool(settings.database_url, settings.schema,
                                      min_size=settings.db_pool_min, max_size=settings.db_pool_max)
        self.readers = await create_pool(settings.database_url, settings.schema, min_size=settings.db_pool_min,
                                         max_size=settings.db_pool_max, read_only=True)
        # opens a connection only when a service first needs one (billing's voucher blocks)
        self.aside = await create_pool(settings.database_url, settings.schema, min_size=0, max_size=ASIDE_POOL_MAX,
                                       name="aside")
        self.units = UnitsOfWork(self.pool, self.outbox, self.readers, self.aside)
        self.producer = new_producer(settings)
        await self.producer.start()
        self.relay = OutboxRelay(self._relay_config(), self.pool, self.producer, self.tracer)
        self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        self._tasks.append(asyncio.create_task(observability.watch_event_loop(self.name), name="event-loop-watch"))
        self.broker = KafkaBroker(settings.kafka_bootstrap_servers, security=faststream_security(settings),
                                  graceful_timeout=15.0, logger=None)
        if self.definition.handlers:
            handlers = bind_handlers(self.definition.handlers, settings=settings)
            self.consumer = EventConsumer(self._consumer_config(), self.pool, self.producer, self.outbox, handlers,
                                          tracer=self.tracer)
            self.consumer.subscribe(self.broker)
            self.probe = BrokerProbe(settings, self.name, self.group_id, self.consumer.config.topics,
                                     member=self.consumer.member)
        await self.broker.start()
        if self.definition.on_start is not None:
            await self.definition.on_start(self)
        for job in self.definition.jobs:
            self._tasks.append(asyncio.create_task(self._every(job), name=job.name))
        log.info("service started", topics=self.definition.consumed_topics(settings.topic_prefix))

    async def stop(self) -> None:
        """Stop consuming (in-flight handlers finish), flush the relay if this replica leads it,
        close connections."""
        if self.broker is not None:
            await self.broker.stop()
        # only the leader publishes: a standby flushing too would race it and send rows twice
        leading = self.relay is not None and self.relay.is_leader
        if self.relay is not None:
            self.relay.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if leading and self.pool is not None:
            with contextlib.suppress(Exception):
                flushed = await asyncio.wait_for(self.relay.flush(), 10)
                log.info("outbox flushed at shutdown", events=flushed)
        if self.producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.producer.stop(), 10)
        for pool in (self.pool, self.readers, self.aside):
            if pool is not None:
                await pool.close()
        if self.probe is not None:
            await self.probe.close()
        if self._owns_tracer_provider:
            self.tracer_provider.shutdown()  # exports the spans still batched
        log.info("service stopped")

    async def readiness(self) -> dict[str, bool]:
        """Whether the database and the broker answer right now."""
        checks = {"database": False, "broker": False}
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                async with self.pool.acquire() as conn:
                    checks["database"] = await conn.fetchval("SELECT true")
        with contextlib.suppress(Exception):
            checks["broker"] = bool(await self.broker.ping(timeout=2))
        observability.record_readiness(self.name, checks)
        return checks

    async def refresh_metrics(self) -> None:
        """Read the gauges of the present again (readiness, outbox, lag, dead letters) for a scrape."""
        await observability.refresh_gauges(self)

    def _relay_config(self) -> RelayConfig:
        s = self.settings
        return RelayConfig(
            service=self.definition.name, database_url=s.database_url, schema=s.schema,
            batch_size=s.outbox_batch_size, poll_interval_s=s.outbox_poll_interval_s,
            linger_s=s.outbox_linger_ms / 1000, retention=timedelta(days=s.outbox_retention_days),
            backoff_max_s=s.outbox_retry_backoff_max_s, max_refusals=s.outbox_max_refusals,
        )

    def _consumer_config(self) -> ConsumerConfig:
        s = self.settings
        return ConsumerConfig(
            service=self.definition.name, group_id=self.group_id,
            topics=self.definition.consumed_topics(s.topic_prefix),
            max_attempts=s.consumer_max_attempts, retry_backoff_s=s.consumer_retry_backoff_s,
            batch_size=s.consumer_batch_size, session_timeout_ms=s.kafka_session_timeout_ms,
            heartbeat_interval_ms=s.kafka_heartbeat_interval_ms,
        )

    async def _every(self, job: PeriodicJob) -> None:
        while True:
            await asyncio.sleep(job.interval.total_seconds())
            try:
                await observability.observed_job(self.name, job.name, job.run(self))
            except Exception as error:
                log.error("periodic job failed", job=job.name, error=f"{type(error).__name__}: {error}")


def build_http_app(
    definition: ServiceDefinition, settings: Settings, runtime: ServiceRuntime | None = None
) -> FastAPI:
    """The service's FastAPI app. Without ``runtime`` its lifespan starts and stops a new one;
    with one (tests), the caller starts and stops it."""
    manage_runtime = runtime is None
    runtime = runtime or ServiceRuntime(definition, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if manage_runtime:
            await runtime.start()
        try:
            yield
        finally:
            if manage_runtime:
                await runtime.stop()

    app = FastAPI(title=f"Shebao {definition.name}", lifespan=lifespan)
    app.state.settings = settings
    app.state.runtime = runtime
    install_error_handlers(app)
    app.add_middleware(StaffAudit)  # inside the guard: staff writes recorded with the guard's request id
    # request id, control characters refused, requests in flight and the wait for the database
    # bounded, no bare 500
    app.add_middleware(RequestGuard, service=definition.name, pool_wait_limit_s=settings.db_pool_wait_limit_s,
                       max_in_flight=settings.http_max_in_flight)
    observability.instrument_http_app(app, definition.name, runtime.tracing)
    serve_routes(app.router, _health_router())
    serve_routes(app.router, audit_router(require_role("admin")))
    if definition.router is not None:
        serve_routes(app.router, definition.router)
    publish_guarded_text(app)
    return app


def serve_routes(into: APIRouter, router: APIRouter) -> None:
    """Serve ``router``'s routes from ``into`` itself.

    ``include_router`` keeps an included router as a branch of its own that every request walks
    through while matching (about 60 µs a request, a few percent of a service's CPU under load).
    Ours add no prefix, dependency or tag when included (each router's own apply to its routes
    as they are declared), so its routes can be ``into``'s as they are.
    """
    into.routes.extend(router.routes)


async def get_runtime(request: Request) -> ServiceRuntime:
    """FastAPI dependency: the running service (units of work, settings) behind this request.

    ``async`` although it awaits nothing: FastAPI runs a plain ``def`` dependency in its thread
    pool, a thread hand-off per request that cost the services a good part of their CPU under load.
    """
    return request.app.state.runtime


def _health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        checks = await request.app.state.runtime.readiness()
        ready = all(checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @router.get("/metrics")
    async def prometheus_metrics(request: Request) -> Response:
        runtime = request.app.state.runtime
        await runtime.refresh_metrics()
        return Response(exposition(runtime.settings.region), media_type=CONTENT_TYPE_LATEST)

    return router


def run_service(definition: ServiceDefinition, settings: Settings | None = None) -> None:
    """Apply migrations, then serve the service until SIGTERM/SIGINT."""
    settings = settings or definition.settings_class(service=definition.name)
    configure_logging(definition.name, level=settings.log_level, fmt=settings.log_format)
    refuse_weak_secrets_in_production(settings)
    # SIGTERM is a stop that was asked for: exit 0. uvicorn handles it while serving and
    # re-raises it after its graceful shutdown, landing here; before that (migrations) it
    # stops the process too, even as a container's PID 1, which ignores unhandled SIGTERM.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    applied = asyncio.run(apply_migrations(settings.database_url, settings.schema, definition.migrations_dir))
    if applied:
        log.info("migrations applied", migrations=applied)
    app = build_http_app(definition, settings)
    tune_garbage_collection(settings.gc_young_threshold)
    uvicorn.run(app, host=settings.http_host, port=settings.port, log_config=None, access_log=False,
                timeout_graceful_shutdown=20)


def tune_garbage_collection(young_threshold: int) -> None:
    """Keep the cyclic garbage collector off what the process built to start, and let it run less often.

    Everything alive now (modules, pydantic schemas, routes, settings) lives as long as the process:
    ``gc.freeze`` takes it out of every later collection, which otherwise walks it all each time the
    oldest generation is collected. A young generation of ``young_threshold`` objects instead of 700
    lets the short-lived objects of a request or a batch (records, envelopes, models) die before they
    are promoted. Issue 13's profile: the billing run's Python time fell by a third (README, Performance).
    Reference counting still frees almost everything at once; only cycles wait for a collection.
    """
    if young_threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, oldest)


def refuse_weak_secrets_in_production(settings: Settings) -> None:
    """In production, stop here (exit code 2) with one log line naming every weak secret."""
    problems = settings.secret_problems() if settings.environment == "production" else []
    if problems:
        variables = [problem.split(":", 1)[0] for problem in problems]
        log.error(f"refusing to start in production: set {', '.join(variables)}", problems=problems)
        raise SystemExit(2)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)
