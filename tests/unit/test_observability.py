"""The pure parts of observability: tracing configured by the OTEL_* variables, trace context in
Kafka headers and log lines, label values kept bounded, and the region on every sample."""

from __future__ import annotations

import asyncio
import time

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.parser import text_string_to_metric_families

from shared.business_metrics import OTHER, BoundedLabel
from shared.metrics import exposition, observe_times
from shared.observability import watch_event_loop
from shared.tracing import (
    CarriedTraceContext,
    KernelTracer,
    add_trace_ids,
    carried_traceparent,
    chosen_exporters,
    from_environment,
    inject_into_headers,
    span_from_headers,
    span_from_traceparent,
    traceparent_of,
)

# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize("environ, exporters", [
    ({}, []),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ["otlp"]),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, ["otlp"]),
    ({"OTEL_TRACES_EXPORTER": "console"}, ["console"]),
    ({"OTEL_TRACES_EXPORTER": "otlp, console"}, ["otlp", "console"]),
    ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, []),
])
def test_nothing_is_exported_unless_an_exporter_or_an_otlp_endpoint_is_named(environ, exporters):
    assert chosen_exporters(environ) == exporters


def test_an_unknown_exporter_or_an_uninstalled_protocol_stops_the_service_at_start():
    with pytest.raises(ValueError, match="jaeger"):
        chosen_exporters({"OTEL_TRACES_EXPORTER": "jaeger"})
    with pytest.raises(ValueError, match="grpc"):
        from_environment("billing", "110000", {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})


def test_without_an_exporter_no_span_is_made_but_ids_are_carried_to_the_logs_and_on():
    tracing = from_environment("billing", "110000", {})
    kernel = tracing.kernel_tracer()
    assert not tracing.exporting and not kernel.recording

    with tracing.provider.get_tracer("http").start_as_current_span("POST /v1/payments") as request:
        assert not request.is_recording()
        with kernel.span("outbox write") as written:
            line = add_trace_ids(None, "info", {"event": "paid"})

    assert written is request  # the request's context, carried: no span of its own
    assert line["trace_id"] == f"{request.get_span_context().trace_id:032x}"
    assert add_trace_ids(None, "info", {"event": "outside any span"}) == {"event": "outside any span"}
    with kernel.continued("process", span_from_headers([]), kind=SpanKind.CONSUMER) as first, \
            kernel.span("handle") as same:
        assert first.get_span_context().is_valid and same is first  # a new trace's first, then carried


def test_with_the_console_exporter_spans_are_recorded_under_the_services_name(monkeypatch):
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    tracing = from_environment("billing", "310000", {"OTEL_TRACES_EXPORTER": "console"})

    with tracing.kernel_tracer().span("outbox write", attributes=lambda: {"n": 1}) as span:
        assert span.is_recording()
    assert span.attributes == {"n": 1}
    assert tracing.provider.resource.attributes["service.name"] == "billing"
    assert tracing.provider.resource.attributes["shebao.region"] == "310000"


# --- trace context ----------------------------------------------------------------------------


@pytest.mark.parametrize("recording", [True, False], ids=["recorded", "carried"])
def test_a_records_headers_carry_the_trace_from_the_outbox_row_to_the_consumer(recording):
    kernel = from_environment("billing", "110000", {"OTEL_TRACES_EXPORTER": "console"} if recording else {}
                              ).kernel_tracer()
    headers = [("ce_type", b"PremiumDue")]

    with kernel.span("outbox write") as written:
        stored = traceparent_of(written)
    publish = kernel.start_continued("publish", span_from_traceparent(stored), kind=SpanKind.PRODUCER)
    inject_into_headers(headers, publish)
    with kernel.continued("process", span_from_headers(headers), kind=SpanKind.CONSUMER) as processed:
        pass

    assert [name for name, _ in headers] == ["ce_type", "traceparent"]
    assert processed.get_span_context().trace_id == written.get_span_context().trace_id
    if recording:
        assert publish.parent.span_id == written.get_span_context().span_id
        assert processed.parent.span_id == publish.get_span_context().span_id


def test_malformed_trace_context_starts_a_new_trace_and_tracestate_travels():
    valid = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    for bad in (None, "", "garbage", "01" + valid[2:], "00-" + "0" * 32 + valid[35:]):
        assert span_from_traceparent(bad) is None
    parent = span_from_headers([("traceparent", valid.encode()), ("tracestate", b"vendor=1")])
    span = KernelTracer().start_continued("x", parent, kind=SpanKind.CONSUMER)
    headers: list = []
    inject_into_headers(headers, span)
    assert headers == [("traceparent", valid.encode()), ("tracestate", b"vendor=1")]


def test_without_recording_the_relay_carries_the_rows_context_as_the_span_path_would():
    valid = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    headers: list = []
    inject_into_headers(headers, KernelTracer().start_continued("publish", span_from_traceparent(valid),
                                                                kind=SpanKind.PRODUCER))
    assert [("traceparent", carried_traceparent(valid))] == headers
    for bad in (None, "", "garbage", "01" + valid[2:], "00-" + "0" * 32 + valid[35:], valid[:-1]):
        fresh = carried_traceparent(bad).decode()
        assert fresh != bad and span_from_traceparent(fresh) is not None


def _current_span_in(headers: list, path: str = "/v1/payments"):
    seen = []

    async def app(scope, receive, send):
        seen.append(trace.get_current_span())

    asyncio.run(CarriedTraceContext(app, excluded_paths=["/metrics"])(
        {"type": "http", "path": path, "headers": headers}, None, None))
    return seen[0]


def test_a_request_without_recorded_spans_runs_as_a_child_of_the_callers_trace_context():
    caller = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    span = _current_span_in([(b"traceparent", caller.encode()), (b"tracestate", b"vendor=1")]).get_span_context()
    assert f"{span.trace_id:032x}" == "a" * 32 and f"{span.span_id:016x}" != "b" * 16
    assert int(span.trace_flags) == 1 and span.trace_state.to_header() == "vendor=1"
    fresh = _current_span_in([(b"traceparent", b"garbage")]).get_span_context()
    assert fresh.is_valid and f"{fresh.trace_id:032x}" != "a" * 32
    assert not _current_span_in([(b"traceparent", caller.encode())], path="/metrics").get_span_context().is_valid


# --- labels -----------------------------------------------------------------------------------


def test_channel_names_from_outside_become_at_most_a_bounded_set_of_plain_labels():
    channel = BoundedLabel(limit=2)

    assert channel("UnionPay ") == "unionpay"
    assert channel("alipay") == "alipay"
    assert channel("wechat") == OTHER  # the third distinct name
    assert channel("unionpay") == "unionpay"
    assert channel("银联 <script>") == OTHER


def test_every_sample_carries_the_deployments_region_unless_it_names_its_own():
    registry = CollectorRegistry()
    Counter("shebao_things_total", "things", ["service"], registry=registry).labels("billing").inc()
    Counter("shebao_bills_total", "bills", ["region"], registry=registry).labels("310000").inc(2)

    exposed = exposition("110000", registry).decode()

    samples = {s.name: s.labels for f in text_string_to_metric_families(exposed) for s in f.samples
               if s.name.endswith("_total")}
    assert samples == {"shebao_things_total": {"service": "billing", "region": "110000"},
                       "shebao_bills_total": {"region": "310000"}}


@pytest.mark.parametrize("value", [0.0, 0.0004, 0.001, 0.0011, 0.3, 5.0, 7.5])
def test_observing_a_value_many_times_at_once_is_observing_it_each_time(value):
    def samples(observe) -> dict:
        registry = CollectorRegistry()
        histogram = Histogram("handler_seconds", "t", ["service"], buckets=(0.001, 0.005, 0.5, 5), registry=registry)
        observe(histogram.labels("billing"))
        return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
                for family in registry.collect() for sample in family.samples if not sample.name.endswith("_created")}

    def one_by_one(child) -> None:
        for _ in range(7):
            child.observe(value)

    expected = samples(one_by_one)
    assert expected[("handler_seconds_count", (("service", "billing"),))] == 7
    # the sum may differ in its last bit (one product against seven additions)
    assert samples(lambda child: observe_times(child, value, 7)) == pytest.approx(expected)


# --- the event loop's lag -----------------------------------------------------------------------

def _lag(service: str) -> tuple[float, float]:
    def sample(name: str) -> float:
        return REGISTRY.get_sample_value(f"shebao_event_loop_lag_seconds_{name}", {"service": service}) or 0.0
    return sample("sum"), sample("count")


async def test_the_loop_watch_observes_how_long_other_work_kept_the_loop():
    watch = asyncio.create_task(watch_event_loop("loop-watch-test", interval_s=0.02))
    await asyncio.sleep(0.1)
    quiet_sum, quiet_count = _lag("loop-watch-test")
    time.sleep(0.3)  # work that keeps the loop: the watch wakes up late, by about that much
    await asyncio.sleep(0.05)
    watch.cancel()
    busy_sum, busy_count = _lag("loop-watch-test")

    assert quiet_count >= 1
    assert busy_count > quiet_count
    assert busy_sum - quiet_sum >= 0.25
