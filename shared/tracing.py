"""Distributed tracing with OpenTelemetry: one trace follows a resident's request from the HTTP
call through the outbox, the broker and every handler that reacts, in every service.

The spans the kernel makes (the HTTP server span comes from the FastAPI instrumentation):

- ``outbox write``: a unit of work writing its events into the outbox (``Outbox.add_events``);
  its context is stored on each outbox row (column ``traceparent``);
- ``publish <topic>``: the relay publishing one row, a child of the stored context, whose own
  context travels in the record's headers as W3C trace context (``traceparent``, ``tracestate``);
- ``process <topic>``: a consumer taking one record, a child of the context in its headers;
- ``handle <EventType>``: the handler applying it (a batch handler's span links every record).

Configuration, by the standard variables:

- ``OTEL_TRACES_EXPORTER``: ``otlp``, ``console`` or ``none`` (comma-separated for several). Unset,
  it is ``otlp`` when ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is
  set and ``none`` otherwise, so nothing is exported locally unless asked for;
- ``OTEL_EXPORTER_OTLP_*`` (endpoint, headers, timeout, certificate, compression): OTLP over
  HTTP/protobuf, the exporter reads them itself; ``OTEL_BSP_*`` tune the batching;
- ``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG``: the SDK's (default parent-based, always on);
- ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``: the resource (default ``service.name``
  is the service's own name, with ``service.namespace=shebao`` and ``shebao.region``).

Without an exporter nothing is recorded, but the trace context is still carried: every request
and event has a trace id, in the record headers and in every log line written while handling it.
The kernel then makes no span at all on the event path (``KernelTracer``): it passes the context
it was given along, which costs a header parsed per record rather than three spans.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
from collections.abc import Callable, Iterator, Mapping, MutableSequence, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from opentelemetry import context as context_api
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, SpanKind, TraceFlags, TraceState
from structlog.typing import EventDict, WrappedLogger

TRACER_NAME = "shebao"
EXPORTERS = ("otlp", "console", "none")
TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
_TRACEPARENT_BYTES, _TRACESTATE_BYTES = TRACEPARENT.encode(), TRACESTATE.encode()

Headers = Sequence[tuple[str | bytes, bytes | str | None]]
Attributes = Callable[[], Mapping[str, object]]


# --- the provider of one service -----------------------------------------------------------


def chosen_exporters(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The exporters ``OTEL_TRACES_EXPORTER`` names (see the module docstring for the default)."""
    configured = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if not configured:
        endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        return ["otlp"] if endpoint else []
    names = [name.strip() for name in configured.split(",") if name.strip()]
    unknown = sorted(set(names) - set(EXPORTERS))
    if unknown:
        raise ValueError(f"OTEL_TRACES_EXPORTER: unknown exporter(s) {', '.join(unknown)}; use {', '.join(EXPORTERS)}")
    return [name for name in names if name != "none"]


@dataclass(frozen=True)
class Tracing:
    """A service's tracer provider, and whether anything it records goes anywhere."""

    provider: TracerProvider
    exporting: bool

    def kernel_tracer(self) -> KernelTracer:
        return KernelTracer(self.provider, recording=self.exporting)


def from_environment(service: str, region: str, environ: Mapping[str, str] = os.environ) -> Tracing:
    """The tracing of one service process, configured by the ``OTEL_*`` variables.

    Raises ``ValueError`` for an exporter or an OTLP protocol this installation cannot serve, so a
    misconfigured service stops at start rather than dropping its traces quietly.
    """
    exporters = chosen_exporters(environ)
    # Resource.create lets OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES win over these defaults.
    resource = Resource.create({"service.name": service, "service.namespace": "shebao", "shebao.region": region})
    # Without an exporter the HTTP spans are not recorded either, but they still make trace ids.
    sampler = None if exporters or environ.get("OTEL_TRACES_SAMPLER") else ParentBased(ALWAYS_OFF)
    provider = TracerProvider(resource=resource, sampler=sampler, shutdown_on_exit=False)
    for name in exporters:
        provider.add_span_processor(_processor(name, environ))
    return Tracing(provider, exporting=bool(exporters))


def _processor(exporter: str, environ: Mapping[str, str]) -> SpanProcessor:
    if exporter == "console":
        # one JSON object per line, like the logs it is interleaved with
        return SimpleSpanProcessor(ConsoleSpanExporter(formatter=lambda span: span.to_json(indent=None) + "\n"))
    protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if protocol not in (None, "", "http/protobuf"):
        raise ValueError(f"OTLP protocol {protocol!r} is not installed; use http/protobuf (port 4318)")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return BatchSpanProcessor(OTLPSpanExporter())


# --- the kernel's spans ---------------------------------------------------------------------


class KernelTracer:
    """The spans of the outbox, the relay and the consumer.

    ``recording``: spans are made on ``provider``. Otherwise none is: the span in force is the one
    the caller continues (the request's, the record's, the outbox row's), or a new trace's first
    when there is none, so ids still reach the logs, the outbox rows and the record headers. The
    default (no provider) is that second kind, which costs a context switch per event.
    """

    def __init__(self, provider: trace.TracerProvider | None = None, *, recording: bool = True) -> None:
        self.recording = recording and provider is not None
        self._tracer = provider.get_tracer(TRACER_NAME) if self.recording else None

    def span(self, name: str, *, kind: SpanKind = SpanKind.INTERNAL,
             attributes: Attributes | None = None) -> AbstractContextManager[Span]:
        """A child of the current span, made current for the block.

        ``attributes`` is called only for a span that records them: some of these run per event.
        """
        if self._tracer is None:
            current = trace.get_current_span()
            return _Current(current if current.get_span_context().is_valid else _first_of_a_new_trace())
        return self._recorded(name, kind, None, attributes)

    def continued(self, name: str, parent: Span | None, *, kind: SpanKind,
                  attributes: Attributes | None = None) -> AbstractContextManager[Span]:
        """A child of ``parent`` (a span from a record or a row; a new trace when None), made current."""
        if self._tracer is None:
            return _Current(parent or _first_of_a_new_trace())
        return self._recorded(name, kind, _context_of(parent), attributes)

    def start_continued(self, name: str, parent: Span | None, *, kind: SpanKind,
                        attributes: Attributes | None = None) -> Span:
        """Like ``continued``, but not made current: the caller ends it (the relay's, one per row)."""
        if self._tracer is None:
            return parent or _first_of_a_new_trace()
        span = self._tracer.start_span(name, context=_context_of(parent), kind=kind)
        if attributes is not None and span.is_recording():
            span.set_attributes(attributes())
        return span

    @contextlib.contextmanager
    def _recorded(self, name: str, kind: SpanKind, context: Context | None,
                  attributes: Attributes | None) -> Iterator[Span]:
        span = self._tracer.start_span(name, context=context, kind=kind)
        if attributes is not None and span.is_recording():
            span.set_attributes(attributes())
        with trace.use_span(span, end_on_exit=True):
            yield span


class _Current:
    """Makes a span current for a block without making or ending one (the cheap path)."""

    __slots__ = ("span", "_token")

    def __init__(self, span: Span) -> None:
        self.span = span

    def __enter__(self) -> Span:
        self._token = context_api.attach(trace.set_span_in_context(self.span))
        return self.span

    def __exit__(self, *exc_info: object) -> None:
        context_api.detach(self._token)


def _context_of(parent: Span | None) -> Context:
    return trace.set_span_in_context(parent, Context()) if parent is not None else Context()


def _first_of_a_new_trace() -> Span:
    return NonRecordingSpan(SpanContext(random.getrandbits(128) or 1, random.getrandbits(64) or 1, is_remote=False))


class CarriedTraceContext:
    """ASGI middleware for a service that records no spans: each HTTP request runs as a child of
    the caller's W3C trace context (a new trace when it sends none), made current for the request,
    so its ids reach the logs, the outbox rows and the records as with the FastAPI
    instrumentation, without that instrumentation's work per request (it looked up the route
    among all routes for a span name nobody would see: a tenth of a service's CPU under load).
    """

    def __init__(self, app: Callable, excluded_paths: Sequence[str] = ()) -> None:
        self.app = app
        self.excluded_paths = frozenset(excluded_paths)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["path"] in self.excluded_paths:
            await self.app(scope, receive, send)
            return
        with _Current(_child_of(span_from_headers(scope["headers"]))):
            await self.app(scope, receive, send)


def _child_of(parent: Span | None) -> Span:
    if parent is None:
        return _first_of_a_new_trace()
    context = parent.get_span_context()
    return NonRecordingSpan(SpanContext(context.trace_id, random.getrandbits(64) or 1, is_remote=False,
                                        trace_flags=context.trace_flags, trace_state=context.trace_state))


# --- W3C trace context in Kafka headers and outbox rows -------------------------------------


def inject_into_headers(headers: MutableSequence[tuple[str, bytes]], span: Span) -> None:
    """Append ``span``'s W3C trace context to a record's headers (``traceparent``, and ``tracestate``
    when it has one). Kafka records always carry W3C trace context, whatever ``OTEL_PROPAGATORS`` says."""
    traceparent = traceparent_of(span)
    if traceparent is None:
        return
    headers.append((TRACEPARENT, traceparent.encode()))
    state = span.get_span_context().trace_state
    if state:
        headers.append((TRACESTATE, state.to_header().encode()))


def span_from_headers(headers: Headers | None) -> Span | None:
    """The (remote) span a record's (or an HTTP request's) trace context names; None when it
    carries none. Kafka headers are named by text, ASGI headers by bytes: both are read."""
    traceparent = tracestate = None
    for name, value in headers or ():
        if name in (TRACEPARENT, _TRACEPARENT_BYTES):
            traceparent = _text(value)
        elif name in (TRACESTATE, _TRACESTATE_BYTES):
            tracestate = _text(value)
    return span_from_traceparent(traceparent, tracestate)


def traceparent_of(span: Span) -> str | None:
    """``span``'s W3C ``traceparent`` value, stored on an outbox row until the relay publishes it."""
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"


_WELL_FORMED_TRACEPARENT = re.compile(r"00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}")


def carried_traceparent(traceparent: str | None) -> bytes:
    """The ``traceparent`` header of a record published while no span is recorded: the row's own
    context when it is well formed, else a new trace's. What ``inject_into_headers`` would put for
    the span ``start_continued`` returns then, without parsing the value into a span first."""
    if traceparent is None or not _WELL_FORMED_TRACEPARENT.fullmatch(traceparent):
        traceparent = traceparent_of(_first_of_a_new_trace())
    return traceparent.encode()


def span_from_traceparent(traceparent: str | None, tracestate: str | None = None) -> Span | None:
    """The (remote) span a ``traceparent`` (and ``tracestate``) value names; None when it is missing
    or malformed (what continues it then starts a new trace).

    Parsed by hand rather than by the propagator's regular expression: it is done for every record
    consumed and every row published.
    """
    try:
        version, trace_id, span_id, flags = traceparent.split("-")
        if version != "00" or len(trace_id) != 32 or len(span_id) != 16 or len(flags) != 2:
            return None
        state = TraceState.from_header([tracestate]) if tracestate else None
        context = SpanContext(int(trace_id, 16), int(span_id, 16), is_remote=True,
                              trace_flags=TraceFlags(int(flags, 16)), trace_state=state)
    except (AttributeError, ValueError):
        return None
    return NonRecordingSpan(context) if context.is_valid else None


# --- logs -----------------------------------------------------------------------------------


def add_trace_ids(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: ``trace_id`` and ``span_id`` of the current span, when there is one."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict.setdefault("trace_id", f"{context.trace_id:032x}")
        event_dict.setdefault("span_id", f"{context.span_id:016x}")
    return event_dict


def _text(value: bytes | str | None) -> str | None:
    return value.decode("latin-1") if isinstance(value, bytes) else value
