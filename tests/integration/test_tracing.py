"""One trace from an HTTP request through the outbox, the real broker and the handlers of two
services and back: every span's parent is the one before it, across processes' boundaries (the
W3C trace context in the Kafka record headers), and the log lines written on the way carry the
trace id.

Two in-process runtimes as in test_delivery.py, each with its own tracer provider (resource
``service.name``) exporting into one in-memory exporter.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from fastapi import APIRouter, Request
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared.db import apply_migrations
from shared.events import ApplicationWithdrawn, DocumentsRejected, all_topics, topic_for
from shared.handlers import HandlerTable, batch_handler
from shared.logging import configure_logging, get_logger
from shared.runtime import ServiceDefinition, ServiceRuntime, build_http_app
from shared.unit_of_work import Origin, UnitOfWork
from tooling.devstack import ensure_topics

from .harness import REGION, a_withdrawal, eventually, read_topic, wait_until_assigned
from .harness import test_settings as settings_for

pytestmark = pytest.mark.integration

log = get_logger("tests.tracing")


# --- the two services ---------------------------------------------------------------------


async def reject_dossier(uow: UnitOfWork, event: ApplicationWithdrawn) -> None:
    """documents: a withdrawn application's materials are rejected (an event back to enrollment)."""
    log.info("rejecting the dossier of a withdrawn application")
    uow.emit(DocumentsRejected(application_id=event.application_id, person_id=event.person_id, rejected=[
        {"material": "id_card", "document_id": uuid.uuid4(), "reason": "other", "note": "withdrawn"}]),
        subject=event.application_id)


async def note_rejection(uow: UnitOfWork, event: DocumentsRejected) -> None:
    """enrollment: the rejection arrives; it is noted so the test knows the chain has ended."""
    log.info("rejection noted")
    await uow.conn.execute("INSERT INTO noted (application_id) VALUES ($1)", event.application_id)


def withdrawal_route() -> APIRouter:
    router = APIRouter()

    @router.post("/test/applications/{application_id}/withdraw", status_code=202)
    async def withdraw(application_id: uuid.UUID, request: Request) -> dict:
        runtime = request.app.state.runtime
        async with runtime.units.begin(Origin(region=REGION)) as uow:
            uow.emit(ApplicationWithdrawn(application_id=application_id, person_id=uuid.uuid4()),
                     subject=application_id)
        return {"application_id": str(application_id)}

    return router


class Traced:
    """Both runtimes, the enrollment HTTP app, and the spans they finished."""

    def __init__(self, exporter: InMemorySpanExporter, enrollment: ServiceRuntime, documents: ServiceRuntime,
                 prefix: str) -> None:
        self.exporter = exporter
        self.enrollment = enrollment
        self.documents = documents
        self.prefix = prefix

    def spans(self) -> list[ReadableSpan]:
        for runtime in (self.enrollment, self.documents):
            runtime.tracer_provider.force_flush()
        return list(self.exporter.get_finished_spans())

    async def noted(self) -> list:
        async with self.enrollment.pool.acquire() as conn:
            return await conn.fetch("SELECT application_id FROM noted")


async def start_traced(infrastructure, exporter: InMemorySpanExporter, *, name: str, schema: str, prefix: str,
                       handlers: HandlerTable, router: APIRouter | None = None) -> ServiceRuntime:
    settings = settings_for(infrastructure, schema, prefix)
    await apply_migrations(settings.database_url, schema, None)
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    runtime = ServiceRuntime(ServiceDefinition(name=name, migrations_dir=None, handlers=handlers, router=router),
                             settings, tracer_provider=provider)
    await runtime.start()
    if runtime.consumer is not None:
        await wait_until_assigned(runtime)
    return runtime


@pytest.fixture
async def traced(infrastructure, unique_name):
    prefix = f"{unique_name}."
    await ensure_topics(infrastructure.bootstrap_servers, all_topics(prefix), 3)
    exporter = InMemorySpanExporter()
    enrollment = await start_traced(infrastructure, exporter, name="enrollment", schema=f"{unique_name}_enr",
                                    prefix=prefix, handlers={DocumentsRejected: note_rejection},
                                    router=withdrawal_route())
    documents = await start_traced(infrastructure, exporter, name="documents", schema=f"{unique_name}_doc",
                                   prefix=prefix, handlers={ApplicationWithdrawn: reject_dossier})
    async with enrollment.pool.acquire() as conn:
        await conn.execute("CREATE TABLE noted (application_id uuid NOT NULL)")
    yield Traced(exporter, enrollment, documents, prefix)
    await documents.stop()
    await enrollment.stop()


# --- the trace ------------------------------------------------------------------------------


async def test_one_trace_runs_from_the_request_through_both_services_and_back(traced, capsys):
    configure_logging("tests", level="INFO")
    application_id = uuid.uuid4()
    app = build_http_app(traced.enrollment.definition, traced.enrollment.settings, runtime=traced.enrollment)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.post(f"/test/applications/{application_id}/withdraw")
    assert response.status_code == 202
    await eventually(traced.noted)

    enrollment_topic, documents_topic = topic_for("enrollment", traced.prefix), topic_for("documents", traced.prefix)
    chain = chain_to(await eventually(lambda: _last_handler_span(traced)), traced.spans())
    assert [(service_of(span), span.name, span.kind) for span in chain] == [
        ("enrollment", "POST /test/applications/{application_id}/withdraw", SpanKind.SERVER),
        ("enrollment", "outbox write", SpanKind.INTERNAL),
        ("enrollment", f"publish {enrollment_topic}", SpanKind.PRODUCER),
        ("documents", f"process {enrollment_topic}", SpanKind.CONSUMER),
        ("documents", "handle ApplicationWithdrawn", SpanKind.INTERNAL),
        ("documents", "outbox write", SpanKind.INTERNAL),
        ("documents", f"publish {documents_topic}", SpanKind.PRODUCER),
        ("enrollment", f"process {documents_topic}", SpanKind.CONSUMER),
        ("enrollment", "handle DocumentsRejected", SpanKind.INTERNAL),
    ]
    assert len({span.context.trace_id for span in chain}) == 1
    trace_id = f"{chain[0].context.trace_id:032x}"

    [record] = await read_topic(traced.enrollment.settings.kafka_bootstrap_servers, enrollment_topic, expected=1)
    publish = chain[2]
    flags = int(publish.context.trace_flags)
    assert flags & 0x01  # sampled
    assert dict(record.headers)["traceparent"] == f"00-{trace_id}-{publish.context.span_id:016x}-{flags:02x}".encode()

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    handler_lines = [line for line in lines if line["event"] in ("rejecting the dossier of a withdrawn application",
                                                                  "rejection noted")]
    assert len(handler_lines) == 2
    assert {line["trace_id"] for line in handler_lines} == {trace_id}
    assert [line["span_id"] for line in handler_lines] == [f"{chain[4].context.span_id:016x}",
                                                          f"{chain[8].context.span_id:016x}"]


async def test_a_batch_handler_span_links_every_record_it_applied(infrastructure, unique_name):
    prefix = f"{unique_name}."
    await ensure_topics(infrastructure.bootstrap_servers, all_topics(prefix), 3)
    exporter = InMemorySpanExporter()

    @batch_handler
    async def take_all(uow: UnitOfWork, envelopes: list) -> None:
        pass

    producer = await start_traced(infrastructure, exporter, name="enrollment", schema=f"{unique_name}_enr",
                                  prefix=prefix, handlers={})
    consumer = await start_traced(infrastructure, exporter, name="documents", schema=f"{unique_name}_doc",
                                  prefix=prefix, handlers={ApplicationWithdrawn: take_all})
    try:
        person = uuid.uuid4()  # one key: one partition, so the three arrive in one batch or few
        events = [a_withdrawal(person) for _ in range(3)]
        async with producer.pool.acquire() as conn, conn.transaction():
            await producer.outbox.add_events(conn, events)

        def handled() -> list[ReadableSpan]:
            for runtime in (producer, consumer):
                runtime.tracer_provider.force_flush()
            spans = [s for s in exporter.get_finished_spans() if s.name == "handle ApplicationWithdrawn"]
            return spans if sum(len(s.links) for s in spans) >= 3 else []

        handle_spans = await eventually(_as_async(handled))
        publishes = {s.context.span_id for s in exporter.get_finished_spans() if s.kind == SpanKind.PRODUCER}
        linked = [link.context.span_id for span in handle_spans for link in span.links]
        assert sorted(linked) == sorted(publishes) and len(linked) == 3
        assert all(span.kind == SpanKind.CONSUMER for span in handle_spans)
    finally:
        await consumer.stop()
        await producer.stop()


# --- reading spans ----------------------------------------------------------------------------


def service_of(span: ReadableSpan) -> str:
    return span.resource.attributes["service.name"]


def chain_to(last: ReadableSpan, spans: list[ReadableSpan]) -> list[ReadableSpan]:
    """``last`` and its ancestors, root first, following each span's parent id."""
    by_id = {span.context.span_id: span for span in spans}
    chain = [last]
    while chain[-1].parent is not None:
        parent = by_id.get(chain[-1].parent.span_id)
        assert parent is not None, f"the parent of {chain[-1].name!r} was not exported"
        chain.append(parent)
    return list(reversed(chain))


async def _last_handler_span(traced: Traced) -> ReadableSpan | None:
    found = [span for span in traced.spans() if span.name == "handle DocumentsRejected"]
    return found[0] if found else None


def _as_async(check):
    async def run():
        return check()

    return run
